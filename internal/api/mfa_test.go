package api_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// mfaEnv is a server on a settable clock, with mail and SMS listeners.
type mfaEnv struct {
	*env
	clock *testserver.Clock
	sms   *smsHook
}

// manyAttempts raises the account's login throttle, for tests of the per-code and
// per-challenge limits that lie beneath it.
var manyAttempts = testserver.With("GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", "100")

func newMFAEnv(t *testing.T, db string, opts ...testserver.Option) *mfaEnv {
	clock := testserver.NewClock()
	sms := newSMSHook(t)
	opts = append([]testserver.Option{testserver.WithApp(appClock(clock)), testserver.With("GATEHOUSE_SMS_WEBHOOK_URL", sms.srv.URL)}, opts...)
	return &mfaEnv{env: newEnv(t, db, opts...), clock: clock, sms: sms}
}

// enrollTOTP turns TOTP on for the session and returns the secret and backup codes.
func (e *mfaEnv) enrollTOTP(t *testing.T, u orgUser) (string, []string) {
	t.Helper()
	r := e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, u.tok.Access).Expect(t, 200)
	secret := r.Str("secret")
	conf := e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, u.tok.Access).Expect(t, 200)
	return secret, strs(conf.Body["backup_codes"])
}

func (e *mfaEnv) startLogin(t *testing.T, email string, extra ...map[string]any) (string, []string) {
	t.Helper()
	body := map[string]any{"email": email, "password": goodPassword}
	for _, x := range extra {
		for k, v := range x {
			body[k] = v
		}
	}
	r := e.c.Do(t, "POST", "/v1/auth/login", body, "").Expect(t, 200)
	if r.Body["mfa_required"] != true || r.Str("access_token") != "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login of an MFA account answered %s", r.Raw)
	}
	if r.Body["expires_in"] != float64(300) {
		t.Fatalf("mfa_token expires_in = %v, want 300", r.Body["expires_in"])
	}
	return r.Str("mfa_token"), strs(r.Body["mfa_methods"])
}

func (e *mfaEnv) verify(t *testing.T, mfaToken, method, code string) *apitest.Response {
	t.Helper()
	return e.c.Do(t, "POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": mfaToken, "method": method, "code": code}, "")
}

func TestTOTPAndBackupCodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		u := e.verifiedUser(t, "totp")
		other := e.login(t, u.email, goodPassword) // another device, pwd only

		// Enrollment: secret, otpauth URL and a QR code.
		r := e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, u.tok.Access).Expect(t, 200)
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatal("the TOTP secret is cacheable")
		}
		secret := r.Str("secret")
		otpURL, err := url.Parse(r.Str("otpauth_url"))
		if err != nil || otpURL.Scheme != "otpauth" || otpURL.Host != "totp" || otpURL.Query().Get("issuer") != "Gatehouse" ||
			otpURL.Query().Get("secret") != secret || !strings.Contains(otpURL.Path, u.email) {
			t.Fatalf("otpauth_url = %s", r.Str("otpauth_url"))
		}
		img, _ := base64.StdEncoding.DecodeString(r.Str("qr_png"))
		if _, err := png.Decode(bytes.NewReader(img)); err != nil {
			t.Fatalf("qr_png is not a PNG: %v", err)
		}
		// The secret is encrypted at rest.
		if row, err := e.srv.App.Store().TOTPByUser(t.Context(), u.id); err != nil || bytes.Contains(row.SecretEnc, []byte(secret)) {
			t.Fatal("the TOTP secret is stored in clear")
		}
		e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": "000000"}, u.tok.Access).Expect(t, 401, "invalid_code")
		conf := e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, u.tok.Access).Expect(t, 200)
		backup := strs(conf.Body["backup_codes"])
		if len(backup) != 10 {
			t.Fatalf("backup codes = %v", backup)
		}
		for _, c := range backup {
			if n := len(strings.ReplaceAll(c, "-", "")); n < 10 || strings.ContainsAny(c, "01ilo") {
				t.Fatalf("backup code %q: %d characters or an ambiguous one", c, n)
			}
		}
		st := e.c.Do(t, "GET", "/v1/me/mfa", nil, u.tok.Access).Expect(t, 200)
		if st.Body["totp"].(map[string]any)["enabled"] != true || st.Body["backup_codes"].(map[string]any)["remaining"] != float64(10) {
			t.Fatalf("GET /v1/me/mfa = %s", st.Raw)
		}
		if e.c.Do(t, "GET", "/v1/me", nil, u.tok.Access).Expect(t, 200).Body["mfa_enabled"] != true {
			t.Fatal("mfa_enabled is false")
		}
		// Turning MFA on ended the other, password-only session.
		e.c.Do(t, "GET", "/v1/me", nil, other.Access).Expect(t, 401)
		e.refresh(t, other.Refresh).Expect(t, 401, "invalid_token")
		e.mail.WaitFor(t, u.email, "Security change")

		// Login now stops at the second factor.
		mt, methods := e.startLogin(t, u.email)
		if !slices.Equal(methods, []string{"totp", "backup_code"}) {
			t.Fatalf("mfa_methods = %v", methods)
		}
		// The mfa_token is good for nothing but /v1/auth/mfa/*.
		e.c.Do(t, "GET", "/v1/me", nil, mt).Expect(t, 401, "unauthorized")
		e.refresh(t, mt).Expect(t, 401, "invalid_token")
		e.verify(t, mt, "totp", "123456").Expect(t, 401, "invalid_code")
		e.clock.Advance(30 * time.Second)
		code := rfc6238(t, secret, e.clock.Now())
		ok := e.verify(t, mt, "totp", code).Expect(t, 200)
		if c := claimsOf(t, ok.Str("access_token")); !slices.Equal(strs(c["amr"]), []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("amr = %v", c["amr"])
		}
		e.verify(t, mt, "totp", code).Expect(t, 401, "invalid_token") // the token is spent

		// The same code is refused for the rest of its window (no replay).
		mt2, _ := e.startLogin(t, u.email)
		e.verify(t, mt2, "totp", code).Expect(t, 401, "invalid_code")
		// Only ±1 step: a code two steps old is refused; the previous step's code is fine
		// once the current one has not been used.
		e.clock.Advance(90 * time.Second)
		e.verify(t, mt2, "totp", rfc6238(t, secret, e.clock.Now().Add(-60*time.Second))).Expect(t, 401, "invalid_code")
		e.verify(t, mt2, "totp", rfc6238(t, secret, e.clock.Now().Add(-30*time.Second))).Expect(t, 200)

		// Backup codes: each works once, with or without the dash.
		mt3, _ := e.startLogin(t, u.email)
		e.verify(t, mt3, "backup_code", strings.ToUpper(strings.ReplaceAll(backup[0], "-", ""))).Expect(t, 200)
		mt4, _ := e.startLogin(t, u.email)
		e.verify(t, mt4, "backup_code", backup[0]).Expect(t, 401, "invalid_code")
		// Regenerating needs a session that used a second factor, and voids the old set.
		e.c.Do(t, "POST", "/v1/me/mfa/backup-codes", nil, u.tok.Access).Expect(t, 403, "forbidden")
		mfaSession := e.verify(t, mt4, "backup_code", backup[1]).Expect(t, 200).Str("access_token")
		fresh := strs(e.c.Do(t, "POST", "/v1/me/mfa/backup-codes", nil, mfaSession).Expect(t, 200).Body["backup_codes"])
		mt5, _ := e.startLogin(t, u.email)
		e.verify(t, mt5, "backup_code", backup[2]).Expect(t, 401, "invalid_code")
		if len(fresh) != 10 {
			t.Fatal("regeneration returned no codes")
		}

		// Disabling TOTP needs a current code; removing the last factor turns MFA off.
		e.c.Do(t, "DELETE", "/v1/me/mfa/totp", map[string]any{"code": "000000"}, mfaSession).Expect(t, 401, "invalid_code")
		e.clock.Advance(30 * time.Second)
		e.c.Do(t, "DELETE", "/v1/me/mfa/totp", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, mfaSession).Expect(t, 204)
		if e.c.Do(t, "GET", "/v1/me", nil, mfaSession).Expect(t, 200).Body["mfa_enabled"] != false {
			t.Fatal("MFA still on without factors")
		}
		e.login(t, u.email, goodPassword) // plain tokens again
		acts := e.auditActions(t, mfaSession)
		for _, want := range []string{"mfa.totp.enrolled", "mfa.totp.enabled", "user.login.mfa_required", "user.login.mfa_failed",
			"mfa.backup_code.used", "mfa.backup_codes.regenerated", "mfa.totp.disabled", "mfa.disabled"} {
			if !slices.Contains(acts, want) {
				t.Errorf("audit lacks %s", want)
			}
		}
	})
}

func TestMFATokenLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t), manyAttempts)
		u := e.verifiedUser(t, "limits")
		secret, _ := e.enrollTOTP(t, u)

		// The 5th wrong code kills the token: even the right code then fails.
		mt, _ := e.startLogin(t, u.email)
		for i := 0; i < 5; i++ {
			e.verify(t, mt, "totp", "11111"+string(rune('0'+i))).Expect(t, 401, "invalid_code")
		}
		e.clock.Advance(30 * time.Second)
		e.verify(t, mt, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 401, "invalid_token")

		// It expires after 5 minutes.
		mt, _ = e.startLogin(t, u.email)
		e.clock.Advance(5*time.Minute + time.Second)
		e.verify(t, mt, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 401, "invalid_token")

		// A method the user does not have is a wrong code, and bad input is refused.
		mt, _ = e.startLogin(t, u.email)
		e.verify(t, mt, "sms", "123456").Expect(t, 401, "invalid_code")
		e.verify(t, mt, "carrier-pigeon", "123456").Expect(t, 422, "validation_failed")
		e.verify(t, "not-a-token", "totp", "123456").Expect(t, 401, "invalid_token")
		e.c.Do(t, "POST", "/v1/auth/mfa/challenge", map[string]any{"mfa_token": mt, "method": "sms"}, "").Expect(t, 409, "conflict")
	})
}

// Wrong codes count against the account like wrong passwords, so fresh mfa_tokens do
// not give an attacker who knows the password more guesses: each attempt is charged
// before its code is checked, and once the account is throttled no code is checked.
func TestWrongCodesThrottleTheAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		u := e.verifiedUser(t, "guess")
		secret, _ := e.enrollTOTP(t, u)
		// Each password login and each code counts: 5 in 15 minutes, then 429.
		checked := 0
		for round := 0; round < 5; round++ {
			r := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "")
			if r.Status == 429 {
				break
			}
			r.Expect(t, 200)
			v := e.verify(t, r.Str("mfa_token"), "totp", "00000"+string(rune('0'+round)))
			if v.Status == 429 {
				break
			}
			v.Expect(t, 401, "invalid_code")
			checked++
		}
		if checked != 2 {
			t.Fatalf("%d wrong codes were checked, want 2 (logins and codes together count 5)", checked)
		}
		// After the window the right factor works, and success clears the count.
		e.clock.Advance(15*time.Minute + time.Second)
		mt, _ := e.startLogin(t, u.email)
		e.verify(t, mt, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 200)
		for i := 0; i < 4; i++ {
			e.startLogin(t, u.email) // the count starts again from zero
		}
	})
}

// The review's finding: with the password, an attacker opened five mfa_tokens and
// guessed five codes with each (25 guesses). Now the five logins use the account's
// budget, and every guess after them is refused before its code is checked.
func TestFiveMFATokensDoNotGiveTwentyFiveGuesses(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		u := e.verifiedUser(t, "five")
		secret, _ := e.enrollTOTP(t, u)
		var tokens []string
		for range 5 {
			mt, _ := e.startLogin(t, u.email)
			tokens = append(tokens, mt)
		}
		for i, mt := range tokens {
			for j := range 5 {
				code := "00000" + string(rune('0'+j))
				if i == 4 && j == 4 {
					code = rfc6238(t, secret, e.clock.Now()) // even the right code
				}
				e.verify(t, mt, "totp", code).Expect(t, 429, "rate_limited")
			}
		}
	})
}

