package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client is a keep-alive JSON client shared by a scenario's workers.
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
	return &client{base: base, tr: tr, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
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
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return resp.StatusCode, body, err
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
