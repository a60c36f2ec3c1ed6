// Package org implements organizations: members, invitations, built-in and custom roles,
// permissions, policy, the authorization check, and the scope an org-bound session
// carries. Every operation is checked against the caller's own permissions in that
// organization; a non-member learns nothing (ErrNotFound).
package org

import (
	"regexp"
	"slices"
	"sort"
)

// Built-in permissions.
const (
	PermOrgRead       = "org:read"
	PermOrgUpdate     = "org:update"
	PermOrgDelete     = "org:delete"
	PermMembersRead   = "members:read"
	PermMembersInvite = "members:invite"
	PermMembersUpdate = "members:update"
	PermMembersRemove = "members:remove"
	PermRolesRead     = "roles:read"
	PermRolesManage   = "roles:manage"
	PermAuditRead     = "audit:read"
	PermPolicyManage  = "policy:manage"
)

// BuiltinPermissions lists every built-in permission.
var BuiltinPermissions = []string{PermOrgRead, PermOrgUpdate, PermOrgDelete, PermMembersRead, PermMembersInvite,
	PermMembersUpdate, PermMembersRemove, PermRolesRead, PermRolesManage, PermAuditRead, PermPolicyManage}

// Built-in roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// BuiltinRoles lists the built-in roles.
var BuiltinRoles = []string{RoleOwner, RoleAdmin, RoleMember}

var (
	slugRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	roleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	appPermRE  = regexp.MustCompile(`^app:[a-z0-9][a-z0-9_.:-]{0,126}$`)
)

// ValidSlug reports whether s is an acceptable organization slug.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// ValidRoleName reports whether s is an acceptable custom role name.
func ValidRoleName(s string) bool { return roleNameRE.MatchString(s) }

// ValidPermission reports whether p is a built-in or an application ("app:") permission.
func ValidPermission(p string) bool {
	return slices.Contains(BuiltinPermissions, p) || appPermRE.MatchString(p)
}

// IsBuiltinRole reports whether name is a built-in role.
func IsBuiltinRole(name string) bool { return slices.Contains(BuiltinRoles, name) }

// Set is what a member may do. Owners and admins hold every permission (admins all
// but org:delete); other roles hold exactly what they list.
type Set struct {
	all      bool
	except   map[string]bool // with all: the permissions not held
	explicit map[string]bool // without all: the permissions held
	owner    bool            // holds the owner role (only owners grant owner)
}

// Has reports whether the set holds permission p.
func (s Set) Has(p string) bool {
	if s.all {
		return !s.except[p]
	}
	return s.explicit[p]
}

// Covers reports whether everything o holds is also held by s: the test for granting o
// (no escalation) and for acting on a member holding o.
func (s Set) Covers(o Set) bool {
	if o.owner && !s.owner {
		return false
	}
	if o.all {
		if !s.all {
			return false
		}
		for p := range s.except {
			if !o.except[p] {
				return false
			}
		}
		return true
	}
	for p := range o.explicit {
		if !s.Has(p) {
			return false
		}
	}
	return true
}

// List returns the permissions held, for tokens: every built-in one the set holds and
// every application permission in known (the org's custom roles) that it holds.
func (s Set) List(known []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, p := range append(append([]string{}, BuiltinPermissions...), known...) {
		if !seen[p] && s.Has(p) {
			seen[p] = true
			out = append(out, p)
		}
	}
	for p := range s.explicit {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// resolve computes the set held through roles, given the org's custom roles by name.
// Unknown role names grant nothing.
func resolve(roles []string, custom map[string][]string) Set {
	s := Set{except: map[string]bool{}, explicit: map[string]bool{}}
	adminOnly := false
	for _, r := range roles {
		switch r {
		case RoleOwner:
			s.all, s.owner = true, true
		case RoleAdmin:
			adminOnly = true
		case RoleMember:
			s.explicit[PermOrgRead], s.explicit[PermMembersRead] = true, true
		default:
			for _, p := range custom[r] {
				s.explicit[p] = true
			}
		}
	}
	if adminOnly && !s.all {
		s.all = true
		// An admin who also holds org:delete through a custom role keeps it.
		if !s.explicit[PermOrgDelete] {
			s.except[PermOrgDelete] = true
		}
	}
	if s.all {
		s.explicit = map[string]bool{}
	}
	return s
}
