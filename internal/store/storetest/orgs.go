package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newOrg(t *testing.T, s store.Store, slug string) *store.Org {
	t.Helper()
	o := &store.Org{ID: newID(), Name: "Org " + slug, Slug: slug, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateOrg(t.Context(), o); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	return o
}

func addMember(t *testing.T, s store.Store, orgID, userID string, roles ...string) {
	t.Helper()
	if err := s.AddMember(t.Context(), &store.Member{OrgID: orgID, UserID: userID, Roles: roles, JoinedAt: base}); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
}

func testOrgs(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newOrg(t, s, "acme")
	b := newOrg(t, s, "globex")
	if err := s.CreateOrg(ctx, &store.Org{ID: newID(), Name: "x", Slug: "acme", CreatedAt: base, UpdatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken slug: %v, want ErrConflict", err)
	}
	alice, bob := newUser(t, s, "alice@acme.test"), newUser(t, s, "bob@acme.test")
	addMember(t, s, a.ID, alice.ID, "owner")
	addMember(t, s, a.ID, bob.ID, "member", "owners-helper")
	addMember(t, s, b.ID, bob.ID, "owner")
	if err := s.AddMember(ctx, &store.Member{OrgID: a.ID, UserID: bob.ID, Roles: []string{"member"}, JoinedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate membership: %v", err)
	}

	m, err := s.MemberOf(ctx, a.ID, bob.ID)
	if err != nil || m.Email != "bob@acme.test" || !slices.Equal(m.Roles, []string{"member", "owners-helper"}) {
		t.Fatalf("MemberOf = %+v, %v", m, err)
	}
	// Tenant isolation: alice is nobody in globex.
	if _, err := s.MemberOf(ctx, b.ID, alice.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MemberOf across tenants = %v, want ErrNotFound", err)
	}
	if n, _ := s.CountMembersWithRole(ctx, a.ID, "owner"); n != 1 {
		t.Fatalf("owners of acme = %d, want 1 (owners-helper is another role)", n)
	}
	if n, _ := s.CountMembersWithRole(ctx, a.ID, "owners_helper"); n != 0 {
		t.Fatalf("members holding owners_helper = %d, want 0 (\"_\" is not a wildcard)", n)
	}
	list, _ := s.ListMembers(ctx, a.ID, "", 10)
	if len(list) != 2 {
		t.Fatalf("ListMembers = %d", len(list))
	}
	page, _ := s.ListMembers(ctx, a.ID, list[0].UserID, 10)
	if len(page) != 1 || page[0].UserID != list[1].UserID {
		t.Fatalf("ListMembers after = %+v", page)
	}
	orgs, _ := s.ListUserOrgs(ctx, bob.ID, "", 10)
	if len(orgs) != 2 {
		t.Fatalf("bob's orgs = %+v", orgs)
	}

	if err := s.SetMemberRoles(ctx, a.ID, bob.ID, []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMemberRoles(ctx, b.ID, alice.ID, []string{"admin"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetMemberRoles across tenants = %v", err)
	}

	// Roles.
	role := &store.Role{OrgID: a.ID, Name: "billing", Permissions: []string{"org:read", "app:invoices:write"}, CreatedAt: base, UpdatedAt: base}
	if err := s.PutRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	role.Permissions = []string{"app:invoices:read"}
	if err := s.PutRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	if r, err := s.RoleByName(ctx, a.ID, "billing"); err != nil || !slices.Equal(r.Permissions, []string{"app:invoices:read"}) {
		t.Fatalf("RoleByName = %+v, %v", r, err)
	}
	if _, err := s.RoleByName(ctx, b.ID, "billing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("role across tenants = %v", err)
	}
	s.SetMemberRoles(ctx, a.ID, bob.ID, []string{"billing", "member"})
	if err := s.DeleteRole(ctx, a.ID, "billing"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.MemberOf(ctx, a.ID, bob.ID); !slices.Equal(m.Roles, []string{"member"}) {
		t.Fatalf("after deleting the role bob holds %v", m.Roles)
	}
	if err := s.DeleteRole(ctx, a.ID, "billing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice = %v", err)
	}

	// Invitations.
	inv := func(hash string, at time.Time) *store.Invitation {
		i := &store.Invitation{ID: newID(), OrgID: a.ID, Email: "Carol@Example.com", Roles: []string{"member"}, TokenHash: hash,
			InvitedBy: alice.ID, CreatedAt: at, ExpiresAt: at.Add(7 * 24 * time.Hour)}
		if err := s.CreateInvitation(ctx, i); err != nil {
			t.Fatal(err)
		}
		return i
	}
	first := inv("h1", base)
	second := inv("h2", base.Add(time.Minute))
	if _, err := s.PeekInvitation(ctx, "h1", base.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an older invitation to the same address still works: %v", err)
	}
	pending, _ := s.ListInvitations(ctx, a.ID, "", base.Add(time.Hour), 10)
	if len(pending) != 1 || pending[0].ID != second.ID {
		t.Fatalf("pending = %+v", pending)
	}
	if l, _ := s.ListInvitations(ctx, a.ID, "", second.ExpiresAt, 10); len(l) != 0 {
		t.Fatalf("an expired invitation is listed as pending: %+v", l)
	}
	if got, err := s.AcceptInvitation(ctx, "h2", base.Add(time.Hour)); err != nil || got.ID != second.ID {
		t.Fatalf("AcceptInvitation = %+v, %v", got, err)
	}
	if _, err := s.AcceptInvitation(ctx, "h2", base.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("accepting twice = %v", err)
	}
	third := inv("h3", base)
	if _, err := s.AcceptInvitation(ctx, "h3", base.Add(8*24*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired invitation accepted: %v", err)
	}
	if err := s.RevokeInvitation(ctx, b.ID, third.ID, base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking across tenants = %v", err)
	}
	if err := s.RevokeInvitation(ctx, a.ID, third.ID, base); err != nil {
		t.Fatal(err)
	}
	_ = first

	// Policy and rename.
	a.Name, a.RequireMFA, a.SessionTTLSeconds, a.PasswordMinLength, a.UpdatedAt = "Acme Inc", true, 3600, 16, base.Add(time.Hour)
	if err := s.UpdateOrg(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.OrgByID(ctx, a.ID); got.Name != "Acme Inc" || !got.RequireMFA || got.SessionTTLSeconds != 3600 || got.PasswordMinLength != 16 {
		t.Fatalf("after update: %+v", got)
	}
	a.Slug = "globex"
	if err := s.UpdateOrg(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("renaming onto a taken slug = %v", err)
	}

	// Deletion takes members, roles and invitations, and nothing of the other org.
	if err := s.InTx(ctx, func(q store.Queries) error {
		if err := q.LockOrg(ctx, a.ID, base); err != nil {
			return err
		}
		return q.DeleteOrg(ctx, a.ID)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OrgByID(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("org still there")
	}
	if _, err := s.MemberOf(ctx, a.ID, alice.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("membership survived its org")
	}
	if l, _ := s.ListInvitations(ctx, a.ID, "", base, 10); len(l) != 0 {
		t.Fatal("invitations survived their org")
	}
	if _, err := s.MemberOf(ctx, b.ID, bob.ID); err != nil {
		t.Fatal("the other org lost a member")
	}
	if err := s.LockOrg(ctx, a.ID, base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LockOrg(deleted) = %v", err)
	}
}
