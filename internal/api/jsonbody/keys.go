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

// strictKeys walks the document once more, after encoding/json has decoded it (so data
// is known to be one well-formed JSON value), and refuses what encoding/json lets
// through: a key that names a field only case-insensitively ("Email" for "email"), and
// a key given twice (where the last value would silently win). Inside values of unknown
// shape (json.RawMessage, any, maps) only duplicates are refused.
//
// It reads the bytes itself rather than through json.Decoder.Token, which allocates
// tens of bytes per byte of input: the walk allocates only for keys that must be kept
// (those of large objects, and escaped ones), and builds a field's dotted name only for
// an error message, so its cost is linear in the body whatever the body's shape.
func strictKeys(data []byte, t reflect.Type) *problem.Problem {
	w := walker{data: data}
	if p := w.value(t); p != nil {
		return p
	}
	return nil
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

type walker struct {
	data []byte
	i    int
	// path holds the keys from the root to the value being walked.
	path [][]byte
	// keys holds the keys seen so far in each object being walked, innermost last.
	keys [][]byte
}

func malformed() *problem.Problem { return problem.BadRequest("The request body is not valid JSON.") }

// name is the dotted name of the value being walked ("credential.response.x").
func (w *walker) name() string {
	parts := make([]string, len(w.path))
	for i, k := range w.path {
		parts[i] = string(k)
	}
	return strings.Join(parts, ".")
}

func (w *walker) skipSpace() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// value walks one value of type t (nil: opaque).
func (w *walker) value(t reflect.Type) *problem.Problem {
	w.skipSpace()
	if w.i >= len(w.data) {
		return malformed()
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage || (t != nil && t.Kind() == reflect.Interface) {
		t = nil // opaque here: checked by whoever parses it
	}
	switch w.data[w.i] {
	case '{':
		w.i++
		return w.object(t)
	case '[':
		w.i++
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		return w.array(elem)
	case '"':
		_, _, ok := w.str()
		if !ok {
			return malformed()
		}
	default: // a number, true, false or null: up to the next separator
		for w.i < len(w.data) && !separator(w.data[w.i]) {
			w.i++
		}
	}
	return nil
}

func separator(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// str reads a string whose opening quote is at w.i and returns its raw contents, and
// whether they hold escapes.
func (w *walker) str() (raw []byte, escaped, ok bool) {
	start := w.i + 1
	for j := start; j < len(w.data); j++ {
		switch w.data[j] {
		case '\\':
			escaped = true
			j++ // the escaped character cannot end the string
		case '"':
			w.i = j + 1
			return w.data[start:j], escaped, true
		}
	}
	return nil, false, false
}

// next reads the separator after a member or element: true for a comma, false at the
// closing delimiter close (consumed).
func (w *walker) next(close byte) (more bool, p *problem.Problem) {
	w.skipSpace()
	if w.i >= len(w.data) {
		return false, malformed()
	}
	switch w.data[w.i] {
	case ',':
		w.i++
		return true, nil
	case close:
		w.i++
		return false, nil
	}
	return false, malformed()
}

func (w *walker) array(elem reflect.Type) *problem.Problem {
	w.skipSpace()
	if w.i < len(w.data) && w.data[w.i] == ']' {
		w.i++
		return nil
	}
	for {
		if p := w.value(elem); p != nil {
			return p
		}
		more, p := w.next(']')
		if p != nil || !more {
			return p
		}
	}
}

// object walks the members of an object whose opening brace was read.
func (w *walker) object(t reflect.Type) *problem.Problem {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	} else if t != nil && t.Kind() == reflect.Map {
		elem = t.Elem()
	}
	start := len(w.keys)
	defer func() { w.keys = w.keys[:start] }()
	var seen map[string]struct{} // for large objects only
	w.skipSpace()
	if w.i < len(w.data) && w.data[w.i] == '}' {
		w.i++
		return nil
	}
	for {
		w.skipSpace()
		if w.i >= len(w.data) || w.data[w.i] != '"' {
			return malformed()
		}
		raw, escaped, ok := w.str()
		if !ok {
			return malformed()
		}
		key := raw
		if escaped { // compare keys as encoding/json does: unescaped
			var s string
			if err := json.Unmarshal(w.data[w.i-len(raw)-2:w.i], &s); err != nil {
				return malformed()
			}
			key = []byte(s)
		}
		w.skipSpace()
		if w.i >= len(w.data) || w.data[w.i] != ':' {
			return malformed()
		}
		w.i++
		w.path = append(w.path, key)
		if w.duplicate(key, start, &seen) {
			name := w.name()
			p := problem.BadRequest(fmt.Sprintf("Field %q is given more than once.", name))
			p.Errors = []problem.FieldError{{Field: name, Message: "given more than once"}}
			return p
		}
		next := elem
		if fields != nil {
			ft, ok := fields[string(key)]
			if !ok {
				name := w.name()
				p := problem.BadRequest(fmt.Sprintf("Unknown field %q.", name))
				p.Errors = []problem.FieldError{{Field: name, Message: "unknown field"}}
				return p
			}
			next = ft
		}
		if p := w.value(next); p != nil {
			return p
		}
		w.path = w.path[:len(w.path)-1]
		more, p := w.next('}')
		if p != nil || !more {
			return p
		}
	}
}

// smallObject is how many keys an object may have before duplicates are found with a
// map instead of by scanning its keys.
const smallObject = 16

// duplicate records key as seen in the object whose keys start at start, and reports
// whether it was seen there before. Small objects are scanned; a large one gets a map,
// so an object of n keys costs O(n), not O(n²).
func (w *walker) duplicate(key []byte, start int, seen *map[string]struct{}) bool {
	if *seen != nil {
		if _, dup := (*seen)[string(key)]; dup {
			return true
		}
		(*seen)[string(key)] = struct{}{}
		return false
	}
	mine := w.keys[start:]
	for _, k := range mine {
		if bytes.Equal(k, key) {
			return true
		}
	}
	w.keys = append(w.keys, key)
	if len(mine)+1 > smallObject {
		m := make(map[string]struct{}, 2*smallObject)
		for _, k := range w.keys[start:] {
			m[string(k)] = struct{}{}
		}
		w.keys = w.keys[:start]
		*seen = m
	}
	return false
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
