package org

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Policy is an organization's security policy.
type Policy struct {
	RequireMFA        bool
	SessionTTLSeconds int
	PasswordMinLength int
}

func checkName(name string) error {
	if n := len([]rune(strings.TrimSpace(name))); n == 0 || n > 200 {
		return &FieldError{"name", "must have 1 to 200 characters"}
	}
	return nil
}

func checkSlug(slug string) error {
	if !ValidSlug(slug) {
		return &FieldError{"slug", "must match ^[a-z0-9][a-z0-9-]{1,62}$"}
	}
	return nil
}

// Create makes an organization; the creator becomes its owner. A token scoped to an
// organization cannot create another.
func (s *Service) Create(ctx context.Context, caller Caller, name, slug string) (*store.Org, error) {
	if caller.Scope != "" {
		return nil, ErrOutOfScope
	}
	userID := caller.UserID
	if err := errors.Join(checkName(name), checkSlug(slug)); err != nil {
		return nil, err
	}
	now := s.Now()
	o := &store.Org{ID: uuid.Must(uuid.NewV7()).String(), Name: strings.TrimSpace(name), Slug: slug, CreatedAt: now, UpdatedAt: now}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateOrg(ctx, o); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrSlugTaken
			}
			return err
		}
		if err := q.AddMember(ctx, &store.Member{OrgID: o.ID, UserID: userID, Roles: []string{RoleOwner}, JoinedAt: now}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgCreated, ActorID: userID, OrgID: o.ID, TargetType: "org", TargetID: o.ID,
			Time: now, Details: map[string]any{"slug": slug}})
	})
	if err != nil {
		return nil, wrap("create", err)
	}
	return o, nil
}

// List returns the caller's organizations with their roles there; a token scoped to an
// organization sees that one only.
func (s *Service) List(ctx context.Context, caller Caller, after string, limit int) ([]store.MemberOrg, error) {
	if caller.Scope == "" {
		orgs, err := s.Store.ListUserOrgs(ctx, caller.UserID, after, limit)
		if err != nil {
			return nil, wrap("list", err)
		}
		return orgs, nil
	}
	if after != "" { // the one page has been served
		return nil, nil
	}
	m, err := s.Store.MemberOf(ctx, caller.Scope, caller.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // no longer a member: the token lists nothing
	}
	if err != nil {
		return nil, wrap("list", err)
	}
	o, err := s.Store.OrgByID(ctx, caller.Scope)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("list", err)
	}
	return []store.MemberOrg{{Org: *o, Roles: m.Roles}}, nil
}

// Get returns an organization the caller may read.
func (s *Service) Get(ctx context.Context, caller Caller, orgID string) (*store.Org, error) {
	if _, err := s.require(ctx, orgID, caller, PermOrgRead); err != nil {
		return nil, wrap("get", err)
	}
	o, err := s.orgByID(ctx, s.Store, orgID)
	if err != nil {
		return nil, wrap("get", err)
	}
	return o, nil
}

func (s *Service) orgByID(ctx context.Context, q store.Orgs, orgID string) (*store.Org, error) {
	o, err := q.OrgByID(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return o, err
}

// Update renames an organization or changes its slug.
func (s *Service) Update(ctx context.Context, caller Caller, orgID string, name, slug *string) (*store.Org, error) {
	if _, err := s.require(ctx, orgID, caller, PermOrgUpdate); err != nil {
		return nil, wrap("update", err)
	}
	if name != nil {
		if err := checkName(*name); err != nil {
			return nil, err
		}
	}
	if slug != nil {
		if err := checkSlug(*slug); err != nil {
			return nil, err
		}
	}
	var out *store.Org
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		if _, err := s.requireTx(ctx, q, orgID, caller, PermOrgUpdate); err != nil {
			return err
		}
		o, err := s.orgByID(ctx, q, orgID)
		if err != nil {
			return err
		}
		changed := map[string]any{}
		if name != nil && strings.TrimSpace(*name) != o.Name {
			o.Name, changed["name"] = strings.TrimSpace(*name), strings.TrimSpace(*name)
		}
		if slug != nil && *slug != o.Slug {
			o.Slug, changed["slug"] = *slug, *slug
		}
		o.UpdatedAt = s.Now()
		if err := q.UpdateOrg(ctx, o); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrSlugTaken
			}
			return err
		}
		out = o
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgUpdated, ActorID: caller.UserID, OrgID: orgID, TargetType: "org", TargetID: orgID,
			Time: o.UpdatedAt, Details: changed})
	})
	return out, wrap("update", err)
}

