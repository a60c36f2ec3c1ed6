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
// whose Origin is another site's, or that Fetch Metadata marks as not from this origin,
// or whose CSRF token does not match the cookie. sent is the token the request carries
// (the form field, or a header for JSON).
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

// sameOrigin decides by Origin when it names a site. Every response says
// Referrer-Policy: no-referrer, and under that policy browsers send "Origin: null" with
// a form post, our own pages' included; then (and when Origin is missing) Sec-Fetch-Site
// decides, where the browser sends it: only "same-origin" passes. A browser that sends
// neither is left to the CSRF token.
func (p *Pages) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o == p.origin
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin"
}

// originOf is scheme://host[:port] of an absolute URL, as browsers send it in Origin.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
