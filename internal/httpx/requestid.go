package httpx

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
)

// RequestID keeps a valid incoming X-Request-ID (1–128 of [A-Za-z0-9._-]) or makes one,
// echoes it on the response and records it, with the user agent, in the request info.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !ValidRequestID(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		w.Header().Set("X-Request-ID", id)
		info := reqinfo.From(r.Context())
		info.RequestID = id
		info.UserAgent = truncate(r.UserAgent(), 512)
		next.ServeHTTP(w, r.WithContext(reqinfo.With(r.Context(), info)))
	})
}

// ValidRequestID reports whether id may be echoed back and logged as given.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
