package api_test

import (
	"strings"
	"testing"
)

// Passwords are compared after NFKC: the same characters typed as full-width forms, or
// as a letter plus a combining accent, sign in to the account made with the plain form.
func TestPasswordsMatchAfterNFKC(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email := uniqueEmail("nfkc")
		e.register(t, email, "café crème brûlée 42")
		for name, typed := range map[string]string{
			"composed":      "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e 42",
			"decomposed":    "cafe\u0301 cre\u0300me bru\u0302le\u0301e 42",
			"full-width 42": "café crème brûlée \uff14\uff12",
		} {
			r := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": typed}, "")
			if r.Status != 200 {
				t.Errorf("%s form: login answered %d %s", name, r.Status, r.Raw)
			}
		}
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "cafe creme brulee 42"}, "").Expect(t, 401, "invalid_credentials")
	})
}

// A password that is long only before NFKC (decomposed accents) is as long as the policy
// counted it at registration: it signs in, and a password change accepts it as current.
func TestDecomposedLongPasswordSignsIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email := uniqueEmail("decomposed")
		pw := strings.Repeat("e\u0301", 100) + strings.Repeat("한국어", 50) // 350 code points, 250 after NFKC
		e.register(t, email, pw)
		tok := e.login(t, email, pw)
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": pw, "new_password": "a fresh passphrase now"}, tok.Access).Expect(t, 204)
		long := strings.Repeat("x", 257)
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": long}, "").Expect(t, 422, "validation_failed")
	})
}
