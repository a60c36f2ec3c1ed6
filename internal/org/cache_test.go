package org_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// testAudit is the audit log of these tests, keyed with a fixed test key.
var testAudit = audit.NewLog(make([]byte, 32))

// pausingStore holds one user's membership read, after it has read, until released: a
// read in flight while a change commits.
type pausingStore struct {
	store.Store
	user    string
	read    chan struct{} // closed once the paused read has its (soon stale) answer
	release chan struct{}
}

func (p *pausingStore) MemberOf(ctx context.Context, orgID, userID string) (*store.Member, error) {
	m, err := p.Store.MemberOf(ctx, orgID, userID)
	if userID == p.user && p.read != nil {
		close(p.read)
		p.read = nil
		<-p.release
	}
	return m, err
}

// A permission read that began before a change committed may answer with what it read,
// but is not cached: the next call sees the change, not a stale entry for CacheTTL.
func TestReadInFlightDuringAChangeIsNotCached(t *testing.T) {
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	newUser := func() string {
		u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: uuid.NewString() + "@example.com", EmailVerified: true,
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	owner, member := newUser(), newUser()
	ps := &pausingStore{Store: db, user: member}
	composer, _ := notify.NewComposer("Test")
	svc := &org.Service{Store: ps, Audit: testAudit, Composer: composer, Outbox: noWake{}, LinkBase: "http://x", Now: time.Now, CacheTTL: 5 * time.Second}
	o, err := svc.Create(ctx, org.Caller{UserID: owner}, "Cache", "cache-"+owner[len(owner)-8:])
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddMember(ctx, &store.Member{OrgID: o.ID, UserID: member, Roles: []string{"member"}, JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	ps.read, ps.release = make(chan struct{}), make(chan struct{})
	read := ps.read
	done := make(chan error, 1)
	go func() { _, err := svc.Get(ctx, org.Caller{UserID: member}, o.ID); done <- err }()
	<-read // the member's read has its answer: still a member
	if err := svc.Remove(ctx, org.Caller{UserID: owner}, o.ID, member); err != nil {
		t.Fatal(err)
	}
	close(ps.release)
	if err := <-done; err != nil {
		t.Fatalf("the read in flight answered %v; it may answer with what it read", err)
	}
	if _, err := svc.Get(ctx, org.Caller{UserID: member}, o.ID); !errors.Is(err, org.ErrNotFound) {
		t.Fatalf("after removal, Get = %v; want ErrNotFound (a stale read was cached)", err)
	}
}
