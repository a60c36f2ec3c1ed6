package oidc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// TestConcurrentCodeExchange forces the interleaving in which two exchanges of one
// code both read it unused (each holds the request it read before either wrote): the
// code is consumed in the transaction that starts the grant, so the second loses,
// gets invalid_grant, and revokes the grant the first got.
func TestConcurrentCodeExchange(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	log := audit.NewLog(make([]byte, 32))
	sessions := session.NewService(&session.Service{Store: db, IdleTTL: time.Hour, AbsoluteTTL: 24 * time.Hour,
		Now: time.Now, CacheTTL: time.Second, Audit: log}, nil)
	s := &Storage{Store: db, Sessions: sessions, Audit: log, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
		AccessTTL: time.Minute, clients: cache.New[string, store.Client](time.Second, time.Now)}

	u := &store.User{ID: "u1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	browser := &store.Session{ID: "b1", UserID: u.ID, Kind: store.SessionBrowser, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	c := &store.Client{ID: "c1", Name: "App", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"},
		AuthMethod: "client_secret_basic", Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}
	_, hash := token.NewOpaque()
	req := &store.AuthRequest{ID: "r1", ClientID: c.ID, RedirectURI: c.RedirectURIs[0], Scopes: []string{"openid"}, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour)}
	for _, step := range []func() error{
		func() error { return db.CreateUser(ctx, u) },
		func() error { return db.CreateSession(ctx, browser) },
		func() error { return db.CreateClient(ctx, c) },
		func() error { return db.CreateAuthRequest(ctx, req) },
		func() error { return db.CompleteAuthRequest(ctx, req.ID, u.ID, browser.ID, now, []string{"pwd"}) },
		func() error { return db.SetAuthCode(ctx, req.ID, hash, now.Add(time.Minute)) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	// Both exchanges read the request before either consumed the code.
	seenByFirst, err := db.AuthRequestByID(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	seenBySecond := *seenByFirst

	grant, _, err := s.exchangeCode(ctx, seenByFirst, false)
	if err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	_, _, err = s.exchangeCode(ctx, &seenBySecond, false)
	var oe *oidc.Error
	if !errors.As(err, &oe) || oe.ErrorType != oidc.InvalidGrant {
		t.Fatalf("second exchange: %v, want invalid_grant", err)
	}
	got, err := db.SessionByID(ctx, grant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || got.RevokeReason != session.ReasonCodeReused {
		t.Fatalf("the first exchange's grant was not revoked: %+v", got)
	}
}
