package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"regexp"
)

// Cookie names, without the prefix. Over https every cookie gets the __Host- prefix,
// which the browser accepts only with Secure, Path=/ and no Domain: a sibling subdomain
// cannot plant one.
const (
	sessionCookie = "gatehouse_session"
	csrfCookie    = "gatehouse_csrf"
	mfaCookie     = "gatehouse_mfa" // the pending login's mfa_token, between /login and /login/mfa
)

// jar sets and reads the pages' cookies: always HttpOnly and SameSite=Lax (Lax, not
// Strict, so that the session is sent when an app sends the browser back here).
type jar struct{ secure bool }

func (j jar) name(base string) string {
	if j.secure {
		return "__Host-" + base
	}
	return base
}

// set stores a cookie for maxAge seconds, or for the browser session when maxAge is 0.
func (j jar) set(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: j.name(base), Value: value, Path: "/", MaxAge: maxAge,
		Secure: j.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (j jar) clear(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{Name: j.name(base), Value: "", Path: "/", MaxAge: -1,
		Secure: j.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (j jar) get(r *http.Request, base string) string {
	c, err := r.Cookie(j.name(base))
	if err != nil {
		return ""
	}
	return c.Value
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}

var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
