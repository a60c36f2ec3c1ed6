package oascheck

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/v1/things/{id}": {"get": {"responses": {
      "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
      "default": {"description": "problem", "content": {"application/problem+json": {"schema": {"type": "object", "required": ["code"]}}}}
    }}},
    "/v1/things/mine": {"get": {"responses": {
      "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array"}}}}
    }}},
    "/v1/things": {"post": {"responses": {"204": {"description": "done"}}}}
  },
  "components": {"schemas": {"Thing": {"type": "object", "required": ["id", "at"], "additionalProperties": false,
    "properties": {"id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}}}
}`

func TestValidDocument(t *testing.T) {
	d, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if errs := d.Validate(); len(errs) != 0 {
		t.Fatalf("a valid document: %v", errs)
	}
	for name, bad := range map[string]string{
		"no info":            strings.Replace(doc, `"info": {"title": "t", "version": "1"},`, "", 1),
		"OpenAPI 3.0":        strings.Replace(doc, `"3.1.0"`, `"3.0.3"`, 1),
		"a schema type typo": strings.Replace(doc, `"type": "array"`, `"type": "arrray"`, 1),
	} {
		d, err := Load([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if errs := d.Validate(); len(errs) == 0 {
			t.Errorf("%s: Validate found nothing", name)
		}
	}
}

func TestCheckResponse(t *testing.T) {
	d, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	for _, c := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string // "" for no problem
	}{
		{"matching body", "GET", "/v1/things/42", 200, json, `{"id":"42","at":"2026-01-02T03:04:05Z"}`, ""},
		{"literal route wins", "GET", "/v1/things/mine", 200, json, `[]`, ""},
		{"default problem", "GET", "/v1/things/42", 404, problem, `{"code":"not_found"}`, ""},
		{"no content", "POST", "/v1/things", 204, http.Header{}, ``, ""},
		{"missing field", "GET", "/v1/things/42", 200, json, `{"id":"42"}`, "missing"},
		{"extra field", "GET", "/v1/things/42", 200, json, `{"id":"42","at":"2026-01-02T03:04:05Z","x":1}`, "additional"},
		{"bad format", "GET", "/v1/things/42", 200, json, `{"id":"42","at":"yesterday"}`, "date-time"},
		{"wrong media type", "GET", "/v1/things/42", 200, problem, `{"id":"42","at":"2026-01-02T03:04:05Z"}`, "not documented"},
		{"undocumented status", "POST", "/v1/things", 500, json, `{}`, "status 500"},
		{"undocumented method", "DELETE", "/v1/things", 204, http.Header{}, ``, "not documented"},
		{"undocumented path", "GET", "/v1/other", 200, json, `{}`, "not in the document"},
		{"missing body", "GET", "/v1/things/42", 200, json, ``, "empty"},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		got := d.CheckResponse(req, c.status, c.header, []byte(c.body))
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: %v", c.name, got)
		case c.want != "" && (len(got) == 0 || !strings.Contains(strings.Join(got, " "), c.want)):
			t.Errorf("%s: %v, want a problem mentioning %q", c.name, got, c.want)
		}
	}
}
