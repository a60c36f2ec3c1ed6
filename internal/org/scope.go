package org

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var _ session.Scoper = (*Service)(nil)

// ScopeSession decides whether a session of userID, authenticated with amr, may be scoped
// to orgID, and what its tokens then carry. It reads through q, the caller's transaction,
// and applies the same MFA rule as the org's endpoints.
func (s *Service) ScopeSession(ctx context.Context, q store.Queries, userID, orgID string, amr []string) (*session.OrgScope, error) {
	c, err := s.load(ctx, q, orgID, userID)
	if err != nil {
		return nil, err
	}
	if c.member == nil {
		return nil, session.ErrNotMember
	}
	if c.requireMFA {
		if err := withMFA(ctx, q, Caller{UserID: userID, AMR: amr}); err != nil {
			return nil, err
		}
	}
	return &session.OrgScope{OrgID: orgID, Roles: c.member.Roles, Permissions: c.set.List(c.known), SessionTTL: c.sessionTTL}, nil
}

// MinPasswordLength is the strictest password length among the user's organizations'
// policies (0 when none sets one).
func (s *Service) MinPasswordLength(ctx context.Context, userID string) (int, error) {
	longest, after := 0, ""
	for {
		page, err := s.Store.ListUserOrgs(ctx, userID, after, 200)
		if err != nil {
			return 0, wrap("min password length", err)
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
