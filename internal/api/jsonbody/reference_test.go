package jsonbody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// referenceStrictKeys is the first implementation of strictKeys, over encoding/json's
// tokens: slow (it allocates per token) but plainly right. The fuzz target checks that
// the byte walker decides every document the same way.
func referenceStrictKeys(data []byte, t reflect.Type) *problem.Problem {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return referenceWalk(dec, t, "")
}

func referenceWalk(dec *json.Decoder, t reflect.Type, path string) *problem.Problem {
	tok, err := dec.Token()
	if err != nil {
		return malformed()
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage || (t != nil && t.Kind() == reflect.Interface) {
		t = nil
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
				return malformed()
			}
			key, _ := kt.(string)
			name := path + key
			if seen[key] {
				return problem.BadRequest(fmt.Sprintf("Field %q is given more than once.", name))
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return problem.BadRequest(fmt.Sprintf("Unknown field %q.", name))
				}
				next = ft
			}
			if p := referenceWalk(dec, next, name+"."); p != nil {
				return p
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if p := referenceWalk(dec, elem, path); p != nil {
				return p
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed()
	}
	return nil
}
