// Package httpx holds the HTTP middleware every request passes through, one concern per
// file: request ids, client address, access logs, metrics, panic recovery, security
// headers, CORS and body limits. Each is a plain func(http.Handler) http.Handler.
package httpx

import "net/http"

// Chain applies middleware so that the first listed is the outermost.
func Chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
