package web_test

import (
	"strings"
	"testing"
)

func TestEmailCodeSentOnlyWhenChosen(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	b := e.browser(t)
	email := uniqueEmail("mail")
	tok := e.register(t, b, email, "")
	b.submit(b.get("/verify-email?token="+tok), "/verify-email", vals("token", tok))
	if p := b.login(email, goodPassword); p.URL.Path != "/account" {
		t.Fatalf("sign-in ended on %s", p.URL)
	}
	p := b.submit(b.get("/account"), "/account/email", vals("current_password", goodPassword))
	mustContain(t, p, "Codes by email are on.")
	b.submit(b.get("/logout"), "/logout", vals())

	p = b.login(email, goodPassword)
	if p.URL.Path != "/login/mfa" {
		t.Fatalf("sign-in ended on %s", p.URL)
	}
	mustContain(t, p, `name="action" value="send"`, "Send me a code (Code by email)")
	if n := len(e.mail.Matching(email, "sign-in code")); n != 0 {
		t.Fatalf("%d codes mailed before the user asked", n)
	}
	p = b.submit(p, "/login/mfa", vals("method", "email", "action", "send"))
	mustContain(t, p, "We sent you a code by email")
	code := e.mail.WaitFor(t, email, "sign-in code").Code()
	if bad := b.submit(p, "/login/mfa", vals("method", "sms", "code", code)); bad.Status != 422 {
		t.Fatalf("a method the user does not have: %d %q", bad.Status, errorText(bad))
	}
	p = b.submit(p, "/login/mfa", vals("method", "email", "code", code))
	if p.URL.Path != "/account" || !strings.Contains(p.Body, email) {
		t.Fatalf("the email code ended on %s (%d) %q", p.URL, p.Status, errorText(p))
	}
}
