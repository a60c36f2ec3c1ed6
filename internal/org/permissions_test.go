package org

import (
	"slices"
	"testing"
)

func TestResolveAndCovers(t *testing.T) {
	custom := map[string][]string{"billing": {"app:invoices:write", PermOrgRead}, "deleter": {PermOrgDelete}}
	owner := resolve([]string{RoleOwner}, custom)
	admin := resolve([]string{RoleAdmin}, custom)
	member := resolve([]string{RoleMember}, custom)
	billing := resolve([]string{"billing"}, custom)
	nothing := resolve([]string{"no-such-role"}, custom)

	if !owner.Has(PermOrgDelete) || !owner.Has("app:anything") || admin.Has(PermOrgDelete) || !admin.Has(PermPolicyManage) ||
		!member.Has(PermMembersRead) || member.Has(PermMembersInvite) || !billing.Has("app:invoices:write") || nothing.Has(PermOrgRead) {
		t.Fatal("Has is wrong")
	}
	for _, tc := range []struct {
		name string
		a, b Set
		want bool
	}{
		{"owner covers owner", owner, owner, true},
		{"admin does not cover owner", admin, owner, false},
		{"admin covers admin", admin, admin, true},
		{"admin covers billing", admin, billing, true},
		{"admin does not cover org:delete", admin, resolve([]string{"deleter"}, custom), false},
		{"member does not cover admin", member, admin, false},
		{"member does not cover billing", member, billing, false},
		{"billing covers member? no, lacks members:read", billing, member, false},
		{"anyone covers nothing", member, nothing, true},
		// Every permission is not the owner role: only an owner grants or acts on one.
		{"admin with org:delete does not cover owner", resolve([]string{RoleAdmin, "deleter"}, custom), owner, false},
	} {
		if got := tc.a.Covers(tc.b); got != tc.want {
			t.Errorf("%s: Covers = %v", tc.name, got)
		}
	}
	if l := admin.List([]string{"app:invoices:write"}); slices.Contains(l, PermOrgDelete) || !slices.Contains(l, "app:invoices:write") {
		t.Fatalf("admin list = %v", l)
	}
}

func TestNames(t *testing.T) {
	for s, want := range map[string]bool{"acme": true, "a": false, "acme-inc": true, "-acme": false, "Acme": false, "ac_me": false} {
		if ValidSlug(s) != want {
			t.Errorf("ValidSlug(%q) != %v", s, want)
		}
	}
	for p, want := range map[string]bool{"org:read": true, "app:invoices:write": true, "app:": false, "admin": false, "org:nuke": false, "app:X": false} {
		if ValidPermission(p) != want {
			t.Errorf("ValidPermission(%q) != %v", p, want)
		}
	}
	for r, want := range map[string]bool{"billing": true, "b": true, "1x": false, "Billing": false, "bill ing": false} {
		if ValidRoleName(r) != want {
			t.Errorf("ValidRoleName(%q) != %v", r, want)
		}
	}
}
