package org_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// orgRig is an organization service over a fresh SQLite database.
type orgRig struct {
	db  *sqlstore.DB
	svc *org.Service
}

func newOrgRig(t *testing.T) *orgRig {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	composer, err := notify.NewComposer("Test")
	if err != nil {
		t.Fatal(err)
	}
	return &orgRig{db: db, svc: &org.Service{Store: db, Audit: testAudit, Composer: composer, Outbox: noWake{},
		LinkBase: "http://x", Now: time.Now, CacheTTL: 5 * time.Second}}
}

func (r *orgRig) user(t *testing.T) string {
	t.Helper()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: uuid.NewString() + "@example.com", EmailVerified: true,
		CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := r.db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func (r *orgRig) org(t *testing.T, owner string) string {
	t.Helper()
	o, err := r.svc.Create(t.Context(), org.Caller{UserID: owner}, "Acme", "acme-"+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func (r *orgRig) join(t *testing.T, orgID, userID string, roles ...string) {
	t.Helper()
	if err := r.db.AddMember(t.Context(), &store.Member{OrgID: orgID, UserID: userID, Roles: roles, JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// An organization that requires a second factor refuses members whose session lacks
// one, in the API and when a session is scoped to it.
func TestRequiredMFARefusesCallersWithoutIt(t *testing.T) {
	r := newOrgRig(t)
	owner, member := r.user(t), r.user(t)
	orgID := r.org(t, owner)
	r.join(t, orgID, member, org.RoleMember)
	withMFA := []string{"pwd", "mfa"}
	if _, err := r.svc.SetPolicy(t.Context(), org.Caller{UserID: owner, AMR: withMFA}, orgID, org.Policy{RequireMFA: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Get(t.Context(), org.Caller{UserID: member, AMR: []string{"pwd"}}, orgID); !errors.Is(err, org.ErrMFAEnrollmentRequired) {
		t.Fatalf("a member without a second factor = %v, want ErrMFAEnrollmentRequired", err)
	}
	if _, err := r.svc.ScopeSession(t.Context(), r.db, member, orgID, []string{"pwd"}); !errors.Is(err, org.ErrMFAEnrollmentRequired) {
		t.Fatalf("scoping a session without a second factor = %v, want ErrMFAEnrollmentRequired", err)
	}
	if err := r.db.SetMFAEnabled(t.Context(), member, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Get(t.Context(), org.Caller{UserID: member, AMR: []string{"pwd"}}, orgID); !errors.Is(err, org.ErrMFARequired) {
		t.Fatalf("a member with a second factor, signed in without it = %v, want ErrMFARequired", err)
	}
	if _, err := r.svc.Get(t.Context(), org.Caller{UserID: member, AMR: withMFA}, orgID); err != nil {
		t.Fatalf("a member signed in with a second factor: %v", err)
	}
	if _, err := r.svc.ScopeSession(t.Context(), r.db, member, orgID, withMFA); err != nil {
		t.Fatalf("scoping a session with a second factor: %v", err)
	}
}

// A token scoped to one organization acts in it only, even on another its user owns.
func TestAScopedTokenActsOnlyInItsOrganization(t *testing.T) {
	r := newOrgRig(t)
	owner := r.user(t)
	a, b := r.org(t, owner), r.org(t, owner)
	scoped := org.Caller{UserID: owner, Scope: a}
	if _, err := r.svc.Get(t.Context(), scoped, a); err != nil {
		t.Fatalf("the token's own organization: %v", err)
	}
	if _, err := r.svc.Get(t.Context(), scoped, b); !errors.Is(err, org.ErrOutOfScope) {
		t.Fatalf("another organization = %v, want ErrOutOfScope", err)
	}
	if _, err := r.svc.PutRole(t.Context(), scoped, b, "auditor", []string{org.PermAuditRead}); !errors.Is(err, org.ErrOutOfScope) {
		t.Fatalf("changing another organization = %v, want ErrOutOfScope", err)
	}
	if _, err := r.svc.Create(t.Context(), scoped, "New", "new-org"); !errors.Is(err, org.ErrOutOfScope) {
		t.Fatalf("creating an organization with a scoped token = %v, want ErrOutOfScope", err)
	}
}

// Invitations and role changes grant nothing beyond what the granter holds.
func TestGrantsCannotExceedTheGranter(t *testing.T) {
	r := newOrgRig(t)
	owner, admin, member := r.user(t), r.user(t), r.user(t)
	orgID := r.org(t, owner)
	r.join(t, orgID, admin, org.RoleAdmin)
	r.join(t, orgID, member, org.RoleMember)
	asAdmin := org.Caller{UserID: admin}
	if _, err := r.svc.Invite(t.Context(), asAdmin, orgID, "new@example.com", []string{org.RoleOwner}); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("an admin inviting an owner = %v, want ErrForbidden", err)
	}
	if _, err := r.svc.SetRoles(t.Context(), asAdmin, orgID, member, []string{org.RoleOwner}); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("an admin making an owner = %v, want ErrForbidden", err)
	}
	if _, err := r.svc.SetRoles(t.Context(), asAdmin, orgID, owner, []string{org.RoleMember}); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("an admin demoting the owner = %v, want ErrForbidden", err)
	}
	if err := r.svc.Remove(t.Context(), asAdmin, orgID, owner); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("an admin removing the owner = %v, want ErrForbidden", err)
	}
	if _, err := r.svc.Invite(t.Context(), asAdmin, orgID, "new@example.com", []string{org.RoleAdmin}); err != nil {
		t.Fatalf("an admin inviting an admin: %v", err)
	}
}

// A non-member learns nothing; a member acts only with the permission; a custom role
// holds nothing its creator lacks.
func TestPermissionsAndCustomRolesStayWithinTheCaller(t *testing.T) {
	r := newOrgRig(t)
	owner, admin, member, stranger := r.user(t), r.user(t), r.user(t), r.user(t)
	orgID := r.org(t, owner)
	r.join(t, orgID, admin, org.RoleAdmin)
	r.join(t, orgID, member, org.RoleMember)
	if _, err := r.svc.Get(t.Context(), org.Caller{UserID: stranger}, orgID); !errors.Is(err, org.ErrNotFound) {
		t.Fatalf("a non-member = %v, want ErrNotFound", err)
	}
	if _, err := r.svc.SetRoles(t.Context(), org.Caller{UserID: owner}, orgID, stranger, []string{org.RoleMember}); !errors.Is(err, org.ErrNotFound) {
		t.Fatalf("giving roles to a non-member = %v, want ErrNotFound", err)
	}
	if err := r.svc.Remove(t.Context(), org.Caller{UserID: owner}, orgID, stranger); !errors.Is(err, org.ErrNotFound) {
		t.Fatalf("removing a non-member = %v, want ErrNotFound", err)
	}
	if _, err := r.svc.PutRole(t.Context(), org.Caller{UserID: member}, orgID, "auditor", []string{org.PermAuditRead}); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("a member without roles:manage defining a role = %v, want ErrForbidden", err)
	}
	if _, err := r.svc.PutRole(t.Context(), org.Caller{UserID: admin}, orgID, "deleter", []string{org.PermOrgDelete}); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("an admin defining a role with org:delete = %v, want ErrForbidden", err)
	}
	if _, err := r.svc.PutRole(t.Context(), org.Caller{UserID: admin}, orgID, "auditor", []string{org.PermAuditRead}); err != nil {
		t.Fatalf("an admin defining a role within their own permissions: %v", err)
	}
	name := "Renamed"
	if _, err := r.svc.Update(t.Context(), org.Caller{UserID: member}, orgID, &name, nil); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("a member without org:update renaming the organization = %v, want ErrForbidden", err)
	}
	if _, err := r.svc.Invite(t.Context(), org.Caller{UserID: member}, orgID, "new@example.com", []string{org.RoleMember}); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("a member without members:invite inviting = %v, want ErrForbidden", err)
	}
	if _, err := r.svc.SetRoles(t.Context(), org.Caller{UserID: member}, orgID, member, []string{org.RoleAdmin}); !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("a member promoting themselves = %v, want ErrForbidden", err)
	}
}
