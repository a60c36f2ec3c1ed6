package mfa_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// inWindow reports whether code is the code of a step within one of at: a code two steps
// away that happens to equal one of them (one chance in about 300,000) proves nothing.
func inWindow(t *testing.T, secret, code string, at time.Time) bool {
	for off := -1; off <= 1; off++ {
		if totpAt(t, secret, at.Add(time.Duration(off)*step)) == code {
			return true
		}
	}
	return false
}

// A code is accepted one step either side of now, not two.
func TestTOTPWindowIsOneStepEitherSide(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, _ := r.enableTOTP(t, u)
	r.clock.advance(10 * step) // well past the step the confirmation spent
	now := r.clock.now()

	p := r.begin(t, u)
	for _, off := range []time.Duration{-2, 2} {
		code := totpAt(t, secret, now.Add(off*step))
		if inWindow(t, secret, code, now) {
			continue
		}
		_, err := r.verify(t, p, mfa.MethodTOTP, code)
		expectErr(t, "the code of "+off.String()+" steps from now", err, mfa.ErrInvalidCode)
	}

	tok, err := r.verify(t, p, mfa.MethodTOTP, totpAt(t, secret, now.Add(-step)))
	if err != nil {
		t.Fatalf("the code of the previous step: %v", err)
	}
	if amr := r.sessionAMR(t, tok); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr = %v, want pwd otp mfa", amr)
	}
	// The next step's code is newer than the one just accepted.
	if _, err := r.verify(t, r.begin(t, u), mfa.MethodTOTP, totpAt(t, secret, now.Add(step))); err != nil {
		t.Fatalf("the code of the next step: %v", err)
	}

	// The confirmation of a new enrolment has the same window.
	v := r.newUser(t)
	en, err := r.mfa.EnrollTOTP(t.Context(), v.ID, r.proof())
	if err != nil {
		t.Fatal(err)
	}
	if code := totpAt(t, en.Secret, now.Add(2*step)); !inWindow(t, en.Secret, code, now) {
		_, err := r.mfa.ConfirmTOTP(t.Context(), v.ID, "", code)
		expectErr(t, "confirming with the code of two steps ahead", err, mfa.ErrInvalidCode)
	}
	if _, err := r.mfa.ConfirmTOTP(t.Context(), v.ID, "", totpAt(t, en.Secret, now.Add(-step))); err != nil {
		t.Fatalf("confirming with the code of the previous step: %v", err)
	}
}

// A code is accepted once: the same code again, or the code of an older step after a
// newer one was accepted, is a replay.
func TestTOTPCodeIsAcceptedOnce(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, _ := r.enableTOTP(t, u)

	// The confirmation spent its step.
	p := r.begin(t, u)
	_, err := r.verify(t, p, mfa.MethodTOTP, totpAt(t, secret, r.clock.now()))
	expectErr(t, "the code that confirmed the enrolment", err, mfa.ErrInvalidCode)

	r.clock.advance(5 * step)
	now := r.clock.now()
	code := totpAt(t, secret, now)
	if _, err := r.verify(t, p, mfa.MethodTOTP, code); err != nil {
		t.Fatalf("a fresh code: %v", err)
	}
	p = r.begin(t, u)
	_, err = r.verify(t, p, mfa.MethodTOTP, code)
	expectErr(t, "the same code again", err, mfa.ErrInvalidCode)
	if older := totpAt(t, secret, now.Add(-step)); older != code {
		_, err = r.verify(t, p, mfa.MethodTOTP, older)
		expectErr(t, "the previous step's code after the current one", err, mfa.ErrInvalidCode)
	}

	r.clock.advance(step)
	if _, err := r.verify(t, p, mfa.MethodTOTP, totpAt(t, secret, r.clock.now())); err != nil {
		t.Fatalf("the next step's code: %v", err)
	}
}

