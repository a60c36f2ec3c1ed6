package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// A flood of unauthenticated passkey begins, each of which stores a ceremony, meets the
// per-IP budget (20 a minute, shared with the other unauthenticated writes) instead of
// writing 570 rows a second; and the janitor brings the table back to empty once the
// ceremonies have expired.
func TestPasskeyBeginFloodIsBudgetedAndSwept(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		clock := testserver.NewClock()
		e := newEnv(t, db(t), testserver.WithApp(appClock(clock)))
		url := e.srv.Config.DatabaseURL
		floor := testdb.QueryInt(t, url, `SELECT COUNT(*) FROM webauthn_ceremonies`)
		ok := 0
		for range 30 {
			r := e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{}, "")
			if r.Status == 429 {
				r.Expect(t, 429, "rate_limited")
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				continue
			}
			r.Expect(t, 200)
			ok++
		}
		if ok != 20 {
			t.Fatalf("%d of 30 begins from one address were served; want 20", ok)
		}
		// The budget is shared with the other unauthenticated writes.
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": "a@example.com"}, "").Expect(t, 429, "rate_limited")
		if n := testdb.QueryInt(t, url, `SELECT COUNT(*) FROM webauthn_ceremonies`); n != floor+20 {
			t.Fatalf("%d ceremonies stored; want %d", n, floor+20)
		}
		clock.Advance(6 * time.Minute) // past the ceremonies' five minutes
		removed, err := e.srv.App.Janitor().Sweep(t.Context())
		if err != nil || removed[store.ExpiredCeremonies] != 20 {
			t.Fatalf("sweep removed %v, %v", removed, err)
		}
		if n := testdb.QueryInt(t, url, `SELECT COUNT(*) FROM webauthn_ceremonies`); n != floor {
			t.Fatalf("%d ceremonies after the sweep; want the floor %d", n, floor)
		}
		// The next minute has a fresh budget.
		e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{}, "").Expect(t, 200)
	})
}

// Per-IP budgets count an IPv6 client by its /64: fresh addresses of one subscriber's
// prefix do not make fresh budgets; another /64 has its own.
func TestIPv6ClientsAreCountedByTheirSlash64(t *testing.T) {
	e := newEnv(t, testdb.SQLiteURL(t), testserver.With("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1/32"))
	for i := range 20 {
		e.c.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": "a@example.com"}, "").Expect(t, 202)
	}
	e.c.Header.Set("X-Forwarded-For", "2001:db8:1:2:ffff:ffff:ffff:ffff")
	e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": "a@example.com"}, "").Expect(t, 429, "rate_limited")
	e.c.Header.Set("X-Forwarded-For", "2001:db8:1:3::1")
	e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": "a@example.com"}, "").Expect(t, 202)
}

// requestReset asks for a reset link and returns its token.
func (e *env) requestReset(t *testing.T, email string, nth int) string {
	t.Helper()
	e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": email}, "").Expect(t, 202)
	return e.mail.WaitNth(t, email, "Reset", nth).Token()
}

// A reset (or verification) link dies with the password it was meant to replace, and
// with the account's disabling: it does not set a password that takes effect when the
// account is enabled again (review finding).
func TestOneTimeTokensDieWithPasswordChangeResetAndDisable(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		const next = "another good passphrase here"

		// Password change.
		email, _, tok := e.newUser(t, "void-change")
		link := e.requestReset(t, email, 1)
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": next}, tok.Access).Expect(t, 204)
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": link, "password": "yet another passphrase"}, "").Expect(t, 400, "invalid_token")
		e.login(t, email, next)

		// Reset: the other open link (and the verification link) die with it.
		email, _, _ = e.newUser(t, "void-reset")
		verify := e.mail.WaitFor(t, email, "Verify").Token()
		first := e.requestReset(t, email, 1)
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": first, "password": next}, "").Expect(t, 204)
		e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": verify}, "").Expect(t, 400, "invalid_token")

		// Disabling: the link dies, and it could not be used while disabled either.
		email, id, _ := e.newUser(t, "void-disable")
		link = e.requestReset(t, email, 1)
		admins := &admin.Service{Store: e.srv.App.Store(), Audit: e.srv.App.AuditLog(), Now: time.Now}
		if _, err := admins.SetDisabled(t.Context(), "", id, true); err != nil {
			t.Fatal(err)
		}
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": link, "password": next}, "").Expect(t, 400, "invalid_token")
		if _, err := admins.SetDisabled(t.Context(), "", id, false); err != nil {
			t.Fatal(err)
		}
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": link, "password": next}, "").Expect(t, 400, "invalid_token")
		e.login(t, email, goodPassword) // the old password still holds

		// A link issued before the account was disabled, in a database edited behind the
		// service's back (the token left valid): a disabled account still cannot reset.
		email, id, _ = e.newUser(t, "disabled-reset")
		link = e.requestReset(t, email, 1)
		testdb.Exec(t, e.srv.Config.DatabaseURL, `UPDATE users SET disabled = TRUE WHERE id = $1`, id)
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": link, "password": next}, "").Expect(t, 400, "invalid_token")
	})
}