// Twenty concurrent guesses on one mfa_token: the count is atomic, so no more than five
// codes are ever checked (on PostgreSQL it once recorded 44 failures against 5). With
// the account's own throttle out of the way the challenge counts exactly five and dies;
// with it, the account stops the guesses sooner.
func TestConcurrentGuessesAreCountedAtomically(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		for _, c := range []struct {
			name            string
			opts            []testserver.Option
			checked, others int
			other           string
		}{
			{"challenge limit", []testserver.Option{manyAttempts}, 5, 15, "invalid_token"},
			{"account throttle", nil, 4, 16, "rate_limited"}, // the login took one of five
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newMFAEnv(t, db(t), c.opts...)
				u := e.verifiedUser(t, "race")
				e.enrollTOTP(t, u)
				mt, _ := e.startLogin(t, u.email)
				var wg sync.WaitGroup
				var mu sync.Mutex
				codes := map[string]int{}
				for i := range 20 {
					wg.Go(func() {
						r := e.c.Do(t, "POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": mt, "method": "totp",
							"code": fmt.Sprintf("%06d", 100000+i)}, "")
						mu.Lock()
						codes[r.Code()]++
						mu.Unlock()
					})
				}
				wg.Wait()
				if codes["invalid_code"] != c.checked || codes[c.other] != c.others {
					t.Fatalf("answers %v; want %d invalid_code and %d %s", codes, c.checked, c.others, c.other)
				}
				failures := testdb.QueryInt(t, e.srv.Config.DatabaseURL, `SELECT MAX(failures) FROM mfa_challenges`)
				if failures != c.checked {
					t.Fatalf("the challenge recorded %d failures; want %d", failures, c.checked)
				}
			})
		}
	})
}

// Wrong TOTP codes on the account routes count against the account's login throttle
// like those of mfa/verify: a stolen session does not get unlimited guesses.
func TestAccountRoutesThrottleTOTPGuesses(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		wrong := func(i int) string { return "00000" + string(rune('0'+i)) }

		// Removing TOTP takes a current code: 5 wrong ones, then 429 even for the right one.
		u := e.verifiedUser(t, "del-guess")
		secret, _ := e.enrollTOTP(t, u)
		for i := 0; i < 5; i++ {
			e.c.Do(t, "DELETE", "/v1/me/mfa/totp", map[string]any{"code": wrong(i)}, u.tok.Access).Expect(t, 401, "invalid_code")
		}
		e.clock.Advance(30 * time.Second)
		r := e.c.Do(t, "DELETE", "/v1/me/mfa/totp", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, u.tok.Access).Expect(t, 429, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		// It is the account's login throttle.
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "").Expect(t, 429, "rate_limited")
		e.clock.Advance(15*time.Minute + time.Second) // the window ends (and the access token with it)
		access := e.refresh(t, u.tok.Refresh).Expect(t, 200).Str("access_token")
		e.c.Do(t, "DELETE", "/v1/me/mfa/totp", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, access).Expect(t, 204)

		// Confirming an enrollment counts the same way.
		v := e.verifiedUser(t, "confirm-guess")
		secret = e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, v.tok.Access).Expect(t, 200).Str("secret")
		for i := 0; i < 5; i++ {
			e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": wrong(i)}, v.tok.Access).Expect(t, 401, "invalid_code")
		}
		r = e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, v.tok.Access).Expect(t, 429, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		e.clock.Advance(15*time.Minute + time.Second)
		access = e.refresh(t, v.tok.Refresh).Expect(t, 200).Str("access_token")
		e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, access).Expect(t, 200)

		// A right code does not wipe the count: a session that enrolled its own TOTP
		// cannot clear the throttle between password guesses.
		w := e.verifiedUser(t, "wipe-guess")
		secret = e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, w.tok.Access).Expect(t, 200).Str("secret")
		for i := 0; i < 4; i++ {
			e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": "a wrong guess " + wrong(i), "new_password": "another passphrase here"}, w.tok.Access).
				Expect(t, 401, "invalid_credentials")
		}
		e.c.Do(t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": rfc6238(t, secret, e.clock.Now())}, w.tok.Access).Expect(t, 200)
		guess := map[string]any{"current_password": "a wrong guess again", "new_password": "another passphrase here"}
		e.c.Do(t, "POST", "/v1/me/password", guess, w.tok.Access).Expect(t, 401, "invalid_credentials") // the 5th failure
		e.c.Do(t, "POST", "/v1/me/password", guess, w.tok.Access).Expect(t, 429, "rate_limited")
	})
}

