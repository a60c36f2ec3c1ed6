package api

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/problem"
)

// fields collects field errors and reports them together.
type fields []problem.FieldError

func (f *fields) add(field, msg string) {
	*f = append(*f, problem.FieldError{Field: field, Message: msg})
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return problem.Validation(f...)
}

const maxEmail = 254

// checkEmail validates an address's form: ASCII local part and domain with at least one dot.
func (f *fields) checkEmail(field, email string) {
	email = strings.TrimSpace(email)
	switch {
	case email == "":
		f.add(field, "is required")
	case len(email) > maxEmail:
		f.add(field, "must have at most 254 characters")
	case !validEmail(email):
		f.add(field, "is not a valid email address")
	}
}

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at > 64 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0) {
			return false
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkRequired reports an empty string field.
func (f *fields) checkRequired(field, v string) {
	if v == "" {
		f.add(field, "is required")
	}
}

// checkText validates free text such as a display name: bounded, no control characters.
func (f *fields) checkText(field, v string, max int) {
	switch {
	case utf8.RuneCountInString(v) > max:
		f.add(field, "must have at most "+strconv.Itoa(max)+" characters")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		f.add(field, "must not contain control characters")
	}
}

// checkPassword requires a password being presented (not chosen) and refuses one longer
// than any password can be, before anything spends a hash on it. Length counts as the
// policy counts it, after NFKC (a decomposed "é" is one character), with the policy's
// bound on the input before normalizing.
func (f *fields) checkPassword(field, v string) {
	switch {
	case v == "":
		f.add(field, "is required")
	case utf8.RuneCountInString(v) > password.MaxInput ||
		utf8.RuneCountInString(password.Normalize(v)) > password.MaxLength:
		f.add(field, "must have at most "+strconv.Itoa(password.MaxLength)+" characters")
	}
}

// checkToken requires an opaque token. Its form is not judged here: a token of the
// wrong shape is simply unknown, and gets the same answer as any other unknown token.
func (f *fields) checkToken(field, v string) {
	if v == "" {
		f.add(field, "is required")
	}
}

// page reads ?limit= (default 50, 1–200) and ?cursor=.
func page(r *http.Request) (limit int, cursor string, err error) {
	limit = 50
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 || n > 200 {
			return 0, "", problem.Validation(problem.FieldError{Field: "limit", Message: "must be a whole number from 1 to 200"})
		}
		limit = n
	}
	cursor = q.Get("cursor")
	if len(cursor) > 128 {
		return 0, "", problem.Validation(problem.FieldError{Field: "cursor", Message: "is not a valid cursor"})
	}
	return limit, cursor, nil
}

// checkID validates an optional id's form: ids are UUIDs.
func (f *fields) checkID(field, v string) {
	if v != "" && !validID(v) {
		f.add(field, "is not a valid id")
	}
}

// validID reports whether s looks like a UUID (what every id here is).
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}
