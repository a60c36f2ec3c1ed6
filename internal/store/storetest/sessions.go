package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "s@example.com")
	other := newUser(t, s, "other@example.com")
	a := newSession(t, s, u.ID, base)
	b := newSession(t, s, u.ID, base.Add(time.Minute))
	c := newSession(t, s, u.ID, base.Add(2*time.Minute))
	newSession(t, s, other.ID, base)

	got, err := s.SessionByID(ctx, a.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	if got.UserID != u.ID || !slices.Equal(got.AMR, []string{"pwd"}) || got.IP != "192.0.2.1" || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("SessionByID = %+v, want %+v", got, a)
	}
	list, err := s.ListSessions(ctx, u.ID, base.Add(time.Hour))
	if err != nil || len(list) != 3 || list[0].ID != c.ID || list[2].ID != a.ID {
		t.Fatalf("ListSessions = %v, %v; want c, b, a", ids(list), err)
	}

	later := base.Add(10 * time.Minute)
	if err := s.TouchSession(ctx, b.ID, later); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	if got, _ := s.SessionByID(ctx, b.ID); !got.LastSeenAt.Equal(later) {
		t.Fatalf("last_seen_at = %v, want %v", got.LastSeenAt, later)
	}
	if err := s.TouchSession(ctx, b.ID, base); err != nil { // never moves backwards
		t.Fatalf("TouchSession(earlier): %v", err)
	}
	if got, _ := s.SessionByID(ctx, b.ID); !got.LastSeenAt.Equal(later) {
		t.Fatalf("last_seen_at moved backwards to %v", got.LastSeenAt)
	}

	if err := s.RevokeSession(ctx, a.ID, "logout", later); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if err := s.RevokeSession(ctx, a.ID, "logout", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeSession twice = %v, want ErrNotFound", err)
	}
	if got, _ := s.SessionByID(ctx, a.ID); got.RevokedAt == nil || got.RevokeReason != "logout" || got.Live(later, time.Hour) {
		t.Fatalf("revoked session = %+v", got)
	}
	revoked, err := s.RevokeUserSessions(ctx, u.ID, c.ID, "password_changed", later)
	if err != nil || !slices.Equal(revoked, []string{b.ID}) {
		t.Fatalf("RevokeUserSessions = %v, %v; want [b]", revoked, err)
	}
	list, _ = s.ListSessions(ctx, u.ID, later)
	if len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("after revoking others, sessions = %v; want [c]", ids(list))
	}
	if list, _ := s.ListSessions(ctx, other.ID, later); len(list) != 1 {
		t.Fatalf("another user's sessions changed: %v", ids(list))
	}
}

func ids(list []store.Session) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

func testRefreshTokenRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "r@example.com")
	sess := newSession(t, s, u.ID, base)
	tok := &store.RefreshToken{Hash: "ab12", SessionID: sess.ID, CreatedAt: base}
	if err := s.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	const n = 8
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			results <- s.InTx(ctx, func(q store.Queries) error { return q.UseRefreshToken(ctx, "ab12", base) })
		})
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Fatalf("UseRefreshToken: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent uses of one refresh token succeeded, want exactly 1", wins)
	}
	got, err := s.RefreshTokenByHash(ctx, "ab12")
	if err != nil || got.UsedAt == nil || got.SessionID != sess.ID {
		t.Fatalf("RefreshTokenByHash = %+v, %v", got, err)
	}
	// The losing side of the race, forced: on SQLite writers take turns, so the
	// concurrent uses above may never reach the conditional update's conflict.
	if err := s.UseRefreshToken(ctx, "ab12", base.Add(time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("using a used refresh token = %v, want ErrConflict", err)
	}
	if got, _ := s.RefreshTokenByHash(ctx, "ab12"); got == nil || got.UsedAt == nil || !got.UsedAt.Equal(base) {
		t.Fatalf("a refused use changed the token: %+v", got)
	}
	if _, err := s.RefreshTokenByHash(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RefreshTokenByHash(unknown) = %v, want ErrNotFound", err)
	}
}
