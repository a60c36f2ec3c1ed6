package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Open one-time tokens of a user, of every kind, are voided together; other users'
// tokens and used ones are untouched.
func testVoidOneTimeTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "void@example.com")
	other := newUser(t, s, "keep@example.com")
	for _, tok := range []*store.OneTimeToken{
		{Hash: "v1", Kind: store.TokenPasswordReset, UserID: u.ID, Email: u.Email},
		{Hash: "v2", Kind: store.TokenVerifyEmail, UserID: u.ID, Email: u.Email},
		{Hash: "k1", Kind: store.TokenPasswordReset, UserID: other.ID, Email: other.Email},
	} {
		tok.CreatedAt, tok.ExpiresAt = base, base.Add(time.Hour)
		if err := s.CreateOneTimeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.VoidOneTimeTokens(ctx, u.ID, base.Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("VoidOneTimeTokens = %d %v; want 2", n, err)
	}
	for _, h := range []string{"v1", "v2"} {
		kind := store.TokenPasswordReset
		if h == "v2" {
			kind = store.TokenVerifyEmail
		}
		if _, err := s.PeekOneTimeToken(ctx, h, kind, base.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("voided token %s still usable: %v", h, err)
		}
	}
	if _, err := s.PeekOneTimeToken(ctx, "k1", store.TokenPasswordReset, base.Add(time.Minute)); err != nil {
		t.Fatalf("another user's token was voided: %v", err)
	}
	if n, _ := s.VoidOneTimeTokens(ctx, u.ID, base.Add(time.Minute)); n != 0 {
		t.Fatalf("voiding again voided %d", n)
	}
}

// PurgeExpired deletes only rows past their use, in batches of at most limit.
func testPurgeExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "purge@example.com")
	now := base.Add(24 * time.Hour)
	for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(-time.Second), now.Add(-time.Hour), now.Add(time.Minute)} {
		if err := s.CreateCeremony(ctx, &store.WebAuthnCeremony{ID: newID(), Kind: "login", Data: []byte("{}"), CreatedAt: exp.Add(-5 * time.Minute), ExpiresAt: exp}); err != nil {
			t.Fatal(i, err)
		}
		if err := s.CreateChallenge(ctx, &store.MFAChallenge{ID: newID(), TokenHash: newID(), UserID: u.ID, AMR: []string{"pwd"},
			CreatedAt: exp.Add(-5 * time.Minute), ExpiresAt: exp}); err != nil {
			t.Fatal(i, err)
		}
		if err := s.CreateCode(ctx, &store.MFACode{ID: newID(), UserID: u.ID, Purpose: "login", Channel: "email", BoundTo: newID(),
			CodeHash: "h", CreatedAt: exp.Add(-10 * time.Minute), ExpiresAt: exp}); err != nil {
			t.Fatal(i, err)
		}
		if err := s.CreateOneTimeToken(ctx, &store.OneTimeToken{Hash: newID(), Kind: "k" + newID(), UserID: u.ID, Email: u.Email,
			CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}); err != nil {
			t.Fatal(i, err)
		}
	}
	for _, kind := range []store.Expired{store.ExpiredCeremonies, store.ExpiredChallenges, store.ExpiredCodes, store.ExpiredOneTimeTokens} {
		if n, err := s.PurgeExpired(ctx, kind, now, 2); err != nil || n != 2 {
			t.Fatalf("PurgeExpired(%s, limit 2) = %d %v; want 2", kind, n, err)
		}
		if n, err := s.PurgeExpired(ctx, kind, now, 10); err != nil || n != 1 {
			t.Fatalf("PurgeExpired(%s) the rest = %d %v; want 1 (the unexpired one stays)", kind, n, err)
		}
		if n, _ := s.PurgeExpired(ctx, kind, now, 10); n != 0 {
			t.Fatalf("PurgeExpired(%s) again = %d", kind, n)
		}
	}
	// Sessions: ended before the cutoff go (with their refresh tokens); live ones and
	// those ended after it stay.
	cutoff := now.Add(-30 * 24 * time.Hour)
	old := newSession(t, s, u.ID, cutoff.Add(-91*24*time.Hour)) // expired before the cutoff
	revokedOld := newSession(t, s, u.ID, cutoff.Add(-2*time.Hour))
	revokedNew := newSession(t, s, u.ID, cutoff.Add(time.Hour))
	live := newSession(t, s, u.ID, now)
	if err := s.CreateRefreshToken(ctx, &store.RefreshToken{Hash: "rt-old", SessionID: revokedOld.ID, CreatedAt: cutoff}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, revokedOld.ID, "logout", cutoff.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, revokedNew.ID, "logout", cutoff.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeExpired(ctx, store.EndedSessions, cutoff, 10); err != nil || n != 2 {
		t.Fatalf("PurgeExpired(sessions) = %d %v; want 2", n, err)
	}
	for _, id := range []string{old.ID, revokedOld.ID} {
		if _, err := s.SessionByID(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ended session %s kept: %v", id, err)
		}
	}
	for _, id := range []string{revokedNew.ID, live.ID} {
		if _, err := s.SessionByID(ctx, id); err != nil {
			t.Fatalf("session %s removed: %v", id, err)
		}
	}
	if _, err := s.RefreshTokenByHash(ctx, "rt-old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refresh token of a purged session kept: %v", err)
	}
}