// An enrolment is no factor until a valid code confirms it; confirming it turns MFA on,
// ends the user's other sessions and gives backup codes. Enrolling the first factor
// takes the current password.
func TestTOTPCountsOnlyOnceConfirmed(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	ctx := t.Context()

	_, err := r.mfa.EnrollTOTP(ctx, u.ID, mfa.Proof{AMR: []string{"pwd"}, SignedInAt: r.clock.now()})
	expectErr(t, "enrolling the first factor without the password", err, mfa.ErrPasswordRequired)
	_, err = r.mfa.EnrollTOTP(ctx, u.ID, mfa.Proof{AMR: []string{"pwd"}, SignedInAt: r.clock.now(), Password: "not the password at all"})
	expectErr(t, "enrolling the first factor with a wrong password", err, account.ErrInvalidCredentials)
	_, err = r.mfa.EnrollTOTP(ctx, u.ID, mfa.Proof{AMR: []string{"pwd"}, SignedInAt: r.clock.now().Add(-reauthMaxAge - time.Minute), Password: goodPassword})
	expectErr(t, "enrolling from a sign-in older than the reauthentication age", err, mfa.ErrReauthRequired)

	en, err := r.mfa.EnrollTOTP(ctx, u.ID, r.proof())
	if err != nil {
		t.Fatalf("EnrollTOTP: %v", err)
	}
	if en.Secret == "" || en.OTPAuthURL == "" || en.QRPNG == "" {
		t.Fatalf("enrolment = %+v", en)
	}
	if methods, err := r.mfa.Methods(ctx, r.db, u.ID); err != nil || len(methods) != 0 {
		t.Fatalf("methods with an unconfirmed secret = %v, %v; want none", methods, err)
	}
	if st, err := r.mfa.Status(ctx, u.ID); err != nil || st.TOTP {
		t.Fatalf("status with an unconfirmed secret = %+v, %v", st, err)
	}
	err = r.db.InTx(ctx, func(q store.Queries) error {
		p, err := r.mfa.Begin(ctx, q, u, "", []string{"pwd"}, device)
		if p != nil {
			t.Errorf("an unconfirmed secret asks for a second factor: %+v", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	code := totpAt(t, en.Secret, r.clock.now())
	_, err = r.mfa.ConfirmTOTP(ctx, u.ID, "", wrongCode(code))
	expectErr(t, "confirming with a wrong code", err, mfa.ErrInvalidCode)
	if r.user(t, u.ID).MFAEnabled {
		t.Fatal("a wrong code turned MFA on")
	}
	if fails := r.auditDetails(t, u.ID, audit.MFATOTPEnabled); len(fails) != 1 || fails[0]["outcome"] != "failure" || fails[0]["reason"] != "wrong_code" {
		t.Fatalf("failed confirmation audited as %v", fails)
	}

	other := r.startSession(t, u.ID, "pwd")
	mine := r.startSession(t, u.ID, "pwd")
	backup, err := r.mfa.ConfirmTOTP(ctx, u.ID, mine.SessionID, code)
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	if len(backup) != 10 {
		t.Fatalf("backup codes with the first factor = %v", backup)
	}
	if !r.user(t, u.ID).MFAEnabled {
		t.Fatal("confirming the first factor did not turn MFA on")
	}
	if methods, _ := r.mfa.Methods(ctx, r.db, u.ID); !slices.Equal(methods, []string{mfa.MethodTOTP, mfa.MethodBackup}) {
		t.Fatalf("methods = %v", methods)
	}
	if s, _ := r.db.SessionByID(ctx, other.SessionID); s.RevokedAt == nil {
		t.Fatal("turning MFA on left another session live")
	}
	if s, _ := r.db.SessionByID(ctx, mine.SessionID); s.RevokedAt != nil {
		t.Fatal("turning MFA on ended the session that did it")
	}

	r.clock.advance(step)
	_, err = r.mfa.ConfirmTOTP(ctx, u.ID, "", totpAt(t, en.Secret, r.clock.now()))
	expectErr(t, "confirming again", err, mfa.ErrConflict)
	_, err = r.mfa.EnrollTOTP(ctx, u.ID, r.proof())
	expectErr(t, "enrolling again from a session without a second factor", err, mfa.ErrStepUpRequired)
	_, err = r.mfa.EnrollTOTP(ctx, u.ID, r.mfaProof())
	expectErr(t, "enrolling again over a confirmed secret", err, mfa.ErrConflict)
}

// A pending secret's code does not pass a login, even for a user with another factor.
func TestPendingTOTPDoesNotLogIn(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	if err := r.mfa.EnableEmail(t.Context(), u.ID, "", r.proof()); err != nil {
		t.Fatal(err)
	}
	en, err := r.mfa.EnrollTOTP(t.Context(), u.ID, r.mfaProof())
	if err != nil {
		t.Fatal(err)
	}
	p := r.begin(t, u)
	if !slices.Equal(p.Methods, []string{mfa.MethodEmail}) {
		t.Fatalf("methods = %v, want email only", p.Methods)
	}
	_, err = r.verify(t, p, mfa.MethodTOTP, totpAt(t, en.Secret, r.clock.now()))
	expectErr(t, "a pending secret's code", err, mfa.ErrInvalidCode)
}

// Removing the authenticator app takes a current code of it, not a replayed one; the
// last factor gone, MFA turns off and the backup codes go with it.
func TestDisableTOTPNeedsACurrentCode(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	ctx := t.Context()
	secret, _ := r.enableTOTP(t, u)
	r.clock.advance(step)
	code := totpAt(t, secret, r.clock.now())

	expectErr(t, "disabling with a wrong code", r.mfa.DisableTOTP(ctx, u.ID, "", wrongCode(code)), mfa.ErrInvalidCode)
	expectErr(t, "disabling with no code", r.mfa.DisableTOTP(ctx, u.ID, "", ""), mfa.ErrInvalidCode)
	if _, err := r.verify(t, r.begin(t, u), mfa.MethodTOTP, code); err != nil {
		t.Fatalf("login: %v", err)
	}
	expectErr(t, "disabling with the code a login just used", r.mfa.DisableTOTP(ctx, u.ID, "", code), mfa.ErrInvalidCode)
	if st, _ := r.mfa.Status(ctx, u.ID); !st.TOTP || !r.user(t, u.ID).MFAEnabled {
		t.Fatalf("refused codes removed the factor: %+v", st)
	}
	if fails := r.auditDetails(t, u.ID, audit.MFATOTPDisabled); len(fails) != 3 || fails[2]["reason"] != "wrong_code" {
		t.Fatalf("refused removals audited as %v", fails)
	}

	r.clock.advance(step)
	if err := r.mfa.DisableTOTP(ctx, u.ID, "", totpAt(t, secret, r.clock.now())); err != nil {
		t.Fatalf("DisableTOTP: %v", err)
	}
	st, err := r.mfa.Status(ctx, u.ID)
	if err != nil || st.TOTP || st.BackupCodes != 0 {
		t.Fatalf("status after removing the only factor = %+v, %v", st, err)
	}
	if r.user(t, u.ID).MFAEnabled {
		t.Fatal("MFA still on without a factor")
	}
	if len(r.auditDetails(t, u.ID, audit.MFADisabled)) != 1 {
		t.Fatal("MFA turning off not audited")
	}
	r.clock.advance(step)
	expectErr(t, "disabling what is gone", r.mfa.DisableTOTP(ctx, u.ID, "", totpAt(t, secret, r.clock.now())), mfa.ErrConflict)
}

// Guesses at a TOTP code on an account route count against the account's login
// throttle: a session cannot guess without end.
func TestDisableTOTPGuessesAreThrottled(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	secret, _ := r.enableTOTP(t, u)
	r.accounts.Limits.FailuresPerAccount = 3
	r.clock.advance(step)
	code := totpAt(t, secret, r.clock.now())
	for range 3 {
		expectErr(t, "a wrong code", r.mfa.DisableTOTP(t.Context(), u.ID, "", wrongCode(code)), mfa.ErrInvalidCode)
	}
	var limited *account.RateLimited
	if err := r.mfa.DisableTOTP(t.Context(), u.ID, "", code); !errors.As(err, &limited) {
		t.Fatalf("the right code once throttled: err = %v, want *account.RateLimited", err)
	}
}
