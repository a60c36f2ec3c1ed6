package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// pausingStore holds one session's read, after it has read, until released: a read in
// flight while a revocation commits.
type pausingStore struct {
	store.Store
	id      string
	read    chan struct{} // closed once the paused read has its (soon stale) answer
	release chan struct{}
}

func (p *pausingStore) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	s, err := p.Store.SessionByID(ctx, id)
	if id == p.id && p.read != nil {
		close(p.read)
		p.read = nil
		<-p.release
	}
	return s, err
}

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

// newSession stores a user with one live session and returns their ids.
func newSession(t *testing.T, db store.Store) (userID, sessionID string) {
	t.Helper()
	now := time.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: uuid.NewString() + "@example.com", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	s := &store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, AMR: []string{"pwd"}, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return u.ID, s.ID
}

// A liveness read that began before a revocation committed may answer with what it read,
// but is not cached: the next bearer call sees the revocation, not a stale entry for the
// whole cache lifetime.
func TestLivenessReadInFlightDuringRevocationIsNotCached(t *testing.T) {
	db := openDB(t)
	userID, sessID := newSession(t, db)
	ps := &pausingStore{Store: db, id: sessID}
	svc := newService(ps)

	ps.read, ps.release = make(chan struct{}), make(chan struct{})
	read := ps.read
	done := make(chan error, 1)
	go func() { _, err := svc.Check(t.Context(), sessID, userID); done <- err }()
	<-read // the check has its answer: still live
	if err := svc.Revoke(t.Context(), userID, sessID, session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	close(ps.release)
	if err := <-done; err != nil {
		t.Fatalf("the check in flight answered %v; it may answer with what it read", err)
	}
	if _, err := svc.Check(t.Context(), sessID, userID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after revocation, Check = %v; want ErrNotFound (a stale read was cached)", err)
	}
}

// A revocation made elsewhere (another replica, the CLI) shows within the cache lifetime;
// one made through the service shows at once.
func TestLivenessCacheBound(t *testing.T) {
	db := openDB(t)
	userID, sessID := newSession(t, db)
	now := time.Now()
	svc := newService(db)
	svc.Now = func() time.Time { return now }
	if _, err := svc.Check(t.Context(), sessID, userID); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeSession(t.Context(), sessID, "elsewhere", now); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Check(t.Context(), sessID, userID); err != nil {
		t.Fatalf("within the cache lifetime, a revocation elsewhere already showed: %v", err)
	}
	now = now.Add(5 * time.Second)
	if _, err := svc.Check(t.Context(), sessID, userID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after the cache lifetime, Check = %v; want ErrNotFound", err)
	}
}
