package org

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// Invite emails an invitation to join with the given roles, which may not grant more than
// the inviter holds. A newer invitation to the same address voids the older.
func (s *Service) Invite(ctx context.Context, caller Caller, orgID, email string, roles []string) (*store.Invitation, error) {
	if _, err := s.require(ctx, orgID, caller, PermMembersInvite); err != nil {
		return nil, wrap("invite", err)
	}
	var inv *store.Invitation
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		// The org lock orders this against role changes: an inviter being demoted at the
		// same moment either happens first (and the grant is checked against it) or after.
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		actor, err := s.requireTx(ctx, q, orgID, caller, PermMembersInvite)
		if err != nil {
			return err
		}
		grant, err := s.checkRoles(ctx, q, orgID, roles)
		if err != nil {
			return err
		}
		if !actor.set.Covers(grant) {
			return ErrForbidden
		}
		o, err := s.orgByID(ctx, q, orgID)
		if err != nil {
			return err
		}
		inviter, err := q.UserByID(ctx, caller.UserID)
		if err != nil {
			return err
		}
		now := s.Now()
		tok, hash := token.NewOpaque()
		inv = &store.Invitation{ID: uuid.Must(uuid.NewV7()).String(), OrgID: orgID, Email: strings.TrimSpace(email), Roles: roles,
			TokenHash: hash, InvitedBy: caller.UserID, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
		if err := q.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		inviterName := inviter.Name
		if inviterName == "" {
			inviterName = inviter.Email
		}
		msg, err := s.Composer.Email(notify.Invitation, inv.Email, notify.Data{"Org": o.Name, "Inviter": inviterName,
			"Link": notify.Link(s.LinkBase, "/invitations/accept", tok)})
		if err != nil {
			return err
		}
		if err := notify.Enqueue(ctx, q, msg, now); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgMemberInvited, ActorID: caller.UserID, OrgID: orgID, TargetType: "invitation",
			TargetID: inv.ID, Time: now, Details: map[string]any{"email": inv.Email, "roles": roles}})
	})
	if err != nil {
		return nil, wrap("invite", err)
	}
	s.Outbox.Wake()
	return inv, nil
}

// Invitations lists pending invitations (the caller needs members:invite).
func (s *Service) Invitations(ctx context.Context, caller Caller, orgID, after string, limit int) ([]store.Invitation, error) {
	if _, err := s.require(ctx, orgID, caller, PermMembersInvite); err != nil {
		return nil, wrap("invitations", err)
	}
	invs, err := s.Store.ListInvitations(ctx, orgID, after, s.Now(), limit)
	if err != nil {
		return nil, wrap("invitations", err)
	}
	return invs, nil
}

// RevokeInvitation withdraws a pending invitation.
func (s *Service) RevokeInvitation(ctx context.Context, caller Caller, orgID, id string) error {
	if _, err := s.require(ctx, orgID, caller, PermMembersInvite); err != nil {
		return wrap("revoke invitation", err)
	}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		if err := q.RevokeInvitation(ctx, orgID, id, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgInvitationRevoked, ActorID: caller.UserID, OrgID: orgID, TargetType: "invitation", TargetID: id, Time: now})
	})
	return wrap("revoke invitation", err)
}

// Accept makes the signed-in user a member with the invitation's roles. Their email must be
// verified and match the invitation's address.
//
// The grant is decided again at acceptance, on current data under the org lock: roles
// deleted since the invitation was sent are not granted, and the invitation is void
// (ErrInvalidInvitation, left pending) when none of its roles is left, or when its inviter
// no longer is a member holding members:invite and everything the roles now grant.
//
// A token scoped to an organization cannot join another (ErrOutOfScope).
func (s *Service) Accept(ctx context.Context, caller Caller, tok string) (*store.Invitation, error) {
	if caller.Scope != "" {
		return nil, ErrOutOfScope
	}
	userID := caller.UserID
	hash := token.Hash(tok)
	var inv *store.Invitation
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		peek, err := q.PeekInvitation(ctx, hash, now)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidInvitation
		}
		if err != nil {
			return err
		}
		u, err := q.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if !u.EmailVerified || !strings.EqualFold(u.Email, peek.Email) {
			return ErrEmailMismatch // the invitation stays usable by its addressee
		}
		if err := s.lock(ctx, q, peek.OrgID); errors.Is(err, ErrNotFound) {
			return ErrInvalidInvitation
		} else if err != nil {
			return err
		}
		if _, err := q.MemberOf(ctx, peek.OrgID, userID); err == nil {
			return ErrAlreadyMember
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// Roles deleted since the invitation was sent are not granted.
		var roles []string
		for _, r := range peek.Roles {
			if IsBuiltinRole(r) {
				roles = append(roles, r)
			} else if _, err := q.RoleByName(ctx, peek.OrgID, r); err == nil {
				roles = append(roles, r)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if len(roles) == 0 {
			return ErrInvalidInvitation
		}
		grant, err := s.checkRoles(ctx, q, peek.OrgID, roles)
		if err != nil {
			return err
		}
		inviter, err := s.load(ctx, q, peek.OrgID, peek.InvitedBy)
		if err != nil {
			return err
		}
		if inviter.permits(PermMembersInvite) != nil || !inviter.set.Covers(grant) {
			return ErrInvalidInvitation
		}
		if inv, err = q.AcceptInvitation(ctx, hash, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrInvalidInvitation
			}
			return err
		}
		inv.Roles = roles
		if err := q.AddMember(ctx, &store.Member{OrgID: inv.OrgID, UserID: userID, Roles: roles, JoinedAt: now}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgMemberJoined, ActorID: userID, OrgID: inv.OrgID, TargetType: "user",
			TargetID: userID, Time: now, Details: map[string]any{"invitation": inv.ID, "invited_by": inv.InvitedBy, "roles": roles}})
	})
	if err != nil {
		return nil, wrap("accept", err)
	}
	s.forget(inv.OrgID, userID)
	return inv, nil
}
