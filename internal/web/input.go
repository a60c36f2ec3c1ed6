package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/password"
)

// Limits on what the forms take, as the API's validation has them.
const (
	maxEmail = 254
	maxName  = 200
	maxCode  = 32
)

// plausibleEmail is a light check of an address's form (the API checks the same way
// before the domain sees it): something@domain.tld, no spaces, at most 254 characters.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if len(s) > maxEmail || at < 1 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' {
			return false
		}
	}
	return utf8.ValidString(s)
}

// passwordFits reports whether a typed password is within what can ever be right; a
// longer one is refused without hashing it.
func passwordFits(pw string) bool {
	return pw != "" && utf8.RuneCountInString(pw) <= password.MaxInput &&
		utf8.RuneCountInString(password.Normalize(pw)) <= password.MaxLength
}

// plainText reports whether s is valid text of at most n characters with no control
// characters (names shown back on pages and in emails).
func plainText(s string, n int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > n {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// field reads a trimmed form field.
func field(r *http.Request, name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
