package jsonbody

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// request has the shape of a registration request.
type request struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@example.com","password":"correct horse battery","name":"A"}`,
		`{"email":"a@example.com","password":"x","admin":true}`,
		`{"email":1}`, `[]`, `{}`, `{"email":"\u0000"}`, "{\"email\":\"\xff\"}", `{"email":"a"}{"b":1}`, ``, `{"name":null}`,
		`{"email":"` + strings.Repeat("a", 1000) + `"}`, `{"password":{"nested":[1,2,{"x":"y"}]}}`, `{"Email":"a@example.com"}`, `{"email":"a","email":"b"}`,
		`{"credential":{"a":{"b":[1,"x\\\"y",{"c":null}]},"\u0061":2}}`, `{"challenge_id":"x","credential":{"k":[{"k":1},{"k":2}],"k":3}}`,
		`{"name":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, `{"name":"` + strings.Repeat("[", 40) + `"}`,
		strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33), strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var dst request
		err := Decode(req, &dst)
		// Nesting past MaxDepth is refused anywhere, as a reference walk over the tokens
		// counts it (for input that is JSON at all).
		if deep, valid := tokenDepth(body); valid && deep > MaxDepth && err == nil {
			t.Fatalf("decode(%q) accepted nesting of %d levels", body, deep)
		}
		// The byte walker that checks keys decides like the token-based reference, on
		// every well-formed document within the depth limit.
		if utf8.ValidString(body) && json.Valid([]byte(body)) && Depth([]byte(body)) <= MaxDepth {
			for _, typ := range []reflect.Type{reflect.TypeFor[*request](), reflect.TypeFor[*finish](), reflect.TypeFor[*map[string]any]()} {
				got, want := strictKeys([]byte(body), typ), referenceStrictKeys([]byte(body), typ)
				if (got == nil) != (want == nil) || (got != nil && got.Detail != want.Detail) {
					t.Fatalf("strictKeys(%q, %v) = %v; the reference says %v", body, typ, got, want)
				}
			}
		}
		if err == nil {
			return
		}
		var p *problem.Problem
		if !errors.As(err, &p) {
			t.Fatalf("decode(%q) returned a non-problem error %v", body, err)
		}
		if p.Status != 400 && p.Status != 413 && p.Status != 415 {
			t.Fatalf("decode(%q) answered %d", body, p.Status)
		}
		for _, leak := range []string{"json:", "reflect", "main.", "jsonbody."} {
			if strings.Contains(p.Detail, leak) {
				t.Fatalf("detail leaks internals: %q", p.Detail)
			}
		}
	})
}

func TestDecodeRejectsTrailingAndUnknown(t *testing.T) {
	for body, want := range map[string]string{
		`{"email":"a@b.co"} {"x":1}`:          "exactly one",
		`{"emial":"a@b.co"}`:                  `Unknown field "emial"`,
		`{"email":["x"]}`:                     `Field "email" must be of type string`,
		`{"email":"a`:                         "ends early",
		`{"Email":"a@b.co"}`:                  `Unknown field "Email"`,
		`{"email":"a@b.co","PASSWORD":"x"}`:   `Unknown field "PASSWORD"`,
		`{"email":"a@b.co","email":"c@d.co"}`: `Field "email" is given more than once`,
	} {
		req := jsonRequest(body)
		var dst request
		err := Decode(req, &dst)
		var p *problem.Problem
		if !errors.As(err, &p) || p.Status != 400 || !strings.Contains(p.Detail, want) {
			t.Errorf("decode(%s) = %v; want 400 mentioning %q", body, err, want)
		}
	}
}

// Values of unknown shape are passed through, but a key given twice is refused anywhere.
func TestDecodeOpaqueValues(t *testing.T) {
	type withRaw struct {
		ID   string          `json:"id"`
		Cred json.RawMessage `json:"credential"`
	}
	for body, wantErr := range map[string]bool{
		`{"id":"x","credential":{"rawId":"a","Response":{"x":[1,{"y":2}]}}}`: false,
		`{"id":"x","credential":{"a":1,"a":2}}`:                              true,
		`{"id":"x","credential":[{"a":1},{"a":1}]}`:                          false,
	} {
		var dst withRaw
		err := Decode(jsonRequest(body), &dst)
		if (err != nil) != wantErr {
			t.Errorf("decode(%s) = %v; want error %v", body, err, wantErr)
		}
	}
}

// tokenDepth is an independent count of nesting, from the decoder's tokens; valid is
// false when body is not one JSON value.
func tokenDepth(body string) (deepest int, valid bool) {
	dec := json.NewDecoder(strings.NewReader(body))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest, err == io.EOF && depth == 0
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// Text the decoder would accept silently (invalid UTF-8 becomes U+FFFD, an escaped NUL
// a NUL) is refused, and a key given twice is found in a large object too.
func TestDecodeRejectsBadTextAndLateDuplicates(t *testing.T) {
	var keys []string
	for i := range 2 * smallObject {
		keys = append(keys, fmt.Sprintf(`"k%d":%d`, i, i))
	}
	large := `{"id":"x","credential":{` + strings.Join(keys, ",") + `,"k3":0}}`
	for body, want := range map[string]string{
		"{\"email\":\"a\xffb\"}":       "UTF-8",
		`{"email":"a\u0000b"}`:         "NUL",
		"{\"email\":\"a\x00b\"}":       "NUL",
		large:                          `Field "credential.k3" is given more than once`,
		`{"id":"x","id":"y"}`:          `Field "id" is given more than once`,
		`{"credential":{"a":1,"a":2}}`: `Field "credential.a" is given more than once`,
	} {
		req := jsonRequest(body)
		var dst struct {
			Email string          `json:"email"`
			ID    string          `json:"id"`
			Cred  json.RawMessage `json:"credential"`
		}
		err := Decode(req, &dst)
		var p *problem.Problem
		if !errors.As(err, &p) || p.Status != 400 || !strings.Contains(p.Detail, want) {
			t.Errorf("decode(%.60q) = %v; want 400 mentioning %q", body, err, want)
		}
	}
}
