package mfa_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const phone = "+15551234567"

var backupShape = regexp.MustCompile(`^[23456789abcdefghjkmnpqrstuvwxyz]{5}-[23456789abcdefghjkmnpqrstuvwxyz]{5}$`)

// A backup code works once; it may be typed without its dash and in capitals.
func TestBackupCodeWorksOnce(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	_, backup := r.enableTOTP(t, u)
	if len(backup) != 10 || len(slices.Compact(slices.Sorted(slices.Values(backup)))) != 10 {
		t.Fatalf("backup codes = %v, want 10 distinct", backup)
	}
	for _, c := range backup {
		if !backupShape.MatchString(c) {
			t.Fatalf("backup code %q is not xxxxx-xxxxx from the alphabet without look-alikes", c)
		}
	}

	tok, err := r.verify(t, r.begin(t, u), mfa.MethodBackup, backup[0])
	if err != nil {
		t.Fatalf("a backup code: %v", err)
	}
	if amr := r.sessionAMR(t, tok); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr = %v", amr)
	}
	if st, _ := r.mfa.Status(t.Context(), u.ID); st.BackupCodes != 9 {
		t.Fatalf("backup codes left = %d, want 9", st.BackupCodes)
	}
	if used := r.auditDetails(t, u.ID, audit.MFABackupUsed); len(used) != 1 || used[0]["remaining"] != float64(9) {
		t.Fatalf("use audited as %v", used)
	}

	p := r.begin(t, u)
	_, err = r.verify(t, p, mfa.MethodBackup, backup[0])
	expectErr(t, "a spent backup code", err, mfa.ErrInvalidCode)
	_, err = r.verify(t, p, mfa.MethodBackup, "abcde-fghjk")
	expectErr(t, "an unknown backup code", err, mfa.ErrInvalidCode)
	if _, err := r.verify(t, p, mfa.MethodBackup, strings.ToUpper(strings.ReplaceAll(backup[1], "-", ""))); err != nil {
		t.Fatalf("a backup code typed without its dash in capitals: %v", err)
	}
	if st, _ := r.mfa.Status(t.Context(), u.ID); st.BackupCodes != 8 {
		t.Fatalf("backup codes left = %d, want 8", st.BackupCodes)
	}
}

// Regenerating replaces the whole set; it takes MFA on and a session that used it.
func TestRegenerateBackupCodesReplacesTheSet(t *testing.T) {
	r := newRig(t)
	u := r.newUser(t)
	ctx := t.Context()
	_, err := r.mfa.RegenerateBackupCodes(ctx, u.ID, r.mfaProof())
	expectErr(t, "regenerating without MFA", err, mfa.ErrConflict)

	_, old := r.enableTOTP(t, u)
	_, err = r.mfa.RegenerateBackupCodes(ctx, u.ID, r.proof())
	expectErr(t, "regenerating from a session without a second factor", err, mfa.ErrStepUpRequired)
	stale := r.mfaProof()
	stale.SignedInAt = r.clock.now().Add(-reauthMaxAge - time.Second)
	_, err = r.mfa.RegenerateBackupCodes(ctx, u.ID, stale)
	expectErr(t, "regenerating from an old sign-in", err, mfa.ErrReauthRequired)
	if st, _ := r.mfa.Status(ctx, u.ID); st.BackupCodes != 10 {
		t.Fatalf("refused regenerations changed the set: %d codes", st.BackupCodes)
	}

	fresh, err := r.mfa.RegenerateBackupCodes(ctx, u.ID, r.mfaProof())
	if err != nil {
		t.Fatalf("RegenerateBackupCodes: %v", err)
	}
	if len(fresh) != 10 {
		t.Fatalf("new codes = %v", fresh)
	}
	for _, c := range fresh {
		if slices.Contains(old, c) {
			t.Fatalf("new set holds old code %q", c)
		}
	}
	if st, _ := r.mfa.Status(ctx, u.ID); st.BackupCodes != 10 {
		t.Fatalf("backup codes = %d after regenerating, want 10", st.BackupCodes)
	}
	if len(r.auditDetails(t, u.ID, audit.MFABackupRegenerated)) != 1 {
		t.Fatal("regeneration not audited")
	}
	p := r.begin(t, u)
	for _, c := range old[:3] {
		_, err = r.verify(t, p, mfa.MethodBackup, c)
		expectErr(t, "a code of the old set", err, mfa.ErrInvalidCode)
	}
	if _, err := r.verify(t, p, mfa.MethodBackup, fresh[0]); err != nil {
		t.Fatalf("a code of the new set: %v", err)
	}
}

