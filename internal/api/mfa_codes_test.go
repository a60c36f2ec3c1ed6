package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/testutil/poll"
	"github.com/gatehouse-id/gatehouse/internal/testutil/smtptest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

func TestEmailAndSMSCodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t), testserver.WithApp(app.WithOutboxTiming(200*time.Millisecond, 50*time.Millisecond)), manyAttempts)
		// Email codes need a verified address.
		unverified := uniqueEmail("unv")
		e.register(t, unverified, goodPassword)
		e.c.Do(t, "POST", "/v1/me/mfa/email", firstFactor, e.login(t, unverified, goodPassword).Access).Expect(t, 403, "email_not_verified")

		u := e.verifiedUser(t, "codes")
		e.c.Do(t, "POST", "/v1/me/mfa/email", firstFactor, u.tok.Access).Expect(t, 204)
		// Further factor changes need a session that used a factor.
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": "+14155550123", "current_password": goodPassword}, u.tok.Access).Expect(t, 403, "forbidden")
		mt, methods := e.startLogin(t, u.email)
		if !slices.Equal(methods, []string{"email"}) {
			t.Fatalf("methods = %v", methods)
		}
		// Codes are sent only on request, and are bound to this login attempt.
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "email"}, "").Expect(t, 202)
		code := e.mail.WaitFor(t, u.email, "sign-in code").Code()
		other, _ := e.startLogin(t, u.email)
		e.verify(t, other, "email", code).Expect(t, 401, "invalid_code") // another attempt's code
		tok := e.verify(t, mt, "email", code).Expect(t, 200)
		if c := claimsOf(t, tok.Str("access_token")); !slices.Equal(strs(c["amr"]), []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("amr = %v", c["amr"])
		}
		access := tok.Str("access_token")

		// SMS: E.164 only; the number is confirmed by a code.
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": "4155550123", "current_password": goodPassword}, access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": "+14155550123", "current_password": goodPassword}, access).Expect(t, 202)
		enroll := e.sms.waitCode(t, "+14155550123", 1)
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": "000000"}, access).Expect(t, 401, "invalid_code")
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": enroll}, access).Expect(t, 204)
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": enroll}, access).Expect(t, 401, "invalid_code")
		// An enrollment code expires after 10 minutes.
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": "+14155550999", "current_password": goodPassword}, access).Expect(t, 202)
		stale := e.sms.waitCode(t, "+14155550999", 1)
		e.clock.Advance(10*time.Minute + time.Second)
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": stale}, access).Expect(t, 401, "invalid_code")
		st := e.c.Do(t, "GET", "/v1/me/mfa", nil, access).Expect(t, 200)
		sms := st.Body["sms"].(map[string]any)
		if sms["enabled"] != true || sms["phone"] != "+*********23" {
			t.Fatalf("sms status = %v", sms)
		}

		mt, methods = e.startLogin(t, u.email)
		if !slices.Equal(methods, []string{"email", "sms"}) {
			t.Fatalf("methods = %v", methods)
		}
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "sms"}, "").Expect(t, 202)
		first := e.sms.waitCode(t, "+14155550123", 2)
		// A newer code voids the older one.
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "sms"}, "").Expect(t, 202)
		second := e.sms.waitCode(t, "+14155550123", 3)
		if first != second {
			e.verify(t, mt, "sms", first).Expect(t, 401, "invalid_code")
		}
		// Resending is throttled.
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "sms"}, "").Expect(t, 202)
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "sms"}, "").Expect(t, 429, "rate_limited")
		latest := e.sms.waitCode(t, "+14155550123", 4)
		r := e.verify(t, mt, "sms", latest).Expect(t, 200)
		if c := claimsOf(t, r.Str("access_token")); !slices.Equal(strs(c["amr"]), []string{"pwd", "sms", "mfa"}) {
			t.Fatalf("amr = %v", c["amr"])
		}

		// A code does not outlive the login attempt it was sent for.
		mt, _ = e.startLogin(t, u.email)
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "sms"}, "").Expect(t, 202)
		late := e.sms.waitCode(t, "+14155550123", 5)
		e.clock.Advance(4 * time.Minute)
		e.verify(t, mt, "sms", "999999").Expect(t, 401, "invalid_code") // a wrong code is just wrong
		mt6, _ := e.startLogin(t, u.email)
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt6, "method": "sms"}, "").Expect(t, 202)
		code6 := e.sms.waitCode(t, "+14155550123", 6)
		e.clock.Advance(4*time.Minute + 59*time.Second)
		e.verify(t, mt6, "sms", code6).Expect(t, 200)                // just under 5 minutes: fine
		e.verify(t, mt, "sms", late).Expect(t, 401, "invalid_token") // 9 minutes on: its mfa_token is gone

		// A dead SMS gateway does not fail the request; the code arrives when it is back.
		e.sms.setDown(true)
		before := e.sms.countTo("+14155550123")
		mt7, _ := e.startLogin(t, u.email)
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt7, "method": "sms"}, "").Expect(t, 202)
		// The gateway comes back only once the outbox has recorded the failed attempt (and
		// scheduled the retry by the service's clock, which the Advance below must follow).
		poll.Until(t, 15*time.Second, "a failed SMS attempt waiting for its retry", func() bool {
			return testdb.QueryInt(t, e.srv.Config.DatabaseURL, `SELECT COUNT(*) FROM outbox
				WHERE channel = 'sms' AND recipient = $1 AND sent_at IS NULL AND NOT dead AND attempts > 0`, "+14155550123") > 0
		})
		e.sms.setDown(false)
		e.clock.Advance(time.Minute) // the service's clock: the retry falls due
		code7 := e.sms.waitCode(t, "+14155550123", before+1)
		e.verify(t, mt7, "sms", code7).Expect(t, 200)
	})
}

