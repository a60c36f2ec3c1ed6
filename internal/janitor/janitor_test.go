package janitor_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/janitor"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

func openDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// Expired tokens go, batch after batch; live ones stay. Ended sessions are kept for the
// retention (so a replayed refresh token is still recognised), then go.
func TestSweepRemovesOnlyWhatOutlivedItsUse(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: "j@example.com", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	const expired = 7
	for i := range expired + 1 {
		exp := now.Add(-time.Minute)
		if i == expired {
			exp = now.Add(time.Hour) // still usable
		}
		tok := &store.OneTimeToken{Hash: fmt.Sprint("h", i), Kind: store.TokenPasswordReset, UserID: u.ID, Email: u.Email,
			CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: exp}
		if err := db.CreateOneTimeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	session := func(createdAgo, revokedAgo time.Duration) string {
		s := &store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, CreatedAt: now.Add(-createdAgo),
			LastSeenAt: now.Add(-createdAgo), ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeSession(ctx, s.ID, "logout", now.Add(-revokedAgo)); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	old := session(40*24*time.Hour, 31*24*time.Hour)
	recent := session(2*24*time.Hour, 24*time.Hour)

	j := janitor.New(&janitor.Janitor{Store: db, Now: func() time.Time { return now }, Batch: 3}, nil)
	got, err := j.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[store.ExpiredOneTimeTokens] != expired || got[store.EndedSessions] != 1 {
		t.Fatalf("Sweep removed %v, want %d tokens (in batches of 3) and 1 session", got, expired)
	}
	if _, err := db.PeekOneTimeToken(ctx, fmt.Sprint("h", expired), store.TokenPasswordReset, now); err != nil {
		t.Fatalf("the live token: %v", err)
	}
	if _, err := db.SessionByID(ctx, old); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a session ended 31 days ago = %v, want removed", err)
	}
	if _, err := db.SessionByID(ctx, recent); err != nil {
		t.Fatalf("a session ended a day ago must stay for the retention: %v", err)
	}
	if again, err := j.Sweep(ctx); err != nil || again[store.ExpiredOneTimeTokens] != 0 || again[store.EndedSessions] != 0 {
		t.Fatalf("a second sweep = %v, %v; want nothing left", again, err)
	}
}

// Expired OAuth authorization requests go in bounded batches; one still in its flow stays.
func TestSweepRemovesExpiredAuthorizationRequests(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := &store.Client{ID: uuid.Must(uuid.NewV7()).String(), Name: "app", AuthMethod: "none", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	const expired = 5
	var live string
	for i := range expired + 1 {
		exp := now.Add(-time.Second)
		if i == expired {
			exp = now.Add(10 * time.Minute)
		}
		r := &store.AuthRequest{ID: uuid.Must(uuid.NewV7()).String(), ClientID: c.ID, RedirectURI: "https://app.example.com/cb",
			CreatedAt: exp.Add(-30 * time.Minute), ExpiresAt: exp}
		if err := db.CreateAuthRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		live = r.ID
	}
	j := janitor.New(&janitor.Janitor{Store: db, Now: func() time.Time { return now }, Batch: 2}, nil)
	got, err := j.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[store.ExpiredAuthRequests] != expired {
		t.Fatalf("Sweep removed %v, want %d authorization requests (in batches of 2)", got, expired)
	}
	if _, err := db.AuthRequestByID(ctx, live); err != nil {
		t.Fatalf("the request still in its flow: %v", err)
	}
}
