package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// flow is where a sign-in goes on to, carried from page to page in the query or hidden
// fields: an app's authorization request, or a local path to return to.
type flow struct {
	AuthRequest string
	Return      string
}

var requestIDShape = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// flowOf reads the flow of a request; values of the wrong shape are dropped.
func flowOf(r *http.Request) flow {
	f := flow{Return: safeReturn(r.FormValue("return"))}
	if id := r.FormValue("auth_request"); requestIDShape.MatchString(id) {
		f.AuthRequest = id
	}
	return f
}

// query renders the flow as a query string ("" or "?...").
func (f flow) query() string {
	v := url.Values{}
	if f.AuthRequest != "" {
		v.Set("auth_request", f.AuthRequest)
	}
	if f.Return != "" {
		v.Set("return", f.Return)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Query is query for templates (links to /register, /login/mfa...).
func (f flow) Query() string { return f.query() }

// safeReturn keeps a return target only when it is a path on this site: it starts with
// exactly one "/" (not "//host" or "/\host", which browsers read as another host), has
// no backslash or control character, and parses without a scheme or host.
func safeReturn(s string) string {
	if len(s) < 1 || len(s) > 2048 || s[0] != '/' || strings.HasPrefix(s, "//") {
		return ""
	}
	for _, c := range s {
		if c == '\\' || c < 0x20 || c == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return s
}