// No way in issues tokens to an account with a second factor without that factor.
func TestNoTokensWithoutSecondFactor(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "gate-owner", "gate")
		u := e.verifiedUser(t, "gate")
		e.join(t, owner, orgID, u, "member")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}, owner.tok.Access).Expect(t, 200)

		// Without a factor: told to enroll, at login and at refresh.
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 403, "mfa_enrollment_required")
		e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": u.tok.Refresh, "org_id": orgID}, "").Expect(t, 403, "mfa_enrollment_required")

		secret, _ := e.enrollTOTP(t, u)
		// Password only: no tokens by login (with or without org), and a password-only
		// session cannot switch into the org.
		mt, _ := e.startLogin(t, u.email, map[string]any{"org_id": orgID})
		e.startLogin(t, u.email)
		e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": u.tok.Refresh, "org_id": orgID}, "").Expect(t, 403, "forbidden")
		// A password reset gives no tokens either, and the next login still asks for the factor.
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": u.email}, "").Expect(t, 202)
		reset := e.mail.WaitFor(t, u.email, "Reset").Token()
		rr := e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": reset, "password": goodPassword + " again"}, "").Expect(t, 204)
		if len(rr.Raw) != 0 {
			t.Fatal("password reset returned a body")
		}
		r := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword + " again"}, "").Expect(t, 200)
		if r.Body["mfa_required"] != true {
			t.Fatal("after a reset, login skipped the second factor")
		}
		// With the factor, the org-scoped session is allowed and carries the org.
		e.clock.Advance(30 * time.Second)
		ok := e.verify(t, mt, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 200)
		if c := claimsOf(t, ok.Str("access_token")); c["org_id"] != orgID || !slices.Contains(strs(c["amr"]), "mfa") {
			t.Fatalf("claims = %v", c)
		}
	})
}

