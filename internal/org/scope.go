package org

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var _ session.Scoper = (*Service)(nil)

// ScopeSession decides whether a session of userID, authenticated with amr, may be scoped
// to orgID, and what its tokens then carry. It reads through q, the caller's transaction.
func (s *Service) ScopeSession(ctx context.Context, q store.Queries, userID, orgID string, amr []string) (*session.OrgScope, error) {
	c, err := s.load(ctx, q, orgID, userID)
	if err != nil {
		return nil, err
	}
	if c.member == nil {
		return nil, session.ErrNotMember
	}
	o, err := q.OrgByID(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, session.ErrNotMember
	}
	if err != nil {
		return nil, err
	}
	if o.RequireMFA {
		u, err := q.UserByID(ctx, userID)
		if err != nil {
			return nil, err
		}
		if !u.MFAEnabled {
			return nil, session.ErrMFAEnrollmentRequired
		}
		if !slices.Contains(amr, "mfa") {
			return nil, session.ErrMFARequired
		}
	}
	return &session.OrgScope{
		OrgID:       orgID,
		Roles:       c.member.Roles,
		Permissions: c.set.List(c.known),
		SessionTTL:  time.Duration(o.SessionTTLSeconds) * time.Second,
	}, nil
}

// MinPasswordLength is the strictest password length among the user's organizations'
// policies (0 when none sets one).
func (s *Service) MinPasswordLength(ctx context.Context, userID string) (int, error) {
	longest, after := 0, ""
	for {
		page, err := s.Store.ListUserOrgs(ctx, userID, after, 200)
		if err != nil {
			return 0, err
		}
		for _, mo := range page {
			longest = max(longest, mo.Org.PasswordMinLength)
			after = mo.Org.ID
		}
		if len(page) < 200 {
			return longest, nil
		}
	}
}