// Email codes: turned on for a verified address with the password; a login code is sent
// only for a channel the user has, for a live pending login, and completes it.
func TestEmailLoginCode(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	unverified, err := r.accounts.Register(ctx, clientIP, "unverified@example.com", goodPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	expectErr(t, "email codes for an unverified address", r.mfa.EnableEmail(ctx, unverified.ID, "", r.proof()), mfa.ErrEmailNotVerified)

	u := r.newUser(t)
	if err := r.mfa.EnableEmail(ctx, u.ID, "", r.proof()); err != nil {
		t.Fatalf("EnableEmail: %v", err)
	}
	if !r.user(t, u.ID).MFAEnabled {
		t.Fatal("email codes did not turn MFA on")
	}
	r.messages(t) // the notice of the change
	p := r.begin(t, u)
	if !slices.Equal(p.Methods, []string{mfa.MethodEmail}) || p.ExpiresIn != int(mfa.ChallengeTTL.Seconds()) {
		t.Fatalf("pending = %+v", p)
	}
	expectErr(t, "an SMS code for a user without SMS", r.mfa.SendLoginCode(ctx, clientIP, p.Token, mfa.MethodSMS), mfa.ErrConflict)
	if msgs := r.messages(t); len(msgs) != 0 {
		t.Fatalf("a refused send queued %v", msgs)
	}
	expectErr(t, "a code for an unknown mfa_token", r.mfa.SendLoginCode(ctx, clientIP, "nope", mfa.MethodEmail), mfa.ErrInvalidToken)

	if err := r.mfa.SendLoginCode(ctx, clientIP, p.Token, mfa.MethodEmail); err != nil {
		t.Fatalf("SendLoginCode: %v", err)
	}
	code := r.codeSentTo(t, store.ChannelEmail, u.Email)
	_, err = r.verify(t, p, mfa.MethodEmail, wrongCode(code))
	expectErr(t, "a wrong email code", err, mfa.ErrInvalidCode)
	tok, err := r.verify(t, p, mfa.MethodEmail, code)
	if err != nil {
		t.Fatalf("the emailed code: %v", err)
	}
	if amr := r.sessionAMR(t, tok); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr = %v", amr)
	}
}

// A new code voids the older ones of its login, and a login gets a bounded number.
func TestLoginCodesAreThrottledAndOnlyTheNewestWorks(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	if err := r.mfa.EnableEmail(ctx, u.ID, "", r.proof()); err != nil {
		t.Fatal(err)
	}
	p := r.begin(t, u)
	var codes []string
	for range 3 {
		if err := r.mfa.SendLoginCode(ctx, clientIP, p.Token, mfa.MethodEmail); err != nil {
			t.Fatalf("SendLoginCode: %v", err)
		}
		codes = append(codes, r.codeSentTo(t, store.ChannelEmail, u.Email))
	}
	var limited *mfa.RateLimited
	if err := r.mfa.SendLoginCode(ctx, clientIP, p.Token, mfa.MethodEmail); !errors.As(err, &limited) || limited.RetryAfter <= 0 {
		t.Fatalf("a fourth code: err = %v, want *mfa.RateLimited", err)
	}
	if codes[0] != codes[2] {
		_, err := r.verify(t, p, mfa.MethodEmail, codes[0])
		expectErr(t, "a voided code", err, mfa.ErrInvalidCode)
	}
	if _, err := r.verify(t, p, mfa.MethodEmail, codes[2]); err != nil {
		t.Fatalf("the newest code: %v", err)
	}
}

// startSMS starts an SMS enrolment and returns the code texted to the number.
func (r *rig) startSMS(t *testing.T, u *store.User, number string) string {
	t.Helper()
	proof := r.proof()
	proof.AMR = append(proof.AMR, "mfa") // for a user who has a factor already
	if err := r.mfa.StartSMS(t.Context(), u.ID, proof, number); err != nil {
		t.Fatalf("StartSMS: %v", err)
	}
	return r.codeSentTo(t, store.ChannelSMS, number)
}

// An SMS enrolment code turns the number on once; it is spent by its use.
func TestSMSCodeIsSingleUse(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	code := r.startSMS(t, u, phone)
	if err := r.mfa.ConfirmSMS(ctx, u.ID, "", code); err != nil {
		t.Fatalf("ConfirmSMS: %v", err)
	}
	st, err := r.mfa.Status(ctx, u.ID)
	if err != nil || !st.SMS || st.Phone != "+*********67" || !r.user(t, u.ID).MFAEnabled {
		t.Fatalf("status after confirming = %+v, %v", st, err)
	}
	expectErr(t, "the same code again", r.mfa.ConfirmSMS(ctx, u.ID, "", code), mfa.ErrInvalidCode)
	expectErr(t, "a code when none was sent", r.mfa.ConfirmSMS(t.Context(), r.newUser(t).ID, "", code), mfa.ErrInvalidCode)
}

