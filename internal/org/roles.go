package org

import (
	"context"
	"errors"
	"sort"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RoleInfo describes a role of an org.
type RoleInfo struct {
	Name        string
	Permissions []string
	Builtin     bool
}

// builtinRoleInfo lists the built-in roles with their permissions.
func builtinRoleInfo() []RoleInfo {
	owner := resolve([]string{RoleOwner}, nil).List(nil)
	admin := resolve([]string{RoleAdmin}, nil).List(nil)
	return []RoleInfo{
		{Name: RoleOwner, Permissions: owner, Builtin: true},
		{Name: RoleAdmin, Permissions: admin, Builtin: true},
		{Name: RoleMember, Permissions: []string{PermMembersRead, PermOrgRead}, Builtin: true},
	}
}

// Roles lists built-in and custom roles (the caller needs roles:read).
func (s *Service) Roles(ctx context.Context, caller Caller, orgID string) ([]RoleInfo, error) {
	if _, err := s.require(ctx, orgID, caller, PermRolesRead); err != nil {
		return nil, wrap("roles", err)
	}
	custom, err := s.Store.ListRoles(ctx, orgID)
	if err != nil {
		return nil, wrap("roles", err)
	}
	out := builtinRoleInfo()
	for _, r := range custom {
		out = append(out, RoleInfo{Name: r.Name, Permissions: r.Permissions})
	}
	return out, nil
}

// PutRole defines or redefines a custom role. The caller needs roles:manage and must hold
// every permission the role bundles.
func (s *Service) PutRole(ctx context.Context, caller Caller, orgID, name string, perms []string) (*RoleInfo, error) {
	if _, err := s.require(ctx, orgID, caller, PermRolesManage); err != nil {
		return nil, wrap("put role", err)
	}
	if IsBuiltinRole(name) {
		return nil, ErrBuiltinRole
	}
	if !ValidRoleName(name) {
		return nil, &FieldError{"name", "must match ^[a-z][a-z0-9_-]{0,62}$"}
	}
	seen := map[string]bool{}
	clean := []string{}
	for _, p := range perms {
		if !ValidPermission(p) {
			return nil, &FieldError{"permissions", "contains an unknown permission: use built-in ones or app:..."}
		}
		if !seen[p] {
			seen[p] = true
			clean = append(clean, p)
		}
	}
	if len(clean) > 100 {
		return nil, &FieldError{"permissions", "must have at most 100 permissions"}
	}
	sort.Strings(clean)
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		actor, err := s.requireTx(ctx, q, orgID, caller, PermRolesManage)
		if err != nil {
			return err
		}
		if !actor.set.Covers(resolve([]string{name}, map[string][]string{name: clean})) {
			return ErrForbidden
		}
		// Redefining a role that members hold changes what they hold: the caller must also
		// cover what the role granted before.
		if old, err := q.RoleByName(ctx, orgID, name); err == nil {
			if !actor.set.Covers(resolve([]string{name}, map[string][]string{name: old.Permissions})) {
				return ErrForbidden
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := s.Now()
		if err := q.PutRole(ctx, &store.Role{OrgID: orgID, Name: name, Permissions: clean, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgRoleDefined, ActorID: caller.UserID, OrgID: orgID, TargetType: "role", TargetID: name,
			Time: now, Details: map[string]any{"permissions": clean}})
	})
	s.forget(orgID, "")
	if err != nil {
		return nil, wrap("put role", err)
	}
	return &RoleInfo{Name: name, Permissions: clean}, nil
}

// DeleteRole removes a custom role nobody holds (ErrRoleInUse while members hold it).
// Pending invitations naming it grant it no more when accepted.
func (s *Service) DeleteRole(ctx context.Context, caller Caller, orgID, name string) error {
	if _, err := s.require(ctx, orgID, caller, PermRolesManage); err != nil {
		return wrap("delete role", err)
	}
	if IsBuiltinRole(name) {
		return ErrBuiltinRole
	}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		actor, err := s.requireTx(ctx, q, orgID, caller, PermRolesManage)
		if err != nil {
			return err
		}
		old, err := q.RoleByName(ctx, orgID, name)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !actor.set.Covers(resolve([]string{name}, map[string][]string{name: old.Permissions})) {
			return ErrForbidden
		}
		// Deleting a role members hold would take power from them without a word: they
		// must be given other roles first.
		if n, err := q.CountMembersWithRole(ctx, orgID, name); err != nil {
			return err
		} else if n > 0 {
			return ErrRoleInUse
		}
		if err := q.DeleteRole(ctx, orgID, name); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgRoleDeleted, ActorID: caller.UserID, OrgID: orgID, TargetType: "role", TargetID: name, Time: s.Now()})
	})
	s.forget(orgID, "")
	return wrap("delete role", err)
}