// Turning MFA on, by whichever factor, ends the user's other (password-only) sessions;
// the session that proved the factor stays.
func TestTurningMFAOnEndsOtherSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t), testserver.WithLocalhostIssuer())
		enable := map[string]func(u orgUser){
			"email": func(u orgUser) {
				e.c.Do(t, "POST", "/v1/me/mfa/email", firstFactor, u.tok.Access).Expect(t, 204)
			},
			"sms": func(u orgUser) {
				const phone = "+14155550177"
				e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": phone, "current_password": goodPassword}, u.tok.Access).Expect(t, 202)
				e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": e.sms.waitCode(t, phone, 1)}, u.tok.Access).Expect(t, 204)
			},
			"passkey": func(u orgUser) {
				newPasskey(e.env, u.id).register(t, e.env, u.tok.Access, "Key")
			},
		}
		for _, name := range []string{"email", "sms", "passkey"} {
			u := e.verifiedUser(t, "on-"+name)
			other := e.login(t, u.email, goodPassword) // another device, password only
			enable[name](u)
			if e.c.Do(t, "GET", "/v1/me", nil, u.tok.Access).Expect(t, 200).Body["mfa_enabled"] != true {
				t.Fatalf("%s: MFA is not on", name)
			}
			e.c.Do(t, "GET", "/v1/me", nil, other.Access).Expect(t, 401)
			e.refresh(t, other.Refresh).Expect(t, 401, "invalid_token")
			e.refresh(t, u.tok.Refresh).Expect(t, 200) // the session that enrolled stays
		}
	})
}

// waitNotice waits for a "Security change" email to addr whose text contains change.
func (e *env) waitNotice(t *testing.T, addr, change string) {
	t.Helper()
	e.mail.Wait(t, fmt.Sprintf("security notice to %s saying %q", addr, change), func(msgs []smtptest.Message) bool {
		return slices.ContainsFunc(msgs, func(m smtptest.Message) bool {
			return m.IsTo(addr) && strings.Contains(m.Subject, "Security change") && strings.Contains(m.Text, change)
		})
	})
}

// Starting an enrollment is a factor change too: the user is told by email.
func TestStartingEnrollmentNotifies(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		u := e.verifiedUser(t, "start-totp")
		e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, u.tok.Access).Expect(t, 200)
		e.waitNotice(t, u.email, "Setting up an authenticator app as a second factor was started")

		v := e.verifiedUser(t, "start-sms")
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": "+14155550188", "current_password": goodPassword}, v.tok.Access).Expect(t, 202)
		e.waitNotice(t, v.email, "Setting up text-message codes to +*********88 as a second factor was started")
	})
}

// An emailed or texted code allows a limited number of tries: the code of an SMS
// enrollment dies after 5 wrong ones, and so does the pending login of an email code.
func TestCodesAllowLimitedAttempts(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t), manyAttempts)
		const phone = "+14155550155"
		u := e.verifiedUser(t, "tries")
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": phone, "current_password": goodPassword}, u.tok.Access).Expect(t, 202)
		code := e.sms.waitCode(t, phone, 1)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 0; i < 5; i++ {
			e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": wrong}, u.tok.Access).Expect(t, 401, "invalid_code")
		}
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": code}, u.tok.Access).Expect(t, 401, "invalid_code")
		// A new code works.
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": phone, "current_password": goodPassword}, u.tok.Access).Expect(t, 202)
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": e.sms.waitCode(t, phone, 2)}, u.tok.Access).Expect(t, 204)

		// Email codes at login.
		v := e.verifiedUser(t, "tries-email")
		e.c.Do(t, "POST", "/v1/me/mfa/email", firstFactor, v.tok.Access).Expect(t, 204)
		mt, _ := e.startLogin(t, v.email)
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "email"}, "").Expect(t, 202)
		code = e.mail.WaitFor(t, v.email, "sign-in code").Code()
		wrong = "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 0; i < 5; i++ {
			e.verify(t, mt, "email", wrong).Expect(t, 401, "invalid_code")
		}
		e.verify(t, mt, "email", code).Expect(t, 401, "invalid_token")
	})
}