// A disabled account cannot finish a login it began before: disabling ends its pending
// logins, and a pending login of a disabled account is refused whatever the factor.
func TestDisabledAccountCannotFinishLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t), testserver.WithLocalhostIssuer())
		st := e.srv.App.Store()
		admins := &admin.Service{Store: st, Audit: e.srv.App.AuditLog(), Now: e.clock.Now}

		// TOTP: the administrator's disable ends the pending login.
		u := e.verifiedUser(t, "dis-totp")
		secret, _ := e.enrollTOTP(t, u)
		mt, _ := e.startLogin(t, u.email)
		if _, err := admins.SetDisabled(t.Context(), "", u.id, true); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Second)
		e.verify(t, mt, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 401, "invalid_token")
		// A pending login that survived (disabled behind the service's back) is refused.
		if _, err := admins.SetDisabled(t.Context(), "", u.id, false); err != nil {
			t.Fatal(err)
		}
		mt, _ = e.startLogin(t, u.email)
		if err := st.SetUserDisabled(t.Context(), u.id, true, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Second)
		e.verify(t, mt, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 403, "account_disabled")

		// WebAuthn as the second factor.
		v := e.verifiedUser(t, "dis-wa")
		pk := newPasskey(e.env, v.id)
		pk.register(t, e.env, v.tok.Access, "Key")
		mt, _ = e.startLogin(t, v.email)
		sb := e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/begin", map[string]any{"mfa_token": mt}, "").Expect(t, 200)
		if err := st.SetUserDisabled(t.Context(), v.id, true, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/finish", map[string]any{"mfa_token": mt, "challenge_id": sb.Str("challenge_id"),
			"credential": pk.assert(t, sb.Body["options"], 1)}, "").Expect(t, 403, "account_disabled")
	})
}

// An administrator's mfa-reset removes every factor, ends pending logins, is audited and
// tells the user by email.
func TestAdminMFAReset(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t), testserver.WithLocalhostIssuer(), testserver.With("GATEHOUSE_SESSION_CACHE_TTL", "0s"))
		st := e.srv.App.Store()
		u := e.verifiedUser(t, "reset")
		secret, backup := e.enrollTOTP(t, u)
		mt, _ := e.startLogin(t, u.email)
		access := e.verify(t, mt, "backup_code", backup[0]).Expect(t, 200).Str("access_token")
		e.c.Do(t, "POST", "/v1/me/mfa/email", firstFactor, access).Expect(t, 204)
		e.c.Do(t, "POST", "/v1/me/mfa/sms", map[string]any{"phone": "+14155550166", "current_password": goodPassword}, access).Expect(t, 202)
		e.c.Do(t, "POST", "/v1/me/mfa/sms/confirm", map[string]any{"code": e.sms.waitCode(t, "+14155550166", 1)}, access).Expect(t, 204)
		newPasskey(e.env, u.id).register(t, e.env, access, "Key")
		pending, methods := e.startLogin(t, u.email)
		if !slices.Equal(methods, []string{"totp", "backup_code", "email", "sms", "webauthn"}) {
			t.Fatalf("methods before the reset = %v", methods)
		}

		// What the command line does (gatehouse admin user mfa-reset).
		composer, err := notify.NewComposer("Gatehouse")
		if err != nil {
			t.Fatal(err)
		}
		factors := &mfa.Service{Store: st, Audit: e.srv.App.AuditLog(), Composer: composer, Outbox: noWake{}, Now: e.clock.Now}
		admins := &admin.Service{Store: st, Audit: e.srv.App.AuditLog(), MFA: factors, Now: e.clock.Now}
		if err := admins.ResetMFA(t.Context(), "", u.id); err != nil {
			t.Fatal(err)
		}

		s := e.c.Do(t, "GET", "/v1/me/mfa", nil, access).Expect(t, 200)
		if s.Body["totp"].(map[string]any)["enabled"] != false || s.Body["backup_codes"].(map[string]any)["remaining"] != float64(0) ||
			s.Body["email"].(map[string]any)["enabled"] != false || s.Body["sms"].(map[string]any)["enabled"] != false ||
			len(s.Body["webauthn"].([]any)) != 0 {
			t.Fatalf("factors after the reset: %s", s.Raw)
		}
		if e.c.Do(t, "GET", "/v1/me", nil, access).Expect(t, 200).Body["mfa_enabled"] != false {
			t.Fatal("MFA still on after the reset")
		}
		e.clock.Advance(30 * time.Second)
		// Pending logins ended, and the password alone gives tokens.
		e.verify(t, pending, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 401, "invalid_token")
		e.login(t, u.email, goodPassword)
		events, err := st.ListAudit(t.Context(), store.AuditFilter{SubjectID: u.id, Action: "mfa.reset", Limit: 10})
		if err != nil || len(events) != 1 || events[0].TargetID != u.id {
			t.Fatalf("mfa.reset events = %+v, %v", events, err)
		}
		e.waitNotice(t, u.email, "An administrator removed all your second factors")
	})
}

type noWake struct{}

func (noWake) Wake() {}
