package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// pausingStore holds one user's read, after it has read, until released: a read in
// flight while a change commits.
type pausingStore struct {
	store.Store
	id      string
	read    chan struct{}
	release chan struct{}
}

func (p *pausingStore) UserByID(ctx context.Context, id string) (*store.User, error) {
	u, err := p.Store.UserByID(ctx, id)
	if id == p.id && p.read != nil {
		close(p.read)
		p.read = nil
		<-p.release
	}
	return u, err
}

// A user read that began before a change committed may answer with what it read, but is
// not cached: the next read sees the change, not a stale user for the whole TTL.
func TestUserReadInFlightDuringAChangeIsNotCached(t *testing.T) {
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: "cache@example.com", Name: "Before", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	ps := &pausingStore{Store: db, id: u.ID}
	svc := account.NewService(&account.Service{Store: ps, Audit: audit.NewLog(make([]byte, 32)), Now: time.Now,
		UserCacheTTL: 5 * time.Second}, nil)

	ps.read, ps.release = make(chan struct{}), make(chan struct{})
	read := ps.read
	done := make(chan error, 1)
	go func() { _, err := svc.User(t.Context(), u.ID); done <- err }()
	<-read
	if _, err := svc.UpdateProfile(t.Context(), u.ID, "After"); err != nil {
		t.Fatal(err)
	}
	close(ps.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := svc.User(t.Context(), u.ID)
	if err != nil || got.Name != "After" {
		t.Fatalf("after the change, User = %+v %v; want the new name (a stale read was cached)", got, err)
	}
}
