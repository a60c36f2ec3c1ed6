package admin_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

const adminPassword = "a fine long admin passphrase"

func newHasher(t *testing.T) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// withAccounts gives the service what creating accounts needs.
func withAccounts(t *testing.T, svc *admin.Service) *admin.Service {
	svc.Hasher, svc.Policy, svc.Product = newHasher(t), password.Policy{MinLength: 12}, "Gatehouse"
	return svc
}

func checkPassword(t *testing.T, db store.Store, userID, pw string) bool {
	t.Helper()
	hash, err := db.PasswordHash(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	ok, _, err := newHasher(t).Verify(t.Context(), password.Normalize(pw), hash)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// An operator creates an administrator (or any account) with a checked password; the
// address counts as verified, and the creation is audited.
func TestCreateUser(t *testing.T) {
	db, svc, _ := setup(t)
	withAccounts(t, svc)
	ctx := t.Context()
	u, err := svc.CreateUser(ctx, "", admin.NewUser{Email: " Ops@Example.com ", Name: "Ops", Password: adminPassword, Admin: true, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.UserByEmail(ctx, "ops@example.com")
	if err != nil || got.ID != u.ID || !got.Admin || !got.EmailVerified || got.Email != "Ops@Example.com" || got.Name != "Ops" {
		t.Fatalf("created user = %+v, %v", got, err)
	}
	if !checkPassword(t, db, u.ID, adminPassword) {
		t.Fatal("the password does not verify")
	}
	evs, _ := db.ListAudit(ctx, store.AuditFilter{Action: string(audit.AdminUserCreated)})
	if len(evs) != 1 || evs[0].TargetID != u.ID || evs[0].ActorID != "" || evs[0].Details != `{"admin":true,"email_verified":true,"password":true,"reset_sent":false,"via":"cli"}` {
		t.Fatalf("audit = %+v", evs)
	}
	plain, err := svc.CreateUser(ctx, "admin-1", admin.NewUser{Email: "plain@example.com", Password: adminPassword})
	if err != nil || plain.Admin {
		t.Fatalf("CreateUser(not admin) = %+v, %v", plain, err)
	}
	if n, _ := db.CountAdmins(ctx); n != 1 {
		t.Fatalf("CountAdmins = %d, want 1", n)
	}
	for _, tc := range []struct {
		in   admin.NewUser
		want error
	}{
		{admin.NewUser{Email: "OPS@example.com", Password: adminPassword}, admin.ErrEmailTaken},
		{admin.NewUser{Email: "not an email", Password: adminPassword}, admin.ErrInvalidEmail},
		{admin.NewUser{Email: "Ops <x@example.com>", Password: adminPassword}, admin.ErrInvalidEmail},
		{admin.NewUser{Email: "x@localhost", Password: adminPassword}, admin.ErrInvalidEmail},
		{admin.NewUser{Email: "x@example.com", Name: strings.Repeat("n", 201), Password: adminPassword}, admin.ErrInvalidName},
		{admin.NewUser{Email: "x@example.com", Name: "a\x00b", Password: adminPassword}, admin.ErrInvalidName},
	} {
		if _, err := svc.CreateUser(ctx, "", tc.in); !errors.Is(err, tc.want) {
			t.Errorf("CreateUser(%+v) = %v, want %v", tc.in, err, tc.want)
		}
	}
	if _, err := svc.CreateUser(ctx, "", admin.NewUser{Email: "x@example.com"}); !errors.Is(err, admin.ErrNoPassword) {
		t.Errorf("CreateUser without a password or a reset link = %v, want ErrNoPassword", err)
	}
	for _, pw := range []string{"short", "123456789012", "my gatehouse password"} {
		var weak *password.Weak
		if _, err := svc.CreateUser(ctx, "", admin.NewUser{Email: "x@example.com", Password: pw}); !errors.As(err, &weak) {
			t.Errorf("CreateUser with password %q = %v, want it refused as weak", pw, err)
		}
	}
}

// On an instance without administrator the bootstrap creates one, once.
func TestBootstrapCreatesTheAdministratorOnce(t *testing.T) {
	db, svc, _ := setup(t)
	withAccounts(t, svc)
	ctx := t.Context()
	did, err := svc.Bootstrap(ctx, "root@example.com", adminPassword)
	if err != nil || did != admin.BootstrapCreated {
		t.Fatalf("Bootstrap = %q, %v", did, err)
	}
	u, err := db.UserByEmail(ctx, "root@example.com")
	if err != nil || !u.Admin || !u.EmailVerified || !checkPassword(t, db, u.ID, adminPassword) {
		t.Fatalf("bootstrap administrator = %+v, %v", u, err)
	}
	// Later starts find it and change nothing, whatever the settings say by then.
	for _, email := range []string{"root@example.com", "someone-else@example.com"} {
		if did, err := svc.Bootstrap(ctx, email, "another long passphrase"); err != nil || did != admin.BootstrapNothing {
			t.Fatalf("Bootstrap again = %q, %v", did, err)
		}
	}
	if !checkPassword(t, db, u.ID, adminPassword) {
		t.Fatal("a later start changed the administrator's password")
	}
	evs, _ := db.ListAudit(ctx, store.AuditFilter{Action: string(audit.AdminUserCreated)})
	if len(evs) != 1 || evs[0].TargetID != u.ID || evs[0].Details != `{"via":"bootstrap"}` {
		t.Fatalf("audit = %+v", evs)
	}
	if _, err := db.UserByEmail(ctx, "someone-else@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a second administrator was created")
	}
}

// An account that already has the email is promoted: it gets the configured password
// and its sessions end, so whoever held it before the operator named it loses it.
func TestBootstrapPromotesTheAccountWithTheEmail(t *testing.T) {
	db, svc, u := setup(t)
	withAccounts(t, svc)
	ctx := t.Context()
	now := time.Now().UTC()
	if err := db.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", now); err != nil {
		t.Fatal(err)
	}
	sess := &store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	did, err := svc.Bootstrap(ctx, "ADA@example.com", adminPassword)
	if err != nil || did != admin.BootstrapPromoted {
		t.Fatalf("Bootstrap = %q, %v", did, err)
	}
	got, _ := db.UserByID(ctx, u.ID)
	if !got.Admin || !got.EmailVerified || !checkPassword(t, db, u.ID, adminPassword) {
		t.Fatalf("promoted account = %+v", got)
	}
	if s, _ := db.SessionByID(ctx, sess.ID); s.RevokedAt == nil || s.RevokeReason != admin.ReasonBootstrapPromoted {
		t.Fatalf("the account's session after promotion = %+v", s)
	}
	evs, _ := db.ListAudit(ctx, store.AuditFilter{Action: string(audit.AdminUserPromoted)})
	if len(evs) != 1 || evs[0].TargetID != u.ID || !strings.Contains(evs[0].Details, `"sessions_revoked":1`) ||
		!strings.Contains(evs[0].Details, `"via":"bootstrap"`) {
		t.Fatalf("audit = %+v", evs)
	}
	// A disabled administrator is not replaced behind the operator's back. (The service
	// refuses to disable the last one; the database may hold one disabled nonetheless.)
	if _, err := svc.SetDisabled(ctx, "", u.ID, true); !errors.Is(err, admin.ErrLastAdmin) {
		t.Fatalf("disabling the last administrator = %v, want ErrLastAdmin", err)
	}
	if err := db.SetUserDisabled(ctx, u.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bootstrap(ctx, u.Email, adminPassword); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("Bootstrap with the administrator disabled = %v", err)
	}
}

// A weak or malformed bootstrap setting stops the start, saying why.
func TestBootstrapRefusesWeakSettings(t *testing.T) {
	db, svc, _ := setup(t)
	withAccounts(t, svc)
	var weak *password.Weak
	if _, err := svc.Bootstrap(t.Context(), "root@example.com", "root@example.com!!"); !errors.As(err, &weak) {
		t.Fatalf("Bootstrap with a password containing the email = %v", err)
	}
	if _, err := svc.Bootstrap(t.Context(), "root", adminPassword); !errors.Is(err, admin.ErrInvalidEmail) {
		t.Fatalf("Bootstrap with a bad email = %v", err)
	}
	if n, _ := db.CountAdmins(t.Context()); n != 0 {
		t.Fatal("an administrator was created")
	}
}

// Replicas starting together on one database agree on one administrator: one creates
// (or promotes) it, the others find it; one audit event.
func TestBootstrapFromReplicasStartingTogether(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			for _, existing := range []bool{false, true} {
				email := "new-root@example.com"
				if existing {
					email = "old-root@example.com"
				}
				const replicas = 4
				svcs := make([]*admin.Service, replicas)
				var first *sqlstore.DB
				for i := range svcs {
					db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{MaxConns: 2})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					if _, err := db.Migrate(t.Context()); err != nil {
						t.Fatal(err)
					}
					if i == 0 {
						first = db
					}
					svcs[i] = withAccounts(t, &admin.Service{Store: db, Audit: audit.NewLog(make([]byte, 32)), Now: time.Now})
				}
				if existing {
					now := time.Now().UTC()
					if err := first.CreateUser(t.Context(), &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, CreatedAt: now, UpdatedAt: now}); err != nil {
						t.Fatal(err)
					}
				}
				results := make(chan string, replicas)
				var wg sync.WaitGroup
				for _, svc := range svcs {
					wg.Go(func() {
						did, err := svc.Bootstrap(t.Context(), email, adminPassword)
						if err != nil {
							t.Errorf("Bootstrap: %v", err)
						}
						results <- did
					})
				}
				wg.Wait()
				close(results)
				acted := 0
				for did := range results {
					if did != admin.BootstrapNothing {
						acted++
					}
				}
				if acted != 1 {
					t.Fatalf("existing=%v: %d replicas acted, want exactly 1", existing, acted)
				}
				if n, _ := first.CountAdmins(t.Context()); n != 1 {
					t.Fatalf("existing=%v: %d administrators, want 1", existing, n)
				}
				action := audit.AdminUserCreated
				if existing {
					action = audit.AdminUserPromoted
				}
				if evs, _ := first.ListAudit(t.Context(), store.AuditFilter{Action: string(action), Limit: 100}); len(evs) != 1 {
					t.Fatalf("existing=%v: %d %s events, want 1", existing, len(evs), action)
				}
				// Start over without an administrator for the second round.
				if u, err := first.UserByEmail(t.Context(), email); err == nil {
					if err := first.SetUserAdmin(t.Context(), u.ID, false, time.Now()); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// staleCount is a replica that counted administrators before another replica's
// bootstrap committed.
type staleCount struct{ *sqlstore.DB }

func (staleCount) CountAdmins(context.Context) (int, error) { return 0, nil }

// The bootstrap decides again inside its transaction: a replica that saw no
// administrator a moment ago finds the one another replica made, and makes no second.
func TestBootstrapLooksAgainInItsTransaction(t *testing.T) {
	db, svc, _ := setup(t)
	withAccounts(t, svc)
	if did, err := svc.Bootstrap(t.Context(), "first@example.com", adminPassword); err != nil || did != admin.BootstrapCreated {
		t.Fatalf("Bootstrap = %q, %v", did, err)
	}
	late := withAccounts(t, &admin.Service{Store: staleCount{db}, Audit: audit.NewLog(make([]byte, 32)), Now: time.Now})
	for _, email := range []string{"second@example.com", "first@example.com"} {
		if did, err := late.Bootstrap(t.Context(), email, adminPassword); err != nil || did != admin.BootstrapNothing {
			t.Fatalf("Bootstrap(%s) after another replica's = %q, %v; want nothing done", email, did, err)
		}
	}
	if n, _ := db.CountAdmins(t.Context()); n != 1 {
		t.Fatalf("%d administrators, want 1", n)
	}
}
