package httpx

import "net/http"

// PageCSP is the Content-Security-Policy of the hosted HTML pages: everything from this
// origin only, no inline script or style, images from here or data: URLs (the TOTP QR
// code), no plugins, no <base>, no framing (clickjacking), and forms posting only here.
const PageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// ContentSecurityPolicy sets policy on every response of the handlers it wraps (the HTML
// pages and their assets). The JSON API does without: a browser renders none of it.
func ContentSecurityPolicy(policy string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", policy)
			next.ServeHTTP(w, r)
		})
	}
}
