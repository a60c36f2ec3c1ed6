// Package oascheck checks an OpenAPI 3.1 document and the responses of a running server
// against it, with an independent JSON Schema 2020-12 validator
// (github.com/santhosh-tekuri/jsonschema). OpenAPI 3.1 schemas are JSON Schema 2020-12,
// so the document's own schemas validate the bodies; the document itself is checked
// against the OpenAPI Initiative's schema for 3.1 (oas-3.1-schema.json, Apache-2.0, as
// published at https://spec.openapis.org/oas/3.1/schema/2022-10-07).
package oascheck

import (
	"bytes"
	_ "embed"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed oas-3.1-schema.json
var oasSchema []byte

// docURL names the document inside the compiler, so that its $refs resolve.
const docURL = "https://gatehouse.invalid/openapi.json"

// Doc is a parsed OpenAPI document whose response schemas compile on first use.
type Doc struct {
	doc   map[string]any
	paths []route

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

// route is one path of the document, split into segments ("{x}" matches any segment).
type route struct {
	template string
	segments []string
	literals int // segments that must match exactly: the most specific route wins
}

// Load parses raw and prepares it for checks.
func Load(raw []byte) (*Doc, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("oascheck: parse: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("oascheck: the document is not a JSON object")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, fmt.Errorf("oascheck: %w", err)
	}
	d := &Doc{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	paths, _ := doc["paths"].(map[string]any)
	for p := range paths {
		r := route{template: p, segments: strings.Split(strings.Trim(p, "/"), "/")}
		for _, s := range r.segments {
			if !strings.HasPrefix(s, "{") {
				r.literals++
			}
		}
		d.paths = append(d.paths, r)
	}
	sort.Slice(d.paths, func(i, j int) bool { return d.paths[i].template < d.paths[j].template })
	return d, nil
}

// Validate checks the document against the OpenAPI 3.1 schema and compiles every
// schema it holds (components and every request and response body), which checks each
// against the JSON Schema 2020-12 meta-schema.
func (d *Doc) Validate() []error {
	var errs []error
	c := jsonschema.NewCompiler()
	oas, err := jsonschema.UnmarshalJSON(bytes.NewReader(oasSchema))
	if err != nil {
		return []error{err}
	}
	const oasURL = "https://spec.openapis.org/oas/3.1/schema/2022-10-07"
	if err := c.AddResource(oasURL, oas); err != nil {
		return []error{err}
	}
	sch, err := c.Compile(oasURL)
	if err != nil {
		return []error{err}
	}
	if err := sch.Validate(any(d.doc)); err != nil {
		errs = append(errs, err)
	}
	comps, _ := d.doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for name := range schemas {
		if _, err := d.schema("/components/schemas/" + escape(name)); err != nil {
			errs = append(errs, err)
		}
	}
	paths, _ := d.doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			o, _ := op.(map[string]any)
			base := "/paths/" + escape(p) + "/" + method
			if rb, ok := o["requestBody"].(map[string]any); ok {
				for mt := range content(rb) {
					if _, err := d.schema(base + "/requestBody/content/" + escape(mt) + "/schema"); err != nil {
						errs = append(errs, err)
					}
				}
			}
			resps, _ := o["responses"].(map[string]any)
			for code, r := range resps {
				rm, _ := r.(map[string]any)
				for mt := range content(rm) {
					if _, err := d.schema(base + "/responses/" + code + "/content/" + escape(mt) + "/schema"); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	return errs
}

// CheckResponse reports how a response (its body already read) departs from the
// document: an undocumented route, method or status, an undocumented content type, or
// a body that does not match its schema.
func (d *Doc) CheckResponse(req *http.Request, status int, header http.Header, body []byte) []string {
	tmpl, ok := d.match(req.URL.Path)
	if !ok {
		return []string{"the path is not in the document"}
	}
	item, _ := d.doc["paths"].(map[string]any)[tmpl].(map[string]any)
	method := strings.ToLower(req.Method)
	op, ok := item[method].(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s is not documented for %s", req.Method, tmpl)}
	}
	resps, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	resp, ok := resps[code].(map[string]any)
	if !ok {
		if resp, ok = resps["default"].(map[string]any); !ok {
			return []string{fmt.Sprintf("status %d is not documented for %s %s", status, req.Method, tmpl)}
		}
		code = "default"
	}
	media := content(resp)
	if len(body) == 0 {
		if len(media) > 0 && status != http.StatusNoContent && req.Method != http.MethodHead {
			return []string{"the body is empty, but the document describes one"}
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return []string{fmt.Sprintf("Content-Type %q: %v", header.Get("Content-Type"), err)}
	}
	if _, ok := media[mt]; !ok {
		return []string{fmt.Sprintf("Content-Type %s is not documented for status %s (documented: %v)", mt, code, keys(media))}
	}
	sch, err := d.schema("/paths/" + escape(tmpl) + "/" + method + "/responses/" + code + "/content/" + escape(mt) + "/schema")
	if err != nil {
		return []string{err.Error()}
	}
	if !strings.HasSuffix(mt, "json") {
		return nil
	}
	if mt == "application/x-ndjson" { // the schema is one line's
		var errs []string
		for i, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
			if err == nil {
				err = sch.Validate(v)
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("line %d: %v", i+1, err))
			}
		}
		return errs
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []string{"the body is not JSON: " + err.Error()}
	}
	if err := sch.Validate(v); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// match finds the most specific documented path for p.
func (d *Doc) match(p string) (string, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	best, bestLiterals := "", -1
	for _, r := range d.paths {
		if len(r.segments) != len(segs) {
			continue
		}
		ok := true
		for i, s := range r.segments {
			if strings.HasPrefix(s, "{") {
				ok = segs[i] != ""
			} else {
				ok = s == segs[i]
			}
			if !ok {
				break
			}
		}
		if ok && r.literals > bestLiterals {
			best, bestLiterals = r.template, r.literals
		}
	}
	return best, bestLiterals >= 0
}

// schema compiles the schema at a JSON pointer into the document, once.
func (d *Doc) schema(pointer string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.schemas[pointer]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile(docURL + "#" + pointer)
	if err != nil {
		return nil, fmt.Errorf("oascheck: schema at %s: %w", pointer, err)
	}
	d.schemas[pointer] = s
	return s, nil
}

func content(obj map[string]any) map[string]any {
	c, _ := obj["content"].(map[string]any)
	return c
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// escape makes a JSON pointer token of s (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
