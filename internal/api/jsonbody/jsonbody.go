// Package jsonbody reads JSON request bodies strictly: one object, no unknown fields,
// valid UTF-8, no NUL characters, nested at most MaxDepth levels, within the size limit;
// every failure is a problem. Every check runs in time and memory linear in the body's
// size, whatever its shape, because these checks run before anyone is signed in.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// MaxDepth is how deeply objects and arrays may nest anywhere in a body, values of
// unknown shape (a WebAuthn credential) included.
const MaxDepth = 32

// Decode reads one JSON object into dst. A body without `Content-Type: application/json`
// is 415 (a cross-site HTML form cannot send that type); malformed JSON, nesting deeper
// than MaxDepth, unknown fields (names match exactly, case included), duplicate keys,
// wrong types, invalid UTF-8, NUL bytes and trailing data are 400 bad_request; a body
// over the limit is 413. Nothing is written before the whole body is known to be valid.
func Decode(r *http.Request, dst any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return problem.PayloadTooLarge()
		}
		return problem.BadRequest("The request body could not be read.")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return problem.BadRequest("The request body must be a JSON object.")
	}
	if !IsJSON(r.Header.Get("Content-Type")) {
		return UnsupportedMediaType()
	}
	if !utf8.Valid(data) {
		return problem.BadRequest("The request body is not valid UTF-8.")
	}
	if bytes.Contains(data, []byte(`\u0000`)) || bytes.IndexByte(data, 0) >= 0 {
		return problem.BadRequest("The request body must not contain NUL characters.")
	}
	if Depth(data) > MaxDepth {
		return problem.BadRequest(fmt.Sprintf("The request body is nested deeper than %d levels.", MaxDepth))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	if dec.More() {
		return problem.BadRequest("The request body must hold exactly one JSON object.")
	}
	if p := strictKeys(data, reflect.TypeOf(dst)); p != nil {
		return p
	}
	return nil
}

// IsJSON reports whether a Content-Type header names application/json (parameters such
// as charset allowed).
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// UnsupportedMediaType is the 415 problem for a body that is not declared as JSON.
func UnsupportedMediaType() *problem.Problem {
	return problem.New(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Send the body with Content-Type: application/json.")
}

// Depth returns how deeply objects and arrays nest in data, in one pass and constant
// memory; brackets inside strings do not count. It stops counting once past MaxDepth.
// Malformed input gets a number too: the decoder refuses it afterwards.
func Depth(data []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > MaxDepth {
					return deepest
				}
			}
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// decodeProblem explains a decoding error using only the client's own field names.
func decodeProblem(err error) *problem.Problem {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return problem.BadRequest(fmt.Sprintf("The request body is not valid JSON (at byte %d).", syntax.Offset))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return problem.BadRequest("The request body must be a JSON object.")
		}
		p := problem.BadRequest(fmt.Sprintf("Field %q must be of type %s.", typeErr.Field, jsonType(typeErr.Type.Kind().String())))
		p.Errors = []problem.FieldError{{Field: typeErr.Field, Message: "must be of type " + jsonType(typeErr.Type.Kind().String())}}
		return p
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p := problem.BadRequest(fmt.Sprintf("Unknown field %q.", field))
		p.Errors = []problem.FieldError{{Field: field, Message: "unknown field"}}
		return p
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return problem.BadRequest("The request body is not valid JSON (it ends early).")
	default:
		return problem.BadRequest("The request body is not valid JSON.")
	}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	default:
		return "number"
	}
}
