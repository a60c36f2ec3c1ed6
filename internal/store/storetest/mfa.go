package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testMFA(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "mfa@example.com")
	other := newUser(t, s, "mfa-other@example.com")

	// TOTP: pending, confirmed, replay-protected steps.
	if err := s.PutTOTP(ctx, &store.TOTP{UserID: u.ID, SecretEnc: []byte{1, 2, 3}, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.UseTOTPStep(ctx, u.ID, 100); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a pending secret accepted a step: %v", err)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, 100, base); err != nil {
		t.Fatal(err)
	}
	if err := s.UseTOTPStep(ctx, u.ID, 100); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the confirming step was accepted again: %v", err)
	}
	if err := s.UseTOTPStep(ctx, u.ID, 101); err != nil {
		t.Fatal(err)
	}
	if err := s.UseTOTPStep(ctx, u.ID, 99); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an older step was accepted: %v", err)
	}
	if got, _ := s.TOTPByUser(ctx, u.ID); !got.Confirmed || got.LastUsedStep != 101 || string(got.SecretEnc) != "\x01\x02\x03" {
		t.Fatalf("TOTP = %+v", got)
	}

	// Backup codes: single use, replaced as a set.
	s.ReplaceBackupCodes(ctx, u.ID, []string{"a", "b", "c"}, base)
	if err := s.UseBackupCode(ctx, u.ID, "b", base); err != nil {
		t.Fatal(err)
	}
	if err := s.UseBackupCode(ctx, u.ID, "b", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a backup code worked twice: %v", err)
	}
	if err := s.UseBackupCode(ctx, other.ID, "a", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another user's backup code worked: %v", err)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 2 {
		t.Fatalf("remaining = %d", n)
	}
	s.ReplaceBackupCodes(ctx, u.ID, []string{"d"}, base)
	if err := s.UseBackupCode(ctx, u.ID, "a", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("an old backup code survived regeneration")
	}

	// Codes: a newer one voids the older; failures void it at the limit.
	mk := func(id string, at time.Time) {
		if err := s.CreateCode(ctx, &store.MFACode{ID: id, UserID: u.ID, Purpose: "login", Channel: "sms", BoundTo: "ch1",
			CodeHash: "h-" + id, CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	mk(newID(), base)
	second := newID()
	mk(second, base.Add(time.Second))
	c, err := s.LatestCode(ctx, u.ID, "login", "sms", "ch1", base.Add(time.Minute))
	if err != nil || c.ID != second {
		t.Fatalf("LatestCode = %+v, %v", c, err)
	}
	if _, err := s.LatestCode(ctx, u.ID, "login", "sms", "ch2", base.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a code bound to another challenge was found")
	}
	for i := 0; i < 3; i++ {
		s.FailCode(ctx, second, 3, base)
	}
	if _, err := s.LatestCode(ctx, u.ID, "login", "sms", "ch1", base.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a code survived its attempt limit")
	}
	third := newID()
	mk(third, base.Add(2*time.Second))
	if err := s.UseCode(ctx, third, base); err != nil {
		t.Fatal(err)
	}
	if err := s.UseCode(ctx, third, base); !errors.Is(err, store.ErrConflict) {
		t.Fatal("a code was used twice")
	}

	// Challenges.
	ch := &store.MFAChallenge{ID: newID(), TokenHash: "th", UserID: u.ID, AMR: []string{"pwd"}, CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	if err := s.CreateChallenge(ctx, ch); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		n, err := s.CountChallengeAttempt(ctx, ch.ID, 5, base)
		if err != nil || n != i {
			t.Fatalf("CountChallengeAttempt = %d, %v", n, err)
		}
	}
	if n, err := s.CountChallengeAttempt(ctx, ch.ID, 5, base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a sixth attempt = %d %v; want ErrNotFound", n, err)
	}
	if got, _ := s.ChallengeByHash(ctx, "th"); got.Failures != 5 {
		t.Fatalf("challenge after 5 attempts = %+v", got)
	}
	if err := s.UseChallenge(ctx, ch.ID, base); err != nil { // the fifth may still be right
		t.Fatal(err)
	}
	if err := s.UseChallenge(ctx, ch.ID, base); !errors.Is(err, store.ErrConflict) {
		t.Fatal("a used challenge was used again")
	}
	late := &store.MFAChallenge{ID: newID(), TokenHash: "th-late", UserID: u.ID, AMR: []string{"pwd"}, CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	if err := s.CreateChallenge(ctx, late); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountChallengeAttempt(ctx, late.ID, 5, base.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an attempt on an expired challenge = %v; want ErrNotFound", err)
	}
	// EndChallenges ends the user's pending challenges, not another user's.
	pending := &store.MFAChallenge{ID: newID(), TokenHash: "th-pending", UserID: u.ID, AMR: []string{"pwd"}, CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	others := &store.MFAChallenge{ID: newID(), TokenHash: "th-other", UserID: other.ID, AMR: []string{"pwd"}, CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	for _, c := range []*store.MFAChallenge{pending, others} {
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EndChallenges(ctx, u.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ChallengeByHash(ctx, "th-pending"); got.UsedAt == nil || !got.UsedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("pending challenge after EndChallenges = %+v", got)
	}
	if err := s.UseChallenge(ctx, pending.ID, base); !errors.Is(err, store.ErrConflict) {
		t.Fatal("an ended challenge was used")
	}
	if got, _ := s.ChallengeByHash(ctx, "th-other"); got.UsedAt != nil {
		t.Fatal("EndChallenges ended another user's challenge")
	}
	if got, _ := s.ChallengeByHash(ctx, "th"); got.UsedAt == nil || !got.UsedAt.Equal(base) {
		t.Fatalf("EndChallenges moved an already ended challenge: %+v", got)
	}

	// WebAuthn credentials and ceremonies.
	cred := &store.WebAuthnCredential{ID: newID(), UserID: u.ID, CredentialID: "cred-1", Name: "key", Data: []byte(`{}`), SignCount: 5, CreatedAt: base}
	if err := s.AddWebAuthnCredential(ctx, cred); err != nil {
		t.Fatal(err)
	}
	if err := s.AddWebAuthnCredential(ctx, &store.WebAuthnCredential{ID: newID(), UserID: other.ID, CredentialID: "cred-1", Data: []byte(`{}`), CreatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a duplicate credential id was accepted: %v", err)
	}
	if err := s.UpdateWebAuthnCredential(ctx, cred.ID, 5, 6, []byte(`{"n":6}`), base); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateWebAuthnCredential(ctx, cred.ID, 5, 7, []byte(`{}`), base); !errors.Is(err, store.ErrConflict) {
		t.Fatal("a stale sign count update went through")
	}
	if got, _ := s.WebAuthnCredentialByCredID(ctx, "cred-1"); got.SignCount != 6 || string(got.Data) != `{"n":6}` || got.LastUsedAt == nil {
		t.Fatalf("credential = %+v", got)
	}
	if err := s.DeleteWebAuthnCredential(ctx, other.ID, cred.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("another user deleted the credential")
	}
	cer := &store.WebAuthnCeremony{ID: newID(), Kind: "login", Data: []byte(`{"challenge":"x"}`), CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	s.CreateCeremony(ctx, cer)
	if _, err := s.TakeCeremony(ctx, cer.ID, "mfa", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a ceremony was taken as another kind")
	}
	if got, err := s.TakeCeremony(ctx, cer.ID, "login", base); err != nil || string(got.Data) != `{"challenge":"x"}` {
		t.Fatalf("TakeCeremony = %+v, %v", got, err)
	}
	if _, err := s.TakeCeremony(ctx, cer.ID, "login", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a ceremony was taken twice")
	}

	// Channels and reset.
	s.PutChannel(ctx, &store.MFAChannel{UserID: u.ID, Channel: store.ChannelSMS, Address: "+15551234567", CreatedAt: base})
	s.ConfirmChannel(ctx, u.ID, store.ChannelSMS)
	if cs, _ := s.Channels(ctx, u.ID); len(cs) != 1 || !cs[0].Confirmed {
		t.Fatalf("channels = %+v", cs)
	}
	if err := s.DeleteFactors(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("TOTP survived the reset")
	}
	if cs, _ := s.Channels(ctx, u.ID); len(cs) != 0 {
		t.Fatal("channels survived the reset")
	}
	if creds, _ := s.WebAuthnCredentials(ctx, u.ID); len(creds) != 0 {
		t.Fatal("credentials survived the reset")
	}
}

// Twenty concurrent attempts on one challenge, each checking its code inside the
// transaction that counted it: exactly max are counted, whatever the interleaving.
func testChallengeAttemptsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "race@example.com")
	ch := &store.MFAChallenge{ID: newID(), TokenHash: "race", UserID: u.ID, AMR: []string{"pwd"}, CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	if err := s.CreateChallenge(ctx, ch); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counted, refused := 0, 0
	for range 20 {
		wg.Go(func() {
			err := s.InTx(ctx, func(q store.Queries) error {
				if _, err := q.CountChallengeAttempt(ctx, ch.ID, 5, base); err != nil {
					return err
				}
				time.Sleep(5 * time.Millisecond) // the code is being checked
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				counted++
			case errors.Is(err, store.ErrNotFound):
				refused++
			default:
				t.Errorf("attempt: %v", err)
			}
		})
	}
	wg.Wait()
	got, _ := s.ChallengeByHash(ctx, "race")
	if counted != 5 || refused != 15 || got.Failures != 5 {
		t.Fatalf("%d attempts counted, %d refused, %d stored; want 5, 15, 5", counted, refused, got.Failures)
	}
}
