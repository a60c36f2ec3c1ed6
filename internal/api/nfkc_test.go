package api_test

import (
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
