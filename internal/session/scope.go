package session

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	// ErrNotMember: the session cannot be scoped to an organization the user is not in.
	ErrNotMember = errors.New("session: not a member of the organization")
	// ErrMFAEnrollmentRequired: the organization requires a second factor the user has not enrolled.
	ErrMFAEnrollmentRequired = errors.New("session: the organization requires a second factor")
	// ErrMFARequired: the user has a second factor but this session was not started with it.
	ErrMFARequired = errors.New("session: sign in with your second factor to use this organization")
	// ErrTooOldForOrg: the session began longer ago than the organization's session
	// lifetime allows, so it cannot switch into it (a new sign-in with org_id can).
	ErrTooOldForOrg = errors.New("session: older than the organization's session lifetime")
)

// IsRefusal reports the errors that refuse a scope (as opposed to failures).
func IsRefusal(err error) bool {
	return errors.Is(err, ErrNotMember) || errors.Is(err, ErrMFAEnrollmentRequired) || errors.Is(err, ErrMFARequired) ||
		errors.Is(err, ErrTooOldForOrg)
}

// OrgScope is what an organization-scoped session's tokens carry.
type OrgScope struct {
	OrgID       string
	Roles       []string
	Permissions []string
	SessionTTL  time.Duration // the org's session lifetime limit; 0 for none
}

// Scoper decides whether a session may be scoped to an organization (the org package).
type Scoper interface {
	ScopeSession(ctx context.Context, q store.Queries, userID, orgID string, amr []string) (*OrgScope, error)
}

// scope asks the Scoper, refusing every organization when there is none.
func (s *Service) scope(ctx context.Context, q store.Queries, sess *store.Session, orgID string) (*OrgScope, error) {
	if s.Scoper == nil {
		return nil, ErrNotMember
	}
	return s.Scoper.ScopeSession(ctx, q, sess.UserID, orgID, sess.AMR)
}

// limit shortens the session to the org's lifetime, counted from start.
func limit(sess *store.Session, sc *OrgScope, start time.Time) {
	if sc != nil && sc.SessionTTL > 0 {
		if end := start.Add(sc.SessionTTL); end.Before(sess.ExpiresAt) {
			sess.ExpiresAt = end
		}
	}
}
