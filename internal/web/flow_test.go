package web_test

import (
	"strings"
	"testing"
)

func TestRegisterVerifySignIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		e := newEnv(t, dbURL(t))
		b := e.browser(t)
		email := uniqueEmail("flow")
		tok := e.register(t, b, email, "Ada <b>Lovelace</b>")

		// Opening the link only shows a button: a mail scanner verifies nothing.
		p := b.get("/verify-email?token=" + tok)
		mustContain(t, p, `action="/verify-email"`, "Verify my email address")

		p = b.login(email, goodPassword)
		if p.URL.Path != "/account" || p.Status != 200 {
			t.Fatalf("login ended on %s (%d)", p.URL, p.Status)
		}
		mustContain(t, p, email, "not verified", "Ada &lt;b&gt;Lovelace&lt;/b&gt;", "this browser")
		if strings.Contains(p.Body, "<b>Lovelace") {
			t.Fatal("the name was rendered unescaped")
		}

		p = b.submit(b.get("/verify-email?token="+tok), "/verify-email", vals("token", tok))
		mustContain(t, p, "Email address verified")
		if p = b.get("/account"); strings.Contains(p.Body, "not verified") {
			t.Fatal("the account still shows an unverified address")
		}
		// The link works once.
		p = b.submit(b.get("/verify-email?token="+tok), "/verify-email", vals("token", tok))
		if p.Status != 400 || !strings.Contains(errorText(p), "already used") {
			t.Fatalf("second verification: %d %q", p.Status, errorText(p))
		}
	})
}
