package jsonbody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// strictKeys walks an already-decoded document once more and refuses what encoding/json
// lets through: a key that names a field only case-insensitively ("Email" for "email"),
// and a key given twice (where the last value would silently win). Inside values of
// unknown shape (json.RawMessage, any, maps) only duplicates are refused.
func strictKeys(data []byte, t reflect.Type) *problem.Problem {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, t, ""); err != nil {
		return err
	}
	return nil
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

func walk(dec *json.Decoder, t reflect.Type, path string) *problem.Problem {
	tok, err := dec.Token()
	if err != nil {
		return problem.BadRequest("The request body is not valid JSON.")
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage || (t != nil && t.Kind() == reflect.Interface) {
		t = nil // opaque here: checked by whoever parses it
	}
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return problem.BadRequest("The request body is not valid JSON.")
			}
			key, _ := kt.(string)
			name := path + key
			if seen[key] {
				p := problem.BadRequest(fmt.Sprintf("Field %q is given more than once.", name))
				p.Errors = []problem.FieldError{{Field: name, Message: "given more than once"}}
				return p
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					p := problem.BadRequest(fmt.Sprintf("Unknown field %q.", name))
					p.Errors = []problem.FieldError{{Field: name, Message: "unknown field"}}
					return p
				}
				next = ft
			}
			if err := walk(dec, next, name+"."); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walk(dec, elem, path); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return problem.BadRequest("The request body is not valid JSON.")
	}
	return nil
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps the exact JSON names of a struct's fields (embedded structs flattened,
// as encoding/json does) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					m[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
