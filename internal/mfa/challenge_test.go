package mfa_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// emailUser is a user whose only second factor is email codes.
func (r *rig) emailUser(t *testing.T) *store.User {
	t.Helper()
	u := r.newUser(t)
	if err := r.mfa.EnableEmail(t.Context(), u.ID, "", r.proof()); err != nil {
		t.Fatal(err)
	}
	r.messages(t)
	return r.user(t, u.ID)
}

// emailCode sends a login code for p by email and returns it.
func (r *rig) emailCode(t *testing.T, u *store.User, p *mfa.Pending) string {
	t.Helper()
	if err := r.mfa.SendLoginCode(t.Context(), clientIP, p.Token, mfa.MethodEmail); err != nil {
		t.Fatalf("SendLoginCode: %v", err)
	}
	return r.codeSentTo(t, store.ChannelEmail, u.Email)
}

func (r *rig) challenge(t *testing.T, p *mfa.Pending) *store.MFAChallenge {
	t.Helper()
	ch, err := r.db.ChallengeByHash(t.Context(), token.Hash(p.Token))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// A pending login lives ChallengeTTL: after that it neither sends codes nor completes.
func TestChallengeExpires(t *testing.T) {
	r := newRig(t)
	u := r.emailUser(t)

	p := r.begin(t, u)
	r.clock.advance(mfa.ChallengeTTL - time.Second)
	code := r.emailCode(t, u, p)
	if _, err := r.verify(t, p, mfa.MethodEmail, code); err != nil {
		t.Fatalf("a second before the login expires: %v", err)
	}

	p = r.begin(t, u)
	code = r.emailCode(t, u, p)
	r.clock.advance(mfa.ChallengeTTL)
	expectErr(t, "sending a code for an expired login", r.mfa.SendLoginCode(t.Context(), clientIP, p.Token, mfa.MethodEmail), mfa.ErrInvalidToken)
	if msgs := r.messages(t); len(msgs) != 0 {
		t.Fatalf("an expired login queued %d messages", len(msgs))
	}
	_, err := r.verify(t, p, mfa.MethodEmail, code)
	expectErr(t, "completing an expired login", err, mfa.ErrInvalidToken)
}

// MaxFailures wrong codes end a pending login: the attempt is counted before the code is
// checked, the last one allowed ends it, and every wrong code is audited.
func TestChallengeAttemptsAreCapped(t *testing.T) {
	r := newRig(t)
	u := r.emailUser(t)

	p := r.begin(t, u)
	code := r.emailCode(t, u, p)
	for i := 1; i <= mfa.MaxFailures-1; i++ {
		_, err := r.verify(t, p, mfa.MethodEmail, wrongCode(code))
		expectErr(t, "a wrong code", err, mfa.ErrInvalidCode)
	}
	if _, err := r.verify(t, p, mfa.MethodEmail, code); err != nil {
		t.Fatalf("the right code after %d wrong ones: %v", mfa.MaxFailures-1, err)
	}

	p = r.begin(t, u)
	code = r.emailCode(t, u, p)
	for i := 1; i <= mfa.MaxFailures; i++ {
		_, err := r.verify(t, p, mfa.MethodBackup, "abcde-fghjk") // wrong codes of any method count
		expectErr(t, "a wrong code", err, mfa.ErrInvalidCode)
		if got := r.challenge(t, p).Failures; got != i {
			t.Fatalf("failures after %d wrong codes = %d", i, got)
		}
	}
	if r.challenge(t, p).UsedAt == nil {
		t.Fatalf("the %dth wrong code did not end the login", mfa.MaxFailures)
	}
	_, err := r.verify(t, p, mfa.MethodEmail, code)
	expectErr(t, "the right code after the cap", err, mfa.ErrInvalidToken)
	expectErr(t, "sending a code for an ended login", r.mfa.SendLoginCode(t.Context(), clientIP, p.Token, mfa.MethodEmail), mfa.ErrInvalidToken)

	fails := r.auditDetails(t, u.ID, audit.MFAFailed)
	if len(fails) != 2*mfa.MaxFailures-1 {
		t.Fatalf("%d wrong codes audited, want %d: %v", len(fails), 2*mfa.MaxFailures-1, fails)
	}
	last := fails[len(fails)-mfa.MaxFailures:]
	for i, d := range last {
		if d["outcome"] != "failure" || d["method"] != mfa.MethodBackup || d["failures"] != float64(i+1) {
			t.Fatalf("wrong code %d audited as %v", i+1, d)
		}
	}
	if fails[0]["method"] != mfa.MethodEmail {
		t.Fatalf("wrong email code audited as %v", fails[0])
	}
}

// Concurrent guesses on one mfa_token are counted one at a time: no more than
// MaxFailures of them are checked.
func TestConcurrentGuessesNeverExceedTheCap(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, _ := r.enableTOTP(t, u)
	r.clock.advance(step)
	wrong := wrongCode(totpAt(t, secret, r.clock.now()))
	p := r.begin(t, u)

	const guesses = 3 * mfa.MaxFailures
	var wg sync.WaitGroup
	errs := make(chan error, guesses)
	for range guesses {
		wg.Go(func() {
			_, err := r.mfa.Verify(t.Context(), p.Token, mfa.MethodTOTP, wrong, device)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	checked := 0
	for err := range errs {
		switch {
		case errors.Is(err, mfa.ErrInvalidCode):
			checked++
		case errors.Is(err, mfa.ErrInvalidToken):
		default:
			t.Fatalf("a concurrent guess: %v", err)
		}
	}
	if checked != mfa.MaxFailures {
		t.Fatalf("%d of %d concurrent guesses were checked, want %d", checked, guesses, mfa.MaxFailures)
	}
}

// Every attempt is charged to the account's login throttle before it is checked, so fresh
// mfa_tokens give no fresh guesses, and once throttled even the right code is refused; a
// complete login clears the count.
func TestLoginThrottleIsChargedBeforeTheCheck(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, _ := r.enableTOTP(t, u)
	r.accounts.Limits.FailuresPerAccount = 3

	r.clock.advance(step)
	code := totpAt(t, secret, r.clock.now())
	for range 2 {
		_, err := r.verify(t, r.begin(t, u), mfa.MethodTOTP, wrongCode(code))
		expectErr(t, "a wrong code", err, mfa.ErrInvalidCode)
	}
	if _, err := r.verify(t, r.begin(t, u), mfa.MethodTOTP, code); err != nil {
		t.Fatalf("the right code within the limit: %v", err)
	}

	r.clock.advance(step)
	code = totpAt(t, secret, r.clock.now())
	for range 3 { // the count starts again after a complete login
		_, err := r.verify(t, r.begin(t, u), mfa.MethodTOTP, wrongCode(code))
		expectErr(t, "a wrong code", err, mfa.ErrInvalidCode)
	}
	var limited *account.RateLimited
	if _, err := r.verify(t, r.begin(t, u), mfa.MethodTOTP, code); !errors.As(err, &limited) {
		t.Fatalf("the right code once throttled: err = %v, want *account.RateLimited", err)
	}
}

// A completed login cannot be completed again, whatever the code.
func TestCompletedChallengeCannotBeCompletedAgain(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, backup := r.enableTOTP(t, u)
	r.clock.advance(step)
	p := r.begin(t, u)
	if _, err := r.verify(t, p, mfa.MethodTOTP, totpAt(t, secret, r.clock.now())); err != nil {
		t.Fatal(err)
	}
	r.clock.advance(step)
	_, err := r.verify(t, p, mfa.MethodTOTP, totpAt(t, secret, r.clock.now()))
	expectErr(t, "a second completion with a fresh code", err, mfa.ErrInvalidToken)
	_, err = r.verify(t, p, mfa.MethodBackup, backup[0])
	expectErr(t, "a second completion with a backup code", err, mfa.ErrInvalidToken)
	if st, _ := r.mfa.Status(t.Context(), u.ID); st.BackupCodes != 10 {
		t.Fatalf("a refused completion spent a backup code: %d left", st.BackupCodes)
	}
	if n := len(r.auditDetails(t, u.ID, audit.UserLoginSucceeded)); n != 1 {
		t.Fatalf("%d logins audited, want 1", n)
	}
}

// A pending login of an account disabled since does not complete.
func TestDisabledAccountCannotCompleteItsLogin(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, _ := r.enableTOTP(t, u)
	r.clock.advance(step)
	p := r.begin(t, u)
	if err := r.db.SetUserDisabled(t.Context(), u.ID, true, r.clock.now()); err != nil {
		t.Fatal(err)
	}
	_, err := r.verify(t, p, mfa.MethodTOTP, totpAt(t, secret, r.clock.now()))
	expectErr(t, "completing the login of a disabled account", err, mfa.ErrDisabled)
}

// Methods a user does not have, and WebAuthn (which has its own ceremony), do not
// complete a login by Verify.
func TestVerifyTakesOnlyTheUsersCodeMethods(t *testing.T) {
	r := newRig(t)
	u := r.emailUser(t)
	p := r.begin(t, u)
	for _, method := range []string{mfa.MethodTOTP, mfa.MethodSMS, mfa.MethodBackup, mfa.MethodWebAuthn, "carrier-pigeon"} {
		_, err := r.verify(t, p, method, "123456")
		expectErr(t, method, err, mfa.ErrInvalidCode)
	}
	_, err := r.mfa.Verify(t.Context(), "not-a-token", mfa.MethodEmail, "123456", device)
	expectErr(t, "an unknown mfa_token", err, mfa.ErrInvalidToken)
}

// An administrator's reset removes every factor, turns MFA off and ends pending logins.
func TestResetRemovesEveryFactor(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, _ := r.enableTOTP(t, u)
	if err := r.mfa.EnableEmail(t.Context(), u.ID, "", r.mfaProof()); err != nil {
		t.Fatal(err)
	}
	p := r.begin(t, u)
	if err := r.mfa.Reset(t.Context(), "admin-1", u.ID); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	st, err := r.mfa.Status(t.Context(), u.ID)
	if err != nil || st.TOTP || st.Email || st.BackupCodes != 0 || r.user(t, u.ID).MFAEnabled {
		t.Fatalf("after a reset: %+v, %v, mfa_enabled %v", st, err, r.user(t, u.ID).MFAEnabled)
	}
	r.clock.advance(step)
	_, err = r.verify(t, p, mfa.MethodTOTP, totpAt(t, secret, r.clock.now()))
	expectErr(t, "a login pending at the reset", err, mfa.ErrInvalidToken)
	if d := r.auditDetails(t, u.ID, audit.MFAReset); len(d) != 1 {
		t.Fatalf("reset audited %d times", len(d))
	}
	var described []string
	if err := r.db.InTx(t.Context(), func(q store.Queries) (err error) {
		described, err = r.mfa.Describe(t.Context(), q, u.ID)
		return err
	}); err != nil || len(described) != 0 {
		t.Fatalf("factors described after a reset: %v, %v", described, err)
	}
}
