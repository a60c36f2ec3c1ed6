package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

func TestProfile(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email, id, tok := e.newUser(t, "profile")
		me := e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200)
		if me.Str("id") != id || me.Str("email") != email || me.Str("name") != "Test User" {
			t.Fatalf("GET /v1/me = %s", me.Raw)
		}
		p := e.c.Do(t, "PATCH", "/v1/me", map[string]any{"name": "Grace Hopper"}, tok.Access).Expect(t, 200)
		if p.Str("name") != "Grace Hopper" || p.Str("email") != email {
			t.Fatalf("PATCH /v1/me = %s", p.Raw)
		}
		// Mass assignment is refused: email and verification are not the profile's to set.
		e.c.Do(t, "PATCH", "/v1/me", map[string]any{"email_verified": true}, tok.Access).Expect(t, 400, "bad_request")
		e.c.Do(t, "PATCH", "/v1/me", map[string]any{"name": strings.Repeat("x", 201)}, tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "PATCH", "/v1/me", map[string]any{"name": 5}, tok.Access).Expect(t, 400, "bad_request")
		if got := e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200).Str("name"); got != "Grace Hopper" {
			t.Fatalf("name after refused updates = %q", got)
		}
		if !contains(e.auditActions(t, tok.Access), "user.updated") {
			t.Fatal("profile change not audited")
		}
	})
}

func TestChangePassword(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email, _, tok := e.newUser(t, "change")
		other := e.login(t, email, goodPassword)
		newPw := "a brand new passphrase"
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": "wrong wrong wrong", "new_password": newPw}, tok.Access).
			Expect(t, 401, "invalid_credentials")
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": "password1234"}, tok.Access).
			Expect(t, 422, "weak_password")
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": goodPassword}, tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": newPw}, tok.Access).Expect(t, 204)

		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200) // this session stays
		e.refresh(t, tok.Refresh).Expect(t, 200)
		e.c.Do(t, "GET", "/v1/me", nil, other.Access).Expect(t, 401) // every other one ends
		e.refresh(t, other.Refresh).Expect(t, 401, "invalid_token")
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": goodPassword}, "").Expect(t, 401, "invalid_credentials")
		e.login(t, email, newPw)
		e.mail.WaitFor(t, email, "password was changed")
	})
}

func TestPasswordReset(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email, _, tok := e.newUser(t, "reset")
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": strings.ToUpper(email)}, "").Expect(t, 202)
		msg := e.mail.WaitFor(t, email, "Reset your")
		mustContain(t, msg.Text, e.srv.URL+"/password/reset?token=")
		reset := msg.Token()

		// A weak password is refused without using up the token.
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": reset, "password": "123456789012"}, "").Expect(t, 422, "weak_password")
		newPw := "the reset passphrase works"
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": reset, "password": newPw}, "").Expect(t, 204)
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": reset, "password": newPw + "!"}, "").Expect(t, 400, "invalid_token")

		// Every session ended; the old password is gone.
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 401)
		e.refresh(t, tok.Refresh).Expect(t, 401, "invalid_token")
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": goodPassword}, "").Expect(t, 401)
		after := e.login(t, email, newPw)
		e.mail.WaitFor(t, email, "password was changed")
		acts := e.auditActions(t, after.Access)
		for _, want := range []string{"user.password.reset_requested", "user.password.reset", "session.revoked"} {
			if !contains(acts, want) {
				t.Errorf("audit lacks %s: %v", want, acts)
			}
		}
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": "", "password": newPw}, "").Expect(t, 422, "validation_failed")
	})
}

func TestResetTokensExpireAndNewerVoidsOlder(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		clock := testserver.NewClock()
		e := newEnv(t, db(t), testserver.WithApp(appClock(clock)))
		email := uniqueEmail("resetexp")
		e.register(t, email, goodPassword)
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": email}, "").Expect(t, 202)
		first := e.mail.WaitNth(t, email, "Reset", 1).Token()
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": email}, "").Expect(t, 202)
		second := e.mail.WaitNth(t, email, "Reset", 2).Token()
		if second == "" || second == first {
			t.Fatalf("the second reset mail carries token %q, the first %q", second, first)
		}
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": first, "password": "another fine passphrase"}, "").Expect(t, 400, "invalid_token")
		clock.Advance(61 * time.Minute)
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": second, "password": "another fine passphrase"}, "").Expect(t, 400, "invalid_token")
	})
}

func TestMyAuditPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email, _, tok := e.newUser(t, "audit")
		for i := 0; i < 3; i++ {
			e.login(t, email, goodPassword)
		}
		_, _, stranger := e.newUser(t, "audit-stranger")
		all := e.auditActions(t, tok.Access)
		if len(all) != 5 || all[len(all)-1] != "user.registered" { // registered + 4 logins
			t.Fatalf("audit = %v", all)
		}
		p1 := e.c.Do(t, "GET", "/v1/me/audit?limit=2", nil, tok.Access).Expect(t, 200)
		cur := p1.Body["next_cursor"].(string)
		p2 := e.c.Do(t, "GET", "/v1/me/audit?limit=10&cursor="+cur, nil, tok.Access).Expect(t, 200)
		if len(p2.Body["items"].([]any)) != 3 || p2.Body["next_cursor"] != nil {
			t.Fatalf("second page: %s", p2.Raw)
		}
		ev := p1.Body["items"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "time", "action", "actor_id", "org_id", "target_type", "target_id", "ip", "user_agent", "request_id", "outcome", "details"} {
			if _, ok := ev[k]; !ok {
				t.Fatalf("audit event lacks %q: %v", k, ev)
			}
		}
		if ev["ip"] != "127.0.0.1" || ev["request_id"] == nil || ev["outcome"] != "success" {
			t.Fatalf("event = %v", ev)
		}
		// Nobody sees another user's events.
		for _, a := range e.auditActions(t, stranger.Access) {
			if a != "user.registered" && a != "user.login.succeeded" {
				t.Fatalf("stranger sees %s", a)
			}
		}
		e.c.Do(t, "GET", "/v1/me/audit?cursor=abc", nil, tok.Access).Expect(t, 422, "validation_failed")
	})
}

// GET /v1/me shows a change made through this replica at once, whatever it cached.
func TestMeReflectsChangesAtOnce(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	email := uniqueEmail("fresh")
	e.register(t, email, goodPassword)
	tok := e.login(t, email, goodPassword)
	if e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200).Body["email_verified"] != false {
		t.Fatal("verified too early")
	}
	verify := e.mail.WaitFor(t, email, "Verify").Token()
	e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": verify}, "").Expect(t, 200)
	if e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200).Body["email_verified"] != true {
		t.Fatal("GET /v1/me served a stale user after verification")
	}
}
