package httpx

import (
	"errors"
	"net/http"
	"runtime/debug"

	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// Recover turns a panic in a handler into a 500 problem (with the request id) and a log
// line with the stack; the server goes on serving.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*recorder)
		if !ok {
			rec = &recorder{ResponseWriter: w, status: http.StatusOK}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // the client went away; let net/http handle it quietly
			}
			logging.From(r.Context()).ErrorContext(r.Context(), "panic serving request",
				"method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if rec.wroteHeader {
				return // too late for a problem body
			}
			problem.Write(rec, r, problem.Internal())
		}()
		next.ServeHTTP(rec, r)
	})
}