// Delete removes an organization with its memberships, invitations, roles and policy in
// one transaction. Audit rows stay.
func (s *Service) Delete(ctx context.Context, caller Caller, orgID string) error {
	if _, err := s.require(ctx, orgID, caller, PermOrgDelete); err != nil {
		return wrap("delete", err)
	}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		if _, err := s.requireTx(ctx, q, orgID, caller, PermOrgDelete); err != nil {
			return err
		}
		if err := q.DeleteOrg(ctx, orgID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgDeleted, ActorID: caller.UserID, OrgID: orgID, TargetType: "org", TargetID: orgID, Time: s.Now()})
	})
	s.forget(orgID, "")
	return wrap("delete", err)
}

// GetPolicy returns the org's policy.
func (s *Service) GetPolicy(ctx context.Context, caller Caller, orgID string) (*Policy, error) {
	o, err := s.Get(ctx, caller, orgID)
	if err != nil {
		return nil, err
	}
	return &Policy{RequireMFA: o.RequireMFA, SessionTTLSeconds: o.SessionTTLSeconds, PasswordMinLength: o.PasswordMinLength}, nil
}

// SetPolicy replaces the org's policy.
func (s *Service) SetPolicy(ctx context.Context, caller Caller, orgID string, p Policy) (*Policy, error) {
	if _, err := s.require(ctx, orgID, caller, PermPolicyManage); err != nil {
		return nil, wrap("set policy", err)
	}
	switch {
	case p.SessionTTLSeconds < 0 || (p.SessionTTLSeconds > 0 && p.SessionTTLSeconds < 300) || p.SessionTTLSeconds > 90*24*3600:
		return nil, &FieldError{"session_ttl_seconds", "must be 0 (no limit) or from 300 to 7776000"}
	case p.PasswordMinLength < 0 || (p.PasswordMinLength > 0 && p.PasswordMinLength < 8) || p.PasswordMinLength > 128:
		return nil, &FieldError{"password_min_length", "must be 0 (the instance default) or from 8 to 128"}
	}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.lock(ctx, q, orgID); err != nil {
			return err
		}
		if _, err := s.requireTx(ctx, q, orgID, caller, PermPolicyManage); err != nil {
			return err
		}
		o, err := s.orgByID(ctx, q, orgID)
		if err != nil {
			return err
		}
		o.RequireMFA, o.SessionTTLSeconds, o.PasswordMinLength, o.UpdatedAt = p.RequireMFA, p.SessionTTLSeconds, p.PasswordMinLength, s.Now()
		if err := q.UpdateOrg(ctx, o); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.OrgPolicyChanged, ActorID: caller.UserID, OrgID: orgID, TargetType: "org", TargetID: orgID,
			Time: o.UpdatedAt, Details: map[string]any{"require_mfa": p.RequireMFA, "session_ttl_seconds": p.SessionTTLSeconds,
				"password_min_length": p.PasswordMinLength}})
	})
	s.forget(orgID, "") // cached access carries the MFA policy
	if err != nil {
		return nil, wrap("set policy", err)
	}
	return &p, nil
}

// Check answers whether user holds permission in the org. The caller needs members:read
// and, like on every endpoint of the org, must meet its MFA policy; the user asked about
// is answered for whatever their sessions. A user who is not a member holds nothing.
func (s *Service) Check(ctx context.Context, caller Caller, orgID, userID, permission string) (bool, error) {
	if _, err := s.require(ctx, orgID, caller, PermMembersRead); err != nil {
		return false, wrap("check", err)
	}
	c, err := s.access(ctx, orgID, userID)
	if err != nil {
		return false, wrap("check", err)
	}
	return c.member != nil && c.set.Has(permission), nil
}

// ListAudit lists the org's audit events (the caller needs audit:read).
func (s *Service) ListAudit(ctx context.Context, caller Caller, orgID string, beforePos int64, limit int) ([]store.AuditEvent, error) {
	if _, err := s.require(ctx, orgID, caller, PermAuditRead); err != nil {
		return nil, wrap("list audit", err)
	}
	events, err := s.Store.ListAudit(ctx, store.AuditFilter{OrgID: orgID, BeforePos: beforePos, Limit: limit})
	if err != nil {
		return nil, wrap("list audit", err)
	}
	return events, nil
}