// Adding the first second factor needs the current password (a stolen access token,
// within minutes of the victim's sign-in, could otherwise enroll the attacker's TOTP):
// missing is 422, wrong is 401 (audited, and charged to the account's throttle).
func TestFirstFactorNeedsTheCurrentPassword(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		u := e.verifiedUser(t, "first")
		for path, body := range map[string]map[string]any{
			"/v1/me/mfa/totp":                {},
			"/v1/me/mfa/email":               {},
			"/v1/me/mfa/sms":                 {"phone": "+14155550123"},
			"/v1/me/webauthn/register/begin": {"name": "key"},
		} {
			r := e.c.Do(t, "POST", path, body, u.tok.Access).Expect(t, 422, "validation_failed")
			if errs := fmt.Sprint(r.Body["errors"]); !strings.Contains(errs, "current_password") {
				t.Fatalf("%s without current_password: %s", path, r.Raw)
			}
			body["current_password"] = "not the password at all"
			e.c.Do(t, "POST", path, body, u.tok.Access).Expect(t, 401, "invalid_credentials")
		}
		if !contains(e.auditActions(t, u.tok.Access), "user.reauth.failed") {
			t.Fatal("a wrong current password was not audited")
		}
		// Four wrong passwords so far, plus one: the account is throttled, for login too.
		e.c.Do(t, "POST", "/v1/me/mfa/totp", map[string]any{"current_password": "wrong again, five"}, u.tok.Access).Expect(t, 401, "invalid_credentials")
		e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, u.tok.Access).Expect(t, 429, "rate_limited")
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "").Expect(t, 429, "rate_limited")

		// With the right password it works, and with a factor enrolled it is not asked
		// for: the session must have used the factor instead.
		v := e.verifiedUser(t, "first-ok")
		secret, _ := e.enrollTOTP(t, v)
		mt, _ := e.startLogin(t, v.email)
		e.clock.Advance(30 * time.Second)
		access := e.verify(t, mt, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 200).Str("access_token")
		e.c.Do(t, "POST", "/v1/me/mfa/email", nil, access).Expect(t, 204)
	})
}

// A password reset tells the user which second factors the account has, so that one the
// user did not add is seen.
func TestResetNoticeListsTheFactors(t *testing.T) {
	e := newMFAEnv(t, testdb.SQLiteURL(t))
	u := e.verifiedUser(t, "notice")
	e.enrollTOTP(t, u)
	link := e.requestReset(t, u.email, 1)
	e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": link, "password": "a new passphrase entirely"}, "").Expect(t, 204)
	m := e.mail.WaitFor(t, u.email, "password was changed")
	if !strings.Contains(m.Text, "an authenticator app") || !strings.Contains(m.Text, "backup codes") || !strings.Contains(m.HTML, "an authenticator app") {
		t.Fatalf("the reset notice does not list the factors:\n%s", m.Text)
	}
	w := e.verifiedUser(t, "notice-none")
	link = e.requestReset(t, w.email, 1)
	e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": link, "password": "a new passphrase entirely"}, "").Expect(t, 204)
	if m := e.mail.WaitFor(t, w.email, "password was changed"); !strings.Contains(m.Text, "no second factor") {
		t.Fatalf("the notice of an account without factors:\n%s", m.Text)
	}
}

// Wrong codes and responses on the factor routes leave audit rows (review: they left
// none), each charged to the account's throttle, which bounds the rows.
func TestFailedFactorChangesAreAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t), manyAttempts)
		u := e.verifiedUser(t, "audit-fail")
		// TOTP confirmation.
		e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, u.tok.Access).Expect(t, 200)
		e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": "000000"}, u.tok.Access).Expect(t, 401, "invalid_code")
		// SMS confirmation.
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": "+14155550142", "current_password": goodPassword}, u.tok.Access).Expect(t, 202)
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": "000000"}, u.tok.Access).Expect(t, 401, "invalid_code")
		// Passkey registration with an unknown ceremony.
		e.c.Do(t, "POST", "/v1/me/webauthn/register/finish", map[string]any{"challenge_id": "0193a0c4-0000-7000-8000-000000000000",
			"credential": map[string]any{"id": "x"}}, u.tok.Access).Expect(t, 400, "bad_request")
		// TOTP removal.
		v := e.verifiedUser(t, "audit-fail-2")
		e.enrollTOTP(t, v)
		e.c.Do(t, "DELETE", "/v1/me/mfa/totp", map[string]any{"code": "000000"}, v.tok.Access).Expect(t, 401, "invalid_code")

		want := map[string]string{"mfa.totp.enabled": u.id, "mfa.sms.enabled": u.id, "mfa.webauthn.added": u.id, "mfa.totp.disabled": v.id}
		for action, who := range want {
			events, _ := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{Action: action, ActorID: who, Limit: 10})
			failed := 0
			for _, ev := range events {
				if ev.Outcome == "failure" {
					failed++
				}
			}
			if failed != 1 {
				t.Errorf("%s: %d failure events, want 1 (%+v)", action, failed, events)
			}
		}
	})
}

// A body a cross-site HTML form could send (text/plain, form encoding, or no type) is
// refused with 415 before anything happens.
func TestBodiesMustBeDeclaredJSON(t *testing.T) {
	e := newEnv(t, testdb.SQLiteURL(t))
	body := `{"email":"csrf@example.com","password":"correct horse battery staple"}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		req, err := http.NewRequestWithContext(t.Context(), "POST", e.srv.URL+"/v1/auth/register", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		e.c.Send(t, req).Expect(t, 415, "unsupported_media_type")
	}
	e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": "csrf@example.com", "password": goodPassword}, "").Expect(t, 401, "invalid_credentials")
}
