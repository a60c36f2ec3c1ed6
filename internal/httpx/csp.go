package httpx

import (
	"net/http"
	"strings"
)

// The hosted HTML pages' Content-Security-Policy: everything from this origin only, no
// inline script or style, images from here or data: URLs (the TOTP QR code), no
// plugins, no <base>, no framing (clickjacking), and forms posting only here.
const pagePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// PageCSP is the policy of the pages.
const PageCSP = pagePolicy

// PageCSPFor is PageCSP whose form-action also allows targets (CSP source expressions).
// A form whose post is answered with a redirect to another site (an app's redirect_uri,
// after sign-in or consent) needs it: Chromium applies form-action to the redirects that
// follow a form post, not only to the form's own action. A target that is not a plain
// source expression is left out, so that no value can add a directive.
func PageCSPFor(targets ...string) string {
	var b strings.Builder
	b.WriteString(pagePolicy)
	for _, t := range targets {
		if t != "" && !strings.ContainsAny(t, " \t\r\n;,'\"") {
			b.WriteString(" " + t)
		}
	}
	return b.String()
}

// ContentSecurityPolicy sets policy on every response of the handlers it wraps (the HTML
// pages and their assets); a handler may replace it (PageCSPFor). The JSON API does
// without: a browser renders none of it.
func ContentSecurityPolicy(policy string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", policy)
			next.ServeHTTP(w, r)
		})
	}
}
