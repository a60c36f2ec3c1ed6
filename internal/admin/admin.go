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
}

// Store is what the service uses: it looks users up, and changes them in transactions.
type Store interface {
	UserByEmail(ctx context.Context, email string) (*store.User, error)
	UserByID(ctx context.Context, id string) (*store.User, error)
	CountAdmins(ctx context.Context) (int, error)
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
func (s *Service) SetDisabled(ctx context.Context, actorID, userID string, disabled bool) (revoked int, err error) {
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		voided := 0
		now := s.Now()
		if err := q.SetUserDisabled(ctx, userID, disabled, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		action := UserEnabled
		if disabled {
			action = UserDisabled
			ids, err := q.RevokeUserSessions(ctx, userID, "", "account_disabled", now)
			if err != nil {
				return err
			}
			revoked = len(ids)
			if err := q.EndChallenges(ctx, userID, now); err != nil { // logins waiting for their second factor
				return err
			}
			// A reset link would otherwise set a password that takes effect on re-enabling.
			if voided, err = q.VoidOneTimeTokens(ctx, userID, now); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: action, ActorID: actorID, TargetType: "user", TargetID: userID, Time: now,
			Details: map[string]any{"sessions_revoked": revoked, "tokens_voided": voided}})
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		op := "enable"
		if disabled {
			op = "disable"
		}
		return revoked, fmt.Errorf("admin: %s: %w", op, err)
	}
	return revoked, err
}

// ResetMFA removes every second factor of the user.
func (s *Service) ResetMFA(ctx context.Context, actorID, userID string) error {
	if err := s.MFA.Reset(ctx, actorID, userID); err != nil {
		return fmt.Errorf("admin: reset mfa: %w", err)
	}
	return nil
}
