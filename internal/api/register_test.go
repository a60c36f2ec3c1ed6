package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

func TestRegisterAndVerifyEmail(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email := uniqueEmail("Reg")
		r := e.c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": "  " + email + " ", "password": goodPassword, "name": "Ada"}, "").Expect(t, 201)
		u := r.Body["user"].(map[string]any)
		if u["email"] != email || u["email_verified"] != false || u["name"] != "Ada" || u["mfa_enabled"] != false || u["id"] == "" {
			t.Fatalf("registered user = %v", u)
		}
		if _, err := time.Parse(time.RFC3339, u["created_at"].(string)); err != nil {
			t.Fatalf("created_at: %v", err)
		}
		// Taken, in any case.
		e.c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": strings.ToUpper(email), "password": goodPassword}, "").Expect(t, 409, "email_taken")

		msg := e.mail.WaitFor(t, email, "Verify your email")
		mustContain(t, msg.Subject, "Gatehouse")
		mustContain(t, msg.Text, e.srv.URL+"/verify-email?token=")
		mustContain(t, msg.HTML, "/verify-email?token=")
		tok := msg.Token()
		if len(tok) < 43 {
			t.Fatalf("verification token %q is too short", tok)
		}
		// Resend makes a new token and voids the first.
		e.c.Do(t, "POST", "/v1/auth/verify-email/resend", map[string]any{"email": email}, "").Expect(t, 202)
		second := e.mail.WaitNth(t, email, "Verify your email", 2).Token()
		if second == "" || second == tok {
			t.Fatal("resend sent the same token")
		}
		e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": tok}, "").Expect(t, 400, "invalid_token")
		v := e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": second}, "").Expect(t, 200)
		if v.Body["user"].(map[string]any)["email_verified"] != true {
			t.Fatalf("verify answered %s", v.Raw)
		}
		e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": second}, "").Expect(t, 400, "invalid_token")
		e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "").Expect(t, 400, "invalid_token")

		// Resend for a verified or unknown account: the same 202, and no mail.
		before := len(e.mail.Messages())
		e.c.Do(t, "POST", "/v1/auth/verify-email/resend", map[string]any{"email": email}, "").Expect(t, 202)
		e.c.Do(t, "POST", "/v1/auth/verify-email/resend", map[string]any{"email": uniqueEmail("nobody")}, "").Expect(t, 202)
		// Ordering, not a pause, shows nothing was sent: resend and forgot-password run on
		// one deferred worker in FIFO order, so once the reset mail queued after them
		// arrives and the outbox is empty, anything they enqueued has been delivered too.
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": email}, "").Expect(t, 202)
		e.mail.WaitFor(t, email, "Reset")
		waitOutboxEmpty(t, e)
		if got := e.mail.Messages()[before:]; len(got) != 1 || !got[0].IsTo(email) || !strings.Contains(got[0].Subject, "Reset") {
			for _, m := range got {
				t.Logf("sent to %v: %q", m.To, m.Subject)
			}
			t.Fatalf("%d messages sent, want only the reset mail: mail went out for a verified or an unknown address", len(got))
		}
		if n := metricValue(t, e, "gatehouse_deferred_dropped_total"); n != 0 {
			t.Fatalf("%v deferred tasks dropped: the resends may not have run", n)
		}
		tok2 := e.login(t, email, goodPassword)
		acts := e.auditActions(t, tok2.Access)
		for _, want := range []string{"user.registered", "user.verification.sent", "user.email_verified", "user.login.succeeded"} {
			if !contains(acts, want) {
				t.Errorf("audit lacks %s: %v", want, acts)
			}
		}
	})
}

func TestVerificationTokenExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		clock := testserver.NewClock()
		e := newEnv(t, db(t), testserver.WithApp(appClock(clock)))
		email := uniqueEmail("exp")
		e.register(t, email, goodPassword)
		tok := e.mail.WaitFor(t, email, "Verify").Token()
		clock.Advance(24*time.Hour + time.Second)
		e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": tok}, "").Expect(t, 400, "invalid_token")
	})
}

func TestRegisterRejectsBadInputAndWritesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_LIMIT_IP_PER_MINUTE", "1000"))
		email := uniqueEmail("bad")
		cases := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"malformed JSON", `{"email":`, 400, "bad_request", ""},
			{"not an object", `[1,2]`, 400, "bad_request", ""},
			{"unknown field", map[string]any{"email": email, "password": goodPassword, "admin": true}, 400, "bad_request", "admin"},
			{"wrong type", map[string]any{"email": email, "password": 12345678901234}, 400, "bad_request", "password"},
			{"two objects", `{"email":"a@b.co"}{"x":1}`, 400, "bad_request", ""},
			{"invalid UTF-8", "{\"email\":\"" + email + "\",\"password\":\"\xff\xfe bad bytes here\"}", 400, "bad_request", ""},
			{"NUL byte", `{"email":"` + email + `","password":"abc\u0000defghijklmnop"}`, 400, "bad_request", ""},
			{"empty body", "", 400, "bad_request", ""},
			{"missing email", map[string]any{"password": goodPassword}, 422, "validation_failed", "email"},
			{"invalid email", map[string]any{"email": "not-an-email", "password": goodPassword}, 422, "validation_failed", "email"},
			{"email with spaces", map[string]any{"email": "a b@example.com", "password": goodPassword}, 422, "validation_failed", "email"},
			{"huge email", map[string]any{"email": strings.Repeat("a", 300) + "@example.com", "password": goodPassword}, 422, "validation_failed", "email"},
			{"huge name", map[string]any{"email": email, "password": goodPassword, "name": strings.Repeat("n", 201)}, 422, "validation_failed", "name"},
			{"control in name", map[string]any{"email": email, "password": goodPassword, "name": "evil\r\nInjected: yes"}, 422, "validation_failed", "name"},
			{"short password", map[string]any{"email": email, "password": "short"}, 422, "weak_password", "password"},
			{"common password", map[string]any{"email": email, "password": "qwerty123456"}, 422, "weak_password", "password"},
			{"password with email", map[string]any{"email": email, "password": strings.Split(email, "@")[0] + "-and-more"}, 422, "weak_password", "password"},
			{"huge password", map[string]any{"email": email, "password": strings.Repeat("x", 100000)}, 422, "weak_password", "password"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.c.Do(t, "POST", "/v1/auth/register", tc.body, "").Expect(t, tc.status, tc.code)
				if tc.field != "" {
					errs, _ := r.Body["errors"].([]any)
					if len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field {
						t.Fatalf("errors = %v; want field %q", r.Body["errors"], tc.field)
					}
				}
				for _, leak := range []string{"sql", "SQL", "goroutine", ".go:", "json:"} {
					if strings.Contains(string(r.Raw), leak) {
						t.Fatalf("error body leaks internals (%q): %s", leak, r.Raw)
					}
				}
			})
		}
		// None of those wrote an account: the address is still free.
		e.register(t, email, goodPassword)
		if n := e.mail.Count(email); n > 1 {
			t.Fatalf("%d emails for one registration", n)
		}
	})
}

func TestInjectionLookingInputIsStoredVerbatim(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		name := `Robert'); DROP TABLE users;-- <script>alert(1)</script> ünï`
		email := "o'brien+" + strings.TrimSuffix(uniqueEmail("x"), "@example.com") + "@example.com"
		r := e.c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": email, "password": goodPassword, "name": name}, "").Expect(t, 201)
		if got := r.Body["user"].(map[string]any)["name"]; got != name {
			t.Fatalf("name = %q", got)
		}
		tok := e.login(t, email, goodPassword)
		me := e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200)
		if me.Str("name") != name || me.Str("email") != email {
			t.Fatalf("GET /v1/me = %s", me.Raw)
		}
	})
}

func TestUnsupportedContentTypeIs415(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	r := e.c.Send(t, mustRequest(t, "POST", e.srv.URL+"/v1/auth/register", "email=a@b.co", "application/x-www-form-urlencoded"))
	r.Expect(t, 415, "unsupported_media_type")
}

func TestEmailLinksUseTheConfiguredBase(t *testing.T) {
	e := newEnv(t, testdbSQLite(t), testserver.With("GATEHOUSE_EMAIL_LINK_BASE", "https://app.example.com/auth/"))
	email := uniqueEmail("links")
	e.register(t, email, goodPassword)
	msg := e.mail.WaitFor(t, email, "Verify")
	mustContain(t, msg.Text, "https://app.example.com/auth/verify-email?token="+msg.Token())
}
