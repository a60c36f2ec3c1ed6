package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client is a keep-alive HTTP client shared by a scenario's workers. It does not follow
// redirects: the code flow reads each one.
type client struct {
	base string
	http *http.Client
	tr   *http.Transport
}

// newClient keeps up to conns idle connections to the server, one per worker.
func newClient(base string, conns int) *client {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: base, tr: tr, http: &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// close drops the idle connections so the next scenario starts with its own.
func (c *client) close() { c.tr.CloseIdleConnections() }

// post sends body as JSON and returns the status and response body.
func (c *client) post(ctx context.Context, path string, body any, bearer string) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.send(req, bearer)
}

// postForm sends a form, with HTTP Basic client authentication when user is set (each
// part form-encoded first, RFC 6749 §2.3.1).
func (c *client) postForm(ctx context.Context, path string, form url.Values, user, pass string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return c.send(req, "")
}

// get sends a GET and returns the status and response body.
func (c *client) get(ctx context.Context, path, bearer string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	return c.send(req, bearer)
}

// send reads the whole body so the connection goes back to the pool.
func (c *client) send(req *http.Request, bearer string) (int, []byte, error) {
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	st, _, body, err := c.sendRaw(req)
	return st, body, err
}

// sendRaw sends req as it is and returns the status, headers and whole body.
func (c *client) sendRaw(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return resp.StatusCode, resp.Header, body, err
}

// errBadResponse marks a response with the expected status but an unusable body.
var errBadResponse = errors.New("unusable response body")

// expect checks a setup call's outcome, quoting the server's answer when it failed.
func expect(what string, want, status int, body []byte, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case status != want:
		return fmt.Errorf("%s: status %d, want %d: %s", what, status, want, snippet(body))
	}
	return nil
}

// decode unmarshals a response body, marking a failure as errBadResponse.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v: %s", errBadResponse, err, snippet(body))
	}
	return nil
}

// snippet shortens a response body for error messages.
func snippet(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
