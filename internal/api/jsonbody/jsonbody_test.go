package jsonbody

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

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
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var dst request
		err := Decode(req, &dst)
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
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
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
		err := Decode(httptest.NewRequest("POST", "/", strings.NewReader(body)), &dst)
		if (err != nil) != wantErr {
			t.Errorf("decode(%s) = %v; want error %v", body, err, wantErr)
		}
	}
}
