package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

func setup(t *testing.T) (*sqlstore.DB, *admin.Service, *store.User) {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: "ada@example.com", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return db, &admin.Service{Store: db, Audit: audit.NewLog(make([]byte, 32)), Now: time.Now}, u
}

func TestLookupByEmailOrID(t *testing.T) {
	_, svc, u := setup(t)
	for _, key := range []string{u.Email, "ADA@example.com", u.ID} {
		if got, err := svc.Lookup(t.Context(), key); err != nil || got.ID != u.ID {
			t.Fatalf("Lookup(%q) = %+v, %v", key, got, err)
		}
	}
	if _, err := svc.Lookup(t.Context(), "nobody@example.com"); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("Lookup(unknown) = %v, want ErrNotFound", err)
	}
}

// Disabling ends everything the account could still use (sessions, pending second-factor
// logins, emailed links) in one transaction with its audit event; enabling restores only
// the flag.
func TestDisablingEndsEverythingTheAccountCouldUse(t *testing.T) {
	db, svc, u := setup(t)
	ctx := t.Context()
	now := time.Now().UTC()
	for range 2 {
		if err := db.CreateSession(ctx, &store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, CreatedAt: now,
			LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	ch := &store.MFAChallenge{ID: uuid.Must(uuid.NewV7()).String(), TokenHash: "ch", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	if err := db.CreateChallenge(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOneTimeToken(ctx, &store.OneTimeToken{Hash: "reset", Kind: store.TokenPasswordReset, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	revoked, err := svc.SetDisabled(ctx, "admin-1", u.ID, true)
	if err != nil || revoked != 2 {
		t.Fatalf("SetDisabled = %d, %v; want 2 sessions revoked", revoked, err)
	}
	if got, _ := db.UserByID(ctx, u.ID); !got.Disabled {
		t.Fatal("the account is not disabled")
	}
	if live, _ := db.ListSessions(ctx, u.ID, now); len(live) != 0 {
		t.Fatalf("%d sessions still live", len(live))
	}
	if err := db.UseChallenge(ctx, ch.ID, now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the pending login after disabling = %v, want it ended", err)
	}
	if _, err := db.PeekOneTimeToken(ctx, "reset", store.TokenPasswordReset, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the reset link after disabling = %v, want it voided", err)
	}
	evs, err := db.ListAudit(ctx, store.AuditFilter{Action: string(admin.UserDisabled)})
	if err != nil || len(evs) != 1 || evs[0].ActorID != "admin-1" || evs[0].TargetID != u.ID {
		t.Fatalf("audit = %+v, %v; want one %s by admin-1", evs, err, admin.UserDisabled)
	}

	if _, err := svc.SetDisabled(ctx, "admin-1", u.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.UserByID(ctx, u.ID); got.Disabled {
		t.Fatal("the account is still disabled")
	}
	if _, err := svc.SetDisabled(ctx, "admin-1", "no-such-user", true); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("SetDisabled(unknown) = %v, want ErrNotFound", err)
	}
}

type failingReset struct{}

func (failingReset) Reset(_ context.Context, _, _ string) error {
	return errors.New("database is gone")
}

// A failure names the operation that failed.
func TestResetMFAFailureNamesTheOperation(t *testing.T) {
	_, svc, u := setup(t)
	svc.MFA = failingReset{}
	err := svc.ResetMFA(t.Context(), "", u.ID)
	if err == nil || err.Error() != "admin: reset mfa: database is gone" {
		t.Fatalf("ResetMFA = %v", err)
	}
}
