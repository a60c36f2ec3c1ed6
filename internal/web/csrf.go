package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
)

// csrfToken returns the browser's CSRF token, setting a new cookie when it has none.
// The token is random per browser and the form repeats it (double submit): a page of
// another site can make the browser send the cookie but cannot read it to copy it into
// the form. The Origin check (sameOrigin) backs it up.
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if t := p.jar.get(r, csrfCookie); tokenShape.MatchString(t) {
		return t
	}
	if t, ok := r.Context().Value(csrfKey{}).(*string); ok && *t != "" {
		return *t // already set while serving this request
	}
	t := randomToken()
	p.jar.set(w, csrfCookie, t, 0)
	if slot, ok := r.Context().Value(csrfKey{}).(*string); ok {
		*slot = t
	}
	return t
}

type csrfKey struct{}

// checkPost refuses a state-changing request that another site could have made: one
// whose Origin is present and not ours (or, from browsers that send no Origin, that
// Fetch Metadata marks cross-site), or whose CSRF token does not match the cookie.
// sent is the token the request carries (the form field, or a header for JSON).
func (p *Pages) checkPost(r *http.Request, sent string) error {
	if !p.sameOrigin(r) {
		return errForbidden
	}
	want := p.jar.get(r, csrfCookie)
	if !tokenShape.MatchString(want) || subtle.ConstantTimeCompare([]byte(want), []byte(sent)) != 1 {
		return errForbidden
	}
	return nil
}

func (p *Pages) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return o == p.origin
	}
	return r.Header.Get("Sec-Fetch-Site") != "cross-site"
}

// originOf is scheme://host[:port] of an absolute URL, as browsers send it in Origin.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
