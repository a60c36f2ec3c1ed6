// Package problem writes RFC 9457 problem details. Handlers return errors; Write turns
// any error into a response: a *Problem as itself, anything else as a generic 500 whose
// cause is logged, never shown.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an error with a stable code that clients may rely on.
type Problem struct {
	Status     int
	Code       string
	Detail     string
	Errors     []FieldError
	RetryAfter time.Duration
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail) }

// New returns a problem with the given status, code and human-readable detail.
func New(status int, code, detail string) *Problem {
	return &Problem{Status: status, Code: code, Detail: detail}
}

// body is the wire form.
type body struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Code      string       `json:"code"`
	RequestID string       `json:"request_id"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// Write sends err as problem+json. Errors that are not a *Problem become 500 `internal`
// and are logged with their cause.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		p = PayloadTooLarge()
	} else if !errors.As(err, &p) {
		logging.From(r.Context()).ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
		p = Internal()
	}
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	rid := reqinfo.From(r.Context()).RequestID
	if rid == "" {
		rid = w.Header().Get("X-Request-ID")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(body{
		Type:      "about:blank",
		Title:     http.StatusText(p.Status),
		Status:    p.Status,
		Detail:    p.Detail,
		Code:      p.Code,
		RequestID: rid,
		Errors:    p.Errors,
	})
}
