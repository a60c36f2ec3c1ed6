// Package admin holds operator actions on accounts that the CLI (and later the admin
// API) performs: creating accounts and instance administrators (and the bootstrap
// administrator at start), disabling an account, which ends its sessions, and resetting
// its second factors.
package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrNotFound: no such user.
var ErrNotFound = errors.New("admin: no such user")

// Resetter removes a user's second factors (the mfa package).
type Resetter interface {
	Reset(ctx context.Context, actorID, userID string) error
}

// Service performs administrative actions.
type Service struct {
	// Audit records security events in the transaction of the change.
	Audit *audit.Log
	Store Store
	MFA   Resetter
	Now   func() time.Time
	// Hasher and Policy serve the accounts it creates; Product is a word their
	// passwords must not contain.
	Hasher  Hasher
	Policy  password.Policy
	Product string
	// Throttle clears sign-in throttling (Unlock); Resets sends password-reset links
	// (CreateUser with SendReset), and Outbox is woken after a message is queued.
	Throttle Unlocker
	Resets   Resets
	Outbox   Waker
	// Forget, when set, is told after a commit that changed a user or ended sessions, so
	// that this process's caches drop them at once (other replicas see the change within
	// their cache bound).
	Forget func(userID string, sessionIDs []string)
}

// forget tells Forget, when set.
func (s *Service) forget(userID string, sessionIDs []string) {
	if s.Forget != nil {
		s.Forget(userID, sessionIDs)
	}
}

// Waker tells the outbox's sender that a message is waiting.
type Waker interface{ Wake() }

// Store is what the service uses: it looks users up, and changes them in transactions.
type Store interface {
	UserByEmail(ctx context.Context, email string) (*store.User, error)
	UserByID(ctx context.Context, id string) (*store.User, error)
	CountAdmins(ctx context.Context) (int, error)
	ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error)
	ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error)
	store.Transfer
	store.Transactor
}

// Actions on users, in the audit log.
const (
	UserDisabled audit.Action = "admin.user.disabled"
	UserEnabled  audit.Action = "admin.user.enabled"
)

// Lookup finds a user by email or id.
func (s *Service) Lookup(ctx context.Context, emailOrID string) (*store.User, error) {
	u, err := s.Store.UserByEmail(ctx, emailOrID)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.Store.UserByID(ctx, emailOrID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("admin: lookup: %w", err)
	}
	return u, nil
}

// SetDisabled disables (ending every session and pending login, and voiding the open
// one-time tokens) or re-enables an account. actorID is the administrator ("" for the
// command line).
// Disabling the last enabled administrator is ErrLastAdmin.
func (s *Service) SetDisabled(ctx context.Context, actorID, userID string, disabled bool) (revoked int, err error) {
	var ended []string
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		if disabled {
			if err := notLastAdmin(ctx, q, userID); err != nil {
				return err
			}
		}
		details, ids, err := s.setDisabled(ctx, q, userID, disabled, now)
		if err != nil {
			return err
		}
		ended, revoked = ids, len(ids)
		action := UserEnabled
		if disabled {
			action = UserDisabled
		}
		details["via"] = via(actorID)
		return s.Audit.Record(ctx, q, audit.Event{Action: action, ActorID: actorID, TargetType: "user", TargetID: userID, Time: now,
			Details: details})
	})
	if err != nil && !isDomain(err) {
		op := "enable"
		if disabled {
			op = "disable"
		}
		return revoked, fmt.Errorf("admin: %s: %w", op, err)
	}
	if err == nil {
		s.forget(userID, ended)
	}
	return revoked, err
}

// setDisabled disables (ending every session and pending login, and voiding the open
// one-time tokens) or re-enables an account through q, and returns what it ended.
func (s *Service) setDisabled(ctx context.Context, q store.Queries, userID string, disabled bool, now time.Time) (map[string]any, []string, error) {
	if err := q.SetUserDisabled(ctx, userID, disabled, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, ErrNotFound
		}
		return nil, nil, err
	}
	if !disabled {
		return map[string]any{}, nil, nil
	}
	ids, err := q.RevokeUserSessions(ctx, userID, "", "account_disabled", now)
	if err != nil {
		return nil, nil, err
	}
	if err := q.EndChallenges(ctx, userID, now); err != nil { // logins waiting for their second factor
		return nil, nil, err
	}
	// A reset link would otherwise set a password that takes effect on re-enabling.
	voided, err := q.VoidOneTimeTokens(ctx, userID, now)
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"sessions_revoked": len(ids), "tokens_voided": voided}, ids, nil
}

// ResetMFA removes every second factor of the user.
func (s *Service) ResetMFA(ctx context.Context, actorID, userID string) error {
	if err := s.MFA.Reset(ctx, actorID, userID); err != nil {
		return fmt.Errorf("admin: reset mfa: %w", err)
	}
	s.forget(userID, nil)
	return nil
}
