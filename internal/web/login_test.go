package web_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestWrongPasswordAndUnknownEmailLookAlikeThenThrottle(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		e := newEnv(t, dbURL(t))
		b := e.browser(t)
		email := uniqueEmail("throttle")
		e.register(t, b, email, "")

		wrong := b.login(email, "not the password at all")
		unknown := b.login(uniqueEmail("nobody"), "not the password at all")
		if wrong.Status != 401 || unknown.Status != wrong.Status || errorText(wrong) == "" || errorText(wrong) != errorText(unknown) {
			t.Fatalf("wrong password: %d %q; unknown email: %d %q", wrong.Status, errorText(wrong), unknown.Status, errorText(unknown))
		}
		if strings.Contains(wrong.Body, "not the password") {
			t.Fatal("the page shows the typed password again")
		}
		for i := 2; i <= 5; i++ { // failures 2 to 5 of the account
			if p := b.login(email, "still not the password"); p.Status != 401 {
				t.Fatalf("failure %d: %d", i, p.Status)
			}
		}
		p := b.login(email, goodPassword) // the 6th attempt: throttled, even with the right password
		retry, _ := strconv.Atoi(p.Header.Get("Retry-After"))
		if p.Status != 429 || retry < 1 || !strings.Contains(errorText(p), "try again") {
			t.Fatalf("6th attempt: %d Retry-After %q %q", p.Status, p.Header.Get("Retry-After"), errorText(p))
		}
		if b.cookie("gatehouse_session") != "" {
			t.Fatal("a throttled sign-in set a session cookie")
		}
	})
}

func TestCSRFAndOriginRefused(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	b := e.browser(t)
	email := uniqueEmail("csrf")
	e.register(t, b, email, "")
	login := b.get("/login")
	tok := csrfOf(t, login)
	creds := func(csrf string) url.Values {
		v := vals("email", email, "password", goodPassword)
		if csrf != "" {
			v.Set("csrf_token", csrf)
		}
		return v
	}
	for name, p := range map[string]*page{
		"missing token":           b.postRaw("/login", creds(""), false),
		"wrong token":             b.postRaw("/login", creds(strings.Repeat("A", 43)), false),
		"foreign origin":          b.postRaw("/login", creds(tok), false, "Origin", "https://evil.example"),
		"null origin, cross-site": b.postRaw("/login", creds(tok), false, "Origin", "null", "Sec-Fetch-Site", "cross-site"),
		"null origin, same-site":  b.postRaw("/login", creds(tok), false, "Origin", "null", "Sec-Fetch-Site", "same-site"),
		"cross-site":              b.postRaw("/login", creds(tok), false, "Sec-Fetch-Site", "cross-site"),
	} {
		if p.Status != 403 || !strings.Contains(p.Body, "did not come from this site") || b.cookie("gatehouse_session") != "" {
			t.Errorf("%s: %d %q", name, p.Status, errorText(p))
		}
	}
	// Without the CSRF cookie (another browser), the token alone is refused too.
	other := e.browser(t)
	if p := other.postRaw("/login", creds(tok), false); p.Status != 403 {
		t.Errorf("token without its cookie: %d", p.Status)
	}
	// A passkey step takes the token in a header, by the same rules.
	if p := b.postRaw("/login/passkey/begin", nil, false, "Content-Type", "application/json"); p.Status != 403 {
		t.Errorf("passkey begin without the header: %d %s", p.Status, p.Body)
	}
	// What a browser sends from our own page signs in: our Origin, or (the pages send no
	// referrer, so browsers say "Origin: null") a null one with Sec-Fetch-Site: same-origin.
	if p := b.postRaw("/login", creds(tok), true, "Origin", "null", "Sec-Fetch-Site", "same-origin"); p.URL.Path != "/account" {
		t.Fatalf("same-origin sign-in with a null Origin ended on %s (%d)", p.URL, p.Status)
	}
	b.submit(b.get("/logout"), "/logout", vals())
	if p := b.postRaw("/login", creds(tok), true, "Origin", e.srv.Config.Issuer); p.URL.Path != "/account" {
		t.Fatalf("same-origin sign-in ended on %s (%d)", p.URL, p.Status)
	}
}

func TestSignInWithTOTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		e := newEnv(t, dbURL(t))
		b := e.browser(t)
		email := e.signedUp(t, b, "totp")

		acct := b.get("/account")
		p := b.submit(acct, "/account/totp", vals()) // the first factor needs the password
		if p.Status != 422 || !strings.Contains(errorText(p), "current password") {
			t.Fatalf("enroll without the password: %d %q", p.Status, errorText(p))
		}
		p = b.submit(acct, "/account/totp", vals("current_password", goodPassword))
		mustContain(t, p, `src="data:image/png;base64,`, `id="totp-secret"`)
		if p.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the secret's page may be cached: %q", p.Header.Get("Cache-Control"))
		}
		secret := between(p.Body, `id="totp-secret">`, "<")
		if p2 := b.submit(p, "/account/totp/confirm", vals("code", "000000")); p2.Status != 401 || !strings.Contains(errorText(p2), "not right") {
			t.Fatalf("wrong confirmation code: %d %q", p2.Status, errorText(p2))
		}
		code, _ := totp.GenerateCode(secret, time.Now())
		p = b.submit(p, "/account/totp/confirm", vals("code", code))
		mustContain(t, p, `id="backup-codes"`)

		p = b.submit(b.get("/logout"), "/logout", vals())
		mustContain(t, p, "You are signed out")
		p = b.login(email, goodPassword)
		if p.URL.Path != "/login/mfa" {
			t.Fatalf("sign-in with TOTP ended on %s", p.URL)
		}
		mustContain(t, p, `name="method" value="totp"`, `name="code"`, `name="method" value="backup_code"`)
		if b.cookie("gatehouse_session") != "" {
			t.Fatal("a session cookie before the second step")
		}
		if bad := b.submit(p, "/login/mfa", vals("method", "totp", "code", "123456")); bad.Status != 401 || !strings.Contains(errorText(bad), "not right") {
			t.Fatalf("wrong code: %d %q", bad.Status, errorText(bad))
		}
		code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // the step after the one used to confirm
		p = b.submit(p, "/login/mfa", vals("method", "totp", "code", code))
		if p.URL.Path != "/account" {
			t.Fatalf("the second step ended on %s (%d): %q", p.URL, p.Status, errorText(p))
		}
		mustContain(t, p, email, "Remove the authenticator app")
	})
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(after, to)
	return strings.TrimSpace(v)
}
