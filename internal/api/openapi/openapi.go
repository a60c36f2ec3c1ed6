// Package openapi builds the OpenAPI 3.1 document from the operations the API registers;
// request and response schemas come from the Go types by reflection.
package openapi

import (
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Param is a query parameter.
type Param struct {
	Name        string
	Description string
	Type        string // "string" or "integer"
}

// Operation describes one route.
type Operation struct {
	Method  string
	Path    string
	ID      string
	Summary string
	Tag     string
	Bearer  bool // requires Authorization: Bearer
	Request any  // zero value of the JSON body type, or nil
	// OptionalBody: the request body may be left out (all its fields are optional).
	OptionalBody bool
	Status       int // success status
	Response     any // zero value of the JSON success body, or nil for none
	Errors       []int
	Query        []Param
	Description  string
	// RequestType and ResponseType name bodies that are not application/json (for
	// application/x-ndjson, Request and Response are the type of one line).
	RequestType, ResponseType string
}

func mediaType(t string) string {
	if t == "" {
		return "application/json"
	}
	return t
}

// Document is an OpenAPI 3.1 document under construction.
type Document struct {
	title, version string
	ops            []Operation
	schemas        map[string]any
}

// New starts a document.
func New(title, version string) *Document {
	return &Document{title: title, version: version, schemas: map[string]any{}}
}

// Add records an operation.
func (d *Document) Add(op Operation) { d.ops = append(d.ops, op) }

// Operations returns what has been added.
func (d *Document) Operations() []Operation { return d.ops }

// Build returns the document as a JSON-ready value.
func (d *Document) Build() map[string]any {
	paths := map[string]map[string]any{}
	for _, op := range d.ops {
		item := paths[op.Path]
		if item == nil {
			item = map[string]any{}
			paths[op.Path] = item
		}
		item[strings.ToLower(op.Method)] = d.operation(op)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   d.title,
			"version": d.version,
			"description": "Gatehouse identity service. Errors are RFC 9457 problem details " +
				"(application/problem+json) with a stable `code`. A request body must be sent with " +
				"`Content-Type: application/json` (else 415 `unsupported_media_type`), be at most 1 MiB (413) " +
				"and nest at most 32 levels (400). A token scoped to an organization (`org_id` claim) acts in " +
				"that organization only: other organizations' routes, `POST /v1/orgs` and " +
				"`POST /v1/invitations/accept` answer 403 `forbidden`; `/v1/me` routes stay usable.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": d.schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
			},
		},
	}
}

func (d *Document) operation(op Operation) map[string]any {
	o := map[string]any{"operationId": op.ID, "summary": op.Summary}
	if op.Tag != "" {
		o["tags"] = []string{op.Tag}
	}
	if op.Description != "" {
		o["description"] = op.Description
	}
	if op.Bearer {
		o["security"] = []map[string][]string{{"bearer": {}}}
	}
	var params []map[string]any
	for _, seg := range strings.Split(op.Path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true,
				"schema": map[string]any{"type": "string"}})
		}
	}
	for _, q := range op.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description,
			"schema": map[string]any{"type": q.Type}})
	}
	if params != nil {
		o["parameters"] = params
	}
	if op.Request != nil {
		o["requestBody"] = map[string]any{"required": !op.OptionalBody, "content": map[string]any{
			mediaType(op.RequestType): map[string]any{"schema": d.schema(reflect.TypeOf(op.Request))}}}
	}
	responses := map[string]any{}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if op.Response != nil {
		ok["content"] = map[string]any{mediaType(op.ResponseType): map[string]any{"schema": d.schema(reflect.TypeOf(op.Response))}}
	}
	responses[strconv.Itoa(status)] = ok
	errs := append([]int{}, op.Errors...)
	if op.Request != nil {
		errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if op.Bearer {
		errs = append(errs, http.StatusUnauthorized)
	}
	errs = append(errs, http.StatusInternalServerError)
	sort.Ints(errs)
	for _, code := range errs {
		responses[strconv.Itoa(code)] = map[string]any{
			"description": http.StatusText(code),
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": d.problemSchema()}},
		}
	}
	o["responses"] = responses
	return o
}

func (d *Document) problemSchema() map[string]any {
	if _, ok := d.schemas["Problem"]; !ok {
		str := map[string]any{"type": "string"}
		d.schemas["Problem"] = map[string]any{
			"type":     "object",
			"required": []string{"type", "title", "status", "code", "request_id"},
			"properties": map[string]any{
				"type": str, "title": str, "status": map[string]any{"type": "integer"}, "detail": str,
				"code": str, "request_id": str,
				"errors": map[string]any{"type": "array", "items": map[string]any{
					"type": "object", "required": []string{"field", "message"},
					"properties": map[string]any{"field": str, "message": str},
				}},
			},
		}
	}
	return map[string]any{"$ref": "#/components/schemas/Problem"}
}