// Wrong codes count against a code, and its fifth wrong one kills it.
func TestCodeAttemptsAreCapped(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()

	u := r.newUser(t)
	code := r.startSMS(t, u, phone)
	for range mfa.MaxCodeTries - 1 {
		expectErr(t, "a wrong code", r.mfa.ConfirmSMS(ctx, u.ID, "", wrongCode(code)), mfa.ErrInvalidCode)
	}
	c, err := r.db.LatestCode(ctx, u.ID, "enroll", store.ChannelSMS, "", r.clock.now())
	if err != nil || c.Attempts != mfa.MaxCodeTries-1 {
		t.Fatalf("stored code after %d wrong attempts = %+v, %v", mfa.MaxCodeTries-1, c, err)
	}
	if err := r.mfa.ConfirmSMS(ctx, u.ID, "", code); err != nil {
		t.Fatalf("the right code after %d wrong ones: %v", mfa.MaxCodeTries-1, err)
	}

	v := r.newUser(t)
	code = r.startSMS(t, v, phone)
	for range mfa.MaxCodeTries {
		expectErr(t, "a wrong code", r.mfa.ConfirmSMS(ctx, v.ID, "", wrongCode(code)), mfa.ErrInvalidCode)
	}
	expectErr(t, "the right code after the cap", r.mfa.ConfirmSMS(ctx, v.ID, "", code), mfa.ErrInvalidCode)
	if st, _ := r.mfa.Status(ctx, v.ID); st.SMS {
		t.Fatal("a dead code turned SMS on")
	}
	if fails := r.auditDetails(t, v.ID, audit.MFASMSEnabled); len(fails) != mfa.MaxCodeTries+1 || fails[0]["outcome"] != "failure" {
		t.Fatalf("wrong codes audited as %v", fails)
	}
}

// A code works until CodeTTL after it was sent, not after.
func TestCodeExpires(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	code := r.startSMS(t, u, phone)
	r.clock.advance(mfa.CodeTTL)
	expectErr(t, "an expired code", r.mfa.ConfirmSMS(ctx, u.ID, "", code), mfa.ErrInvalidCode)

	code = r.startSMS(t, u, phone)
	r.clock.advance(mfa.CodeTTL - time.Second)
	if err := r.mfa.ConfirmSMS(ctx, u.ID, "", code); err != nil {
		t.Fatalf("a code a second before it expires: %v", err)
	}
}

// A code works only for the channel, purpose and pending login it was sent for.
func TestCodeWorksOnlyWhereItWasSent(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	if err := r.mfa.EnableEmail(ctx, u.ID, "", r.proof()); err != nil {
		t.Fatal(err)
	}
	if err := r.mfa.ConfirmSMS(ctx, u.ID, "", r.startSMS(t, u, phone)); err != nil {
		t.Fatal(err)
	}
	enrol := r.startSMS(t, u, "+15557654321") // a pending enrolment of another number

	p := r.begin(t, u)
	if !slices.Equal(p.Methods, []string{mfa.MethodEmail, mfa.MethodSMS}) {
		t.Fatalf("methods = %v", p.Methods)
	}
	if err := r.mfa.SendLoginCode(ctx, clientIP, p.Token, mfa.MethodEmail); err != nil {
		t.Fatal(err)
	}
	email := r.codeSentTo(t, store.ChannelEmail, u.Email)
	if err := r.mfa.SendLoginCode(ctx, clientIP, p.Token, mfa.MethodSMS); err != nil {
		t.Fatal(err)
	}
	sms := r.codeSentTo(t, store.ChannelSMS, phone)

	if email != sms {
		_, err := r.verify(t, p, mfa.MethodSMS, email)
		expectErr(t, "the email code as an SMS code", err, mfa.ErrInvalidCode)
	}
	if enrol != sms {
		_, err := r.verify(t, p, mfa.MethodSMS, enrol)
		expectErr(t, "an enrolment code at login", err, mfa.ErrInvalidCode)
	}
	other := r.begin(t, u)
	_, err := r.verify(t, other, mfa.MethodEmail, email)
	expectErr(t, "a code of another pending login", err, mfa.ErrInvalidCode)
	_, err = r.verify(t, other, mfa.MethodSMS, sms)
	expectErr(t, "a code of another pending login", err, mfa.ErrInvalidCode)

	if _, err := r.verify(t, p, mfa.MethodEmail, email); err != nil {
		t.Fatalf("the email code where it was sent: %v", err)
	}
	if _, err := r.verify(t, r.begin(t, u), mfa.MethodSMS, sms); err == nil {
		t.Fatal("the SMS code of a finished login completed a new one")
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{"+15551234567": "+*********67", "+4412": "+**12", "1234": "****", "": "****"} {
		if got := mfa.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
