package httpx

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// MaxBody is the largest request body accepted anywhere.
const MaxBody = 1 << 20

// BodyLimit answers 413 at once when the declared length is too large, and caps bodies
// of unknown length so that reading past the limit fails (the JSON decoder maps that
// failure to 413 as well). Routes in larger ("METHOD /path") get their own limit: the
// handlers of those stream the body, after authorizing the caller.
func BodyLimit(limit int64, larger map[string]int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			limit := limit
			if l, ok := larger[r.Method+" "+r.URL.Path]; ok {
				limit = l
			}
			if r.ContentLength > limit {
				w.Header().Set("Connection", "close")
				problem.Write(w, r, problem.PayloadTooLarge())
				return
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r)
		})
	}
}
