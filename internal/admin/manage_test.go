package admin_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// Two administrators each remove the other at the same moment, many times over, on
// both databases: exactly one change wins each time, the other is ErrLastAdmin, and
// one enabled administrator always remains (the administrators' rows are locked
// before they are counted).
func TestConcurrentDemotions(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db, err := sqlstore.Open(t.Context(), b.URL(t), sqlstore.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			svc := &admin.Service{Store: db, Audit: audit.NewLog(make([]byte, 32)), Now: time.Now}
			f, tr := false, true
			for round := range 20 {
				var ids [2]string
				for i := range ids {
					now := time.Now().UTC()
					u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: uuid.NewString() + "@example.com", Admin: true,
						CreatedAt: now, UpdatedAt: now}
					if err := db.CreateUser(t.Context(), u); err != nil {
						t.Fatal(err)
					}
					ids[i] = u.ID
				}
				// Removals: demote one, disable the other (both take an administrator away).
				patches := [2]admin.Patch{{Admin: &f}, {Disabled: &tr}}
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i := range 2 {
					wg.Go(func() { _, errs[i] = svc.UpdateUser(t.Context(), ids[1-i], ids[i], patches[i]) })
				}
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, admin.ErrLastAdmin):
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if n, _ := db.CountAdmins(t.Context()); won != 1 || n != 1 {
					t.Fatalf("round %d: %d changes won (%v), %d administrators left; want 1 and 1", round, won, errs, n)
				}
				// The survivor is taken out of the administrators for the next round.
				for _, id := range ids {
					if err := db.SetUserDisabled(t.Context(), id, true, time.Now()); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// helpers for the domain tests below: a user with a session, and a throttle that
// remembers what it cleared.
func addUser(t *testing.T, db *sqlstore.DB, email string, isAdmin bool) *store.User {
	t.Helper()
	now := time.Now().UTC()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, EmailVerified: true, Admin: isAdmin, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func addSession(t *testing.T, db *sqlstore.DB, userID string) string {
	t.Helper()
	now := time.Now().UTC()
	s := &store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, IP: "192.0.2.1", CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s.ID
}

type forgotten struct {
	users    []string
	sessions []string
}

func (f *forgotten) hook(userID string, ids []string) {
	f.users = append(f.users, userID)
	f.sessions = append(f.sessions, ids...)
}

// A new email address counts as unverified unless said otherwise, and the links sent to
// the old one stop working; a taken address is ErrEmailTaken; each change is one audit
// event naming what changed; this process's caches are told.
func TestUpdateUserEmail(t *testing.T) {
	db, svc, u := setup(t)
	var f forgotten
	svc.Forget = f.hook
	ctx := t.Context()
	addUser(t, db, "taken@example.com", false)
	now := time.Now().UTC()
	if err := db.SetEmailVerified(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOneTimeToken(ctx, &store.OneTimeToken{Hash: "h1", Kind: store.TokenPasswordReset, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	email := "new@example.com"
	got, err := svc.UpdateUser(ctx, "admin-1", u.ID, admin.Patch{Email: &email})
	if err != nil || got.Email != email || got.EmailVerified {
		t.Fatalf("UpdateUser(email) = %+v, %v; want the new address, unverified", got, err)
	}
	if _, err := db.ConsumeOneTimeToken(ctx, "h1", store.TokenPasswordReset, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the link sent to the old address = %v, want it void", err)
	}
	if len(f.users) != 1 || f.users[0] != u.ID {
		t.Fatalf("caches told of %v", f.users)
	}
	yes := true
	if got, err = svc.UpdateUser(ctx, "admin-1", u.ID, admin.Patch{EmailVerified: &yes}); err != nil || !got.EmailVerified {
		t.Fatalf("UpdateUser(verified) = %+v, %v", got, err)
	}
	taken := "TAKEN@example.com"
	if _, err := svc.UpdateUser(ctx, "admin-1", u.ID, admin.Patch{Email: &taken}); !errors.Is(err, admin.ErrEmailTaken) {
		t.Fatalf("UpdateUser(taken) = %v, want ErrEmailTaken", err)
	}
	bad := "no"
	if _, err := svc.UpdateUser(ctx, "admin-1", u.ID, admin.Patch{Email: &bad}); !errors.Is(err, admin.ErrInvalidEmail) {
		t.Fatalf("UpdateUser(bad) = %v, want ErrInvalidEmail", err)
	}
	if _, err := svc.UpdateUser(ctx, "admin-1", uuid.NewString(), admin.Patch{Email: &email}); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
	evs, _ := db.ListAudit(ctx, store.AuditFilter{Action: string(admin.UserUpdated)})
	if len(evs) != 2 || evs[1].Details != `{"email":true,"email_verified":false}` || evs[0].Details != `{"email_verified":true}` ||
		evs[0].ActorID != "admin-1" {
		t.Fatalf("audit = %+v", evs)
	}
}

// The last enabled administrator can be neither demoted, disabled nor erased; with a
// second one each works.
func TestLastAdministratorStays(t *testing.T) {
	db, svc, _ := setup(t)
	ctx := t.Context()
	root := addUser(t, db, "root@example.com", true)
	no, yes := false, true
	for name, try := range map[string]func() error{
		"demote":  func() error { _, err := svc.UpdateUser(ctx, "", root.ID, admin.Patch{Admin: &no}); return err },
		"disable": func() error { _, err := svc.UpdateUser(ctx, "", root.ID, admin.Patch{Disabled: &yes}); return err },
		"SetDisabled": func() error {
			_, err := svc.SetDisabled(ctx, "", root.ID, true)
			return err
		},
		"erase": func() error { return svc.Erase(ctx, "", root.ID) },
	} {
		if err := try(); !errors.Is(err, admin.ErrLastAdmin) {
			t.Errorf("%s the last administrator = %v, want ErrLastAdmin", name, err)
		}
	}
	if u, _ := db.UserByID(ctx, root.ID); !u.Admin || u.Disabled {
		t.Fatalf("the administrator after refusals: %+v", u)
	}
	addUser(t, db, "second@example.com", true)
	if _, err := svc.UpdateUser(ctx, "", root.ID, admin.Patch{Admin: &no}); err != nil {
		t.Fatalf("demote with another administrator: %v", err)
	}
}

// Erasure: the user and what names them go, the sessions this process caches are
// forgotten, messages to the user's second-factor addresses are deleted, and the last
// owner of an organization is refused.
func TestErase(t *testing.T) {
	db, svc, u := setup(t)
	var f forgotten
	svc.Forget = f.hook
	ctx := t.Context()
	now := time.Now().UTC()
	sess := addSession(t, db, u.ID)
	if err := db.PutChannel(ctx, &store.MFAChannel{UserID: u.ID, Channel: store.ChannelSMS, Address: "+14155550123", Confirmed: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	sms := &store.Message{ID: uuid.NewString(), Channel: store.ChannelSMS, Recipient: "+14155550123", BodyText: "code", CreatedAt: now, NextAttemptAt: now}
	if err := db.EnqueueMessage(ctx, sms); err != nil {
		t.Fatal(err)
	}
	org := &store.Org{ID: uuid.NewString(), Name: "Acme", Slug: "acme", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := db.AddMember(ctx, &store.Member{OrgID: org.ID, UserID: u.ID, Roles: []string{"owner"}, JoinedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Erase(ctx, "admin-1", u.ID); !errors.Is(err, admin.ErrLastOwner) {
		t.Fatalf("erasing the last owner = %v, want ErrLastOwner", err)
	}
	other := addUser(t, db, "other@example.com", false)
	if err := db.AddMember(ctx, &store.Member{OrgID: org.ID, UserID: other.ID, Roles: []string{"owner"}, JoinedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Erase(ctx, "admin-1", u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserByID(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the user after erasure: %v", err)
	}
	if _, err := db.MessageByID(ctx, sms.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the SMS to the user's phone after erasure: %v", err)
	}
	if len(f.sessions) != 1 || f.sessions[0] != sess || len(f.users) != 1 || f.users[0] != u.ID {
		t.Fatalf("caches told of users %v, sessions %v; want %s and %s", f.users, f.sessions, u.ID, sess)
	}
	evs, _ := db.ListAudit(ctx, store.AuditFilter{Action: string(admin.UserErased)})
	if len(evs) != 1 || evs[0].TargetID != u.ID || evs[0].ActorID != "admin-1" || evs[0].Details != `{"via":"api"}` {
		t.Fatalf("audit = %+v", evs)
	}
	if err := svc.Erase(ctx, "admin-1", u.ID); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("erasing again = %v, want ErrNotFound", err)
	}
}
