// Package apitest is a small JSON client for tests that talk to a real server.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// Client calls one server.
type Client struct {
	Base   string
	HTTP   *http.Client
	Header http.Header // sent with every request (e.g. a fixed X-Forwarded-For)
	// Check, when set, is called with every response (its body readable again), for
	// example to validate it against the OpenAPI document.
	Check func(t testing.TB, req *http.Request, resp *http.Response)
}

// New returns a client for base with connections of its own, closed when the test ends:
// a connection the client dialled but never used would otherwise hold the server's
// graceful shutdown for net/http's five-second grace for new connections.
func New(t testing.TB, base string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &Client{Base: base, HTTP: &http.Client{Timeout: 30 * time.Second, Transport: tr}, Header: http.Header{}}
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// Str returns a top-level string field.
func (r *Response) Str(key string) string { s, _ := r.Body[key].(string); return s }

// Code returns the problem code, if any.
func (r *Response) Code() string { return r.Str("code") }

// Decode unmarshals the raw body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.Raw, err)
	}
}

// Do sends method path with body (marshalled unless it is a string or []byte) and an
// optional bearer token.
func (c *Client) Do(t testing.TB, method, path string, body any, token string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, c.Base+path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.Send(t, req)
}

// Send sends a prepared request and decodes the answer.
func (c *Client) Send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if c.Check != nil {
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		c.Check(t, req, resp)
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &r.Body)
	}
	return r
}

// Expect fails the test unless the response has the status (and, for errors, the code).
func (r *Response) Expect(t testing.TB, status int, code ...string) *Response {
	t.Helper()
	if r.Status != status || (len(code) > 0 && r.Code() != code[0]) {
		t.Fatalf("got %d %s; want %d %v", r.Status, r.Raw, status, code)
	}
	if status >= 400 {
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("error answered with Content-Type %q, want application/problem+json", ct)
		}
		if st, _ := r.Body["status"].(float64); int(st) != status || r.Str("request_id") != r.Header.Get("X-Request-ID") {
			t.Fatalf("problem body %s does not match status %d / request id %q", r.Raw, status, r.Header.Get("X-Request-ID"))
		}
	}
	return r
}
