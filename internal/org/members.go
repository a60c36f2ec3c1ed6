package org

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Members lists the org's members (the caller needs members:read).
func (s *Service) Members(ctx context.Context, caller Caller, orgID, after string, limit int) ([]store.Member, error) {
	if _, err := s.require(ctx, orgID, caller, PermMembersRead); err != nil {
		return nil, wrap("members", err)
	}
	m, err := s.Store.ListMembers(ctx, orgID, after, limit)
	if err != nil {
		return nil, wrap("members", err)
	}
	return m, nil
}

// checkRoles validates role names against the org's roles and returns the set they grant.
func (s *Service) checkRoles(ctx context.Context, q store.Orgs, orgID string, roles []string) (Set, error) {
	if len(roles) == 0 {
		return Set{}, &FieldError{"roles", "must name at least one role"}
	}
	custom := map[string][]string{}
	seen := map[string]bool{}
	for _, r := range roles {
		if seen[r] {
			return Set{}, &FieldError{"roles", "must not repeat a role"}
		}
		seen[r] = true
		if IsBuiltinRole(r) {
			continue
		}
		if !ValidRoleName(r) {
			return Set{}, &FieldError{"roles", "contains an invalid role name"}
		}
		role, err := q.RoleByName(ctx, orgID, r)
		if errors.Is(err, store.ErrNotFound) {
			return Set{}, &FieldError{"roles", "contains a role that does not exist: " + r}
		}
		if err != nil {
			return Set{}, err
		}
		custom[r] = role.Permissions
	}
	return resolve(roles, custom), nil
}

// SetRoles replaces a member's roles. The caller needs members:update, must hold
// everything both the old and the new roles grant (no escalation, no acting on someone
// more powerful), and cannot demote the last owner.
func (s *Service) SetRoles(ctx context.Context, caller Caller, orgID, userID string, roles []string) (*store.Member, error) {
	if _, err := s.require(ctx, orgID, caller, PermMembersUpdate); err != nil {
		return nil, wrap("set roles", err)
	}
	var out *store.Member
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		actor, err := s.requireTx(ctx, q, orgID, caller, PermMembersUpdate)
		if err != nil {
			return err
		}
		target, err := s.member(ctx, q, orgID, userID)
		if err != nil {
			return err
		}
		grant, err := s.checkRoles(ctx, q, orgID, roles)
		if err != nil {
			return err
		}
		if !actor.set.Covers(grant) || !actor.set.Covers(target.set) {
			return ErrForbidden
		}
		if slices.Contains(target.member.Roles, RoleOwner) && !slices.Contains(roles, RoleOwner) {
			if err := s.notLastOwner(ctx, q, orgID); err != nil {
				return err
			}
		}
		if err := q.SetMemberRoles(ctx, orgID, userID, roles); err != nil {
			return err
		}
		out = target.member
		out.Roles = roles
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgMemberRolesChanged, ActorID: caller.UserID, OrgID: orgID, TargetType: "user",
			TargetID: userID, Time: s.Now(), Details: map[string]any{"from": target.member.Roles, "to": roles}})
	})
	s.forget(orgID, userID)
	return out, wrap("set roles", err)
}

func (s *Service) notLastOwner(ctx context.Context, q store.Orgs, orgID string) error {
	n, err := q.CountMembersWithRole(ctx, orgID, RoleOwner)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastOwner
	}
	return nil
}

// Remove takes a member out of the org. Anyone may leave, even without the second factor
// the org's policy asks for; removing someone else needs members:remove and holding
// everything they hold. The last owner can do neither.
func (s *Service) Remove(ctx context.Context, caller Caller, orgID, userID string) error {
	leaving := caller.UserID == userID
	if err := caller.within(orgID); err != nil {
		return err
	}
	if leaving {
		// Membership only (cached): strangers are turned away before any write transaction.
		c, err := s.access(ctx, orgID, caller.UserID)
		if err != nil {
			return wrap("remove", err)
		}
		if err := c.permits(""); err != nil {
			return err
		}
	} else if _, err := s.require(ctx, orgID, caller, PermMembersRemove); err != nil {
		return wrap("remove", err)
	}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		var actor cached
		var err error
		if leaving { // membership only: the MFA policy does not keep anyone in
			actor, err = s.member(ctx, q, orgID, userID)
		} else {
			actor, err = s.requireTx(ctx, q, orgID, caller, PermMembersRemove)
		}
		if err != nil {
			return err
		}
		target, err := s.member(ctx, q, orgID, userID)
		if err != nil {
			return err
		}
		if !actor.set.Covers(target.set) {
			return ErrForbidden
		}
		if slices.Contains(target.member.Roles, RoleOwner) {
			if err := s.notLastOwner(ctx, q, orgID); err != nil {
				return err
			}
		}
		if err := q.RemoveMember(ctx, orgID, userID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgMemberRemoved, ActorID: caller.UserID, OrgID: orgID, TargetType: "user",
			TargetID: userID, Time: s.Now(), Details: map[string]any{"roles": target.member.Roles, "left": caller.UserID == userID}})
	})
	s.forget(orgID, userID)
	return wrap("remove", err)
}
