package httpx

import (
	"context"
	"net/http"
	"strings"
)

// recorder remembers the status and size of a response for logs and metrics.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// route carries the matched mux pattern back out to the middleware that logs it; the
// mux sets Pattern on its own copy of the request, which outer middleware never sees.
type route struct{ pattern string }

type routeKey struct{}

func withRoute(ctx context.Context) (context.Context, *route) {
	rt := &route{}
	return context.WithValue(ctx, routeKey{}, rt), rt
}

// RecordPattern wraps a routed handler so the access log and metrics see its pattern.
func RecordPattern(pattern string, h http.Handler) http.Handler {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path // the method is its own label
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt, ok := r.Context().Value(routeKey{}).(*route); ok {
			rt.pattern = pattern
		}
		h.ServeHTTP(w, r)
	})
}
