package oidc

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
)

// guard wraps the library's handler with what API.md asks of every answer:
//   - every authorization response, success or error, carries iss (RFC 9207);
//   - an authorization error that cannot be redirected (unknown client, bad redirect_uri)
//     is an HTML page for the person in front of the browser, never a redirect;
//   - token answers are never cached; a refused userinfo call says why (RFC 6750);
//   - nothing answers 500: a failure the library could not name is 503
//     temporarily_unavailable, which a client may retry.
//
// The provider's answers are small, so each is buffered and finished here.
func guard(issuer string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PathToken || r.URL.Path == PathIntrospect || r.URL.Path == PathUserinfo {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
		}
		b := &buffered{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(b, r)
		for k, v := range b.header {
			w.Header()[k] = v
		}
		switch {
		case b.status >= 500:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.Header().Del("Content-Length")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"the service is temporarily unavailable; try again"}`))
			return
		case r.URL.Path == PathAuthorize && b.status == http.StatusFound:
			w.Header().Set("Location", withIss(b.header.Get("Location"), issuer))
		case (r.URL.Path == PathAuthorize || r.URL.Path == PathEndSession) && b.status >= 400:
			errorPage(w, b)
			return
		case r.URL.Path == PathUserinfo && b.status == http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		w.WriteHeader(b.status)
		_, _ = w.Write(b.body.Bytes())
	})
}

// withIss adds iss to an authorization response (one that carries code or error).
func withIss(location, issuer string) string {
	u, err := url.Parse(location)
	if err != nil {
		return location
	}
	q := u.Query()
	if (q.Has("code") || q.Has("error")) && !q.Has("iss") {
		q.Set("iss", issuer)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return location
}

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in error</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="card"><h1>This sign-in request cannot be completed</h1>
<p>{{.Description}}</p><p class="muted">Error: <code>{{.Error}}</code>. Go back to the application and try again.</p></main></body></html>`))

// errorPage shows an OAuth error that must not go back to a redirect URI.
func errorPage(w http.ResponseWriter, b *buffered) {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(b.body.Bytes(), &e)
	if e.Error == "" {
		e.Error = "invalid_request"
	}
	if e.Description == "" {
		e.Description = "The request was not valid."
	}
	w.Header().Del("Content-Length")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(b.status)
	_ = errorTmpl.Execute(w, e)
}

// buffered holds an answer until guard has looked at it.
type buffered struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (b *buffered) Header() http.Header { return b.header }
func (b *buffered) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}
func (b *buffered) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}
