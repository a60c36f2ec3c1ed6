package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	// ErrLastAdmin: the change would leave the instance without an enabled administrator.
	ErrLastAdmin = errors.New("admin: the instance must keep at least one enabled administrator")
	// ErrLastOwner: erasing the user would leave one of their organizations without an owner.
	ErrLastOwner = errors.New("admin: the user is the last owner of an organization")
)

// Actions on users, in the audit log (with UserDisabled and UserEnabled).
const (
	UserUpdated       audit.Action = "admin.user.updated"
	UserErased        audit.Action = "admin.user.erased"
	UserUnlocked      audit.Action = "admin.user.unlocked"
	UserSessionsEnded audit.Action = "admin.user.sessions_revoked"
)

// MaxListLimit bounds one page of users.
const MaxListLimit = 200

// ListUsers returns a page of users, newest first.
func (s *Service) ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error) {
	if f.Limit < 1 || f.Limit > MaxListLimit+1 {
		f.Limit = MaxListLimit
	}
	users, err := s.Store.ListUsers(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("admin: list users: %w", err)
	}
	return users, nil
}

// User returns one user; ErrNotFound when there is none with the id.
func (s *Service) User(ctx context.Context, id string) (*store.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("admin: user: %w", err)
	}
	return u, nil
}

// Patch is a change to an account; nil fields stay as they are.
type Patch struct {
	Name  *string
	Email *string
	// EmailVerified sets whether the address counts as verified. Left nil with a new
	// Email, the new address counts as unverified.
	EmailVerified *bool
	Disabled      *bool
	Admin         *bool
}

// UpdateUser applies p in one transaction with one audit event listing what changed.
// Disabling ends every session and voids the open one-time tokens; demoting or
// disabling the last enabled administrator is ErrLastAdmin; an address another account
// has is ErrEmailTaken.
func (s *Service) UpdateUser(ctx context.Context, actorID, id string, p Patch) (*store.User, error) {
	var name, email string
	var err error
	if p.Name != nil {
		if name, err = checkName(*p.Name); err != nil {
			return nil, err
		}
	}
	if p.Email != nil {
		if email, err = checkEmail(*p.Email); err != nil {
			return nil, err
		}
	}
	var out *store.User
	var ended []string
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		u, err := q.UserByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		now := s.Now()
		changed := map[string]any{}
		if p.Name != nil && name != u.Name {
			if err := q.UpdateUserName(ctx, id, name, now); err != nil {
				return err
			}
			changed["name"] = true
		}
		newEmail := p.Email != nil && !strings.EqualFold(email, u.Email)
		verified := u.EmailVerified
		if newEmail {
			verified = false
		}
		if p.EmailVerified != nil {
			verified = *p.EmailVerified
		}
		if (p.Email != nil && email != u.Email) || verified != u.EmailVerified {
			if p.Email == nil {
				email = u.Email
			}
			if err := q.SetUserEmail(ctx, id, email, verified, now); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return ErrEmailTaken
				}
				return err
			}
			if email != u.Email {
				changed["email"] = true
				// A link sent to the old address must not act on the account any more.
				if _, err := q.VoidOneTimeTokens(ctx, id, now); err != nil {
					return err
				}
			}
			if verified != u.EmailVerified {
				changed["email_verified"] = verified
			}
		}
		losesAdmin := (p.Admin != nil && !*p.Admin && u.Admin) || (p.Disabled != nil && *p.Disabled && u.Admin && !u.Disabled)
		if losesAdmin {
			if err := notLastAdmin(ctx, q, id); err != nil {
				return err
			}
		}
		if p.Admin != nil && *p.Admin != u.Admin {
			if err := q.SetUserAdmin(ctx, id, *p.Admin, now); err != nil {
				return err
			}
			changed["admin"] = *p.Admin
		}
		if p.Disabled != nil && *p.Disabled != u.Disabled {
			details, ids, err := s.setDisabled(ctx, q, id, *p.Disabled, now)
			if err != nil {
				return err
			}
			ended = ids
			changed["disabled"] = *p.Disabled
			for k, v := range details {
				changed[k] = v
			}
		}
		if len(changed) > 0 {
			if err := s.Audit.Record(ctx, q, audit.Event{Action: UserUpdated, ActorID: actorID, TargetType: "user", TargetID: id,
				Time: now, Details: changed}); err != nil {
				return err
			}
		}
		out, err = q.UserByID(ctx, id)
		return err
	})
	if err != nil {
		if isDomain(err) {
			return nil, err
		}
		return nil, fmt.Errorf("admin: update user: %w", err)
	}
	s.forget(id, ended)
	return out, nil
}

// notLastAdmin refuses a change that takes id out of the enabled administrators when it
// is the only one. It locks the administrators' rows first (see store.LockAdmins).
func notLastAdmin(ctx context.Context, q store.Queries, id string) error {
	admins, err := q.LockAdmins(ctx)
	if err != nil {
		return err
	}
	if slices.Contains(admins, id) && len(admins) <= 1 {
		return ErrLastAdmin
	}
	return nil
}

// Erase deletes the account with its personal data and credentials: see
// store.EraseUser for what goes. The audit rows keep the user's id and still verify; an
// admin.user.erased event records the erasure (with no personal data). Erasing the
// last enabled administrator is ErrLastAdmin, and the last owner of an organization
// ErrLastOwner: ownership is transferred or the organization deleted first.
func (s *Service) Erase(ctx context.Context, actorID, id string) error {
	var ended []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		u, err := q.UserByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if u.Admin && !u.Disabled {
			if err := notLastAdmin(ctx, q, id); err != nil {
				return err
			}
		}
		if err := notLastOwnerAnywhere(ctx, q, id); err != nil {
			return err
		}
		channels, err := q.Channels(ctx, id)
		if err != nil {
			return err
		}
		addresses := []string{u.Email}
		for _, c := range channels {
			addresses = append(addresses, c.Address)
		}
		now := s.Now()
		// The sessions go with the user's row; revoked first, so that this replica's cache
		// can be told which.
		if ended, err = q.RevokeUserSessions(ctx, id, "", "account_erased", now); err != nil {
			return err
		}
		if err := q.EraseUser(ctx, id, addresses, u.Name, now); err != nil {
			return err
		}
		// Recorded after the erasure, so that its own row is not blanked: it names the
		// user by id only.
		return s.Audit.Record(ctx, q, audit.Event{Action: UserErased, ActorID: actorID, TargetType: "user", TargetID: id, Time: now,
			Details: map[string]any{"via": via(actorID)}})
	})
	if err != nil {
		if isDomain(err) {
			return err
		}
		return fmt.Errorf("admin: erase user: %w", err)
	}
	s.forget(id, ended)
	return nil
}

// notLastOwnerAnywhere refuses when the user is the only owner of an organization.
func notLastOwnerAnywhere(ctx context.Context, q store.Queries, userID string) error {
	after := ""
	for {
		orgs, err := q.ListUserOrgs(ctx, userID, after, 100)
		if err != nil {
			return err
		}
		for _, mo := range orgs {
			if !slices.Contains(mo.Roles, "owner") {
				continue
			}
			n, err := q.CountMembersWithRole(ctx, mo.Org.ID, "owner")
			if err != nil {
				return err
			}
			if n <= 1 {
				return fmt.Errorf("%w %q", ErrLastOwner, mo.Org.Slug)
			}
		}
		if len(orgs) < 100 {
			return nil
		}
		after = orgs[len(orgs)-1].Org.ID
	}
}

// Sessions lists the user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, id string) ([]store.Session, error) {
	if _, err := s.User(ctx, id); err != nil {
		return nil, err
	}
	sessions, err := s.Store.ListSessions(ctx, id, s.Now())
	if err != nil {
		return nil, fmt.Errorf("admin: sessions: %w", err)
	}
	return sessions, nil
}

// RevokeSessions ends every session of the user (OAuth grants too) and returns how many.
func (s *Service) RevokeSessions(ctx context.Context, actorID, id string) (int, error) {
	var n int
	var ended []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if _, err := q.UserByID(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		now := s.Now()
		ids, err := q.RevokeUserSessions(ctx, id, "", "admin_revoked", now)
		if err != nil {
			return err
		}
		n, ended = len(ids), ids
		return s.Audit.Record(ctx, q, audit.Event{Action: UserSessionsEnded, ActorID: actorID, TargetType: "user", TargetID: id, Time: now,
			Details: map[string]any{"sessions_revoked": n, "via": via(actorID)}})
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("admin: revoke sessions: %w", err)
	}
	if err == nil {
		s.forget(id, ended)
	}
	return n, err
}

// Unlocker clears an account's sign-in throttling (the account service).
type Unlocker interface {
	Unlock(ctx context.Context, email string) error
}

// Unlock clears the sign-in throttling of the user's account, audited.
func (s *Service) Unlock(ctx context.Context, actorID, id string) error {
	u, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	if err := s.Throttle.Unlock(ctx, u.Email); err != nil {
		return fmt.Errorf("admin: unlock: %w", err)
	}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		return s.Audit.Record(ctx, q, audit.Event{Action: UserUnlocked, ActorID: actorID, TargetType: "user", TargetID: id, Time: s.Now(),
			Details: map[string]any{"via": via(actorID)}})
	})
	if err != nil {
		return fmt.Errorf("admin: unlock: %w", err)
	}
	return nil
}

// via names where an action came from in its audit details.
func via(actorID string) string {
	if actorID == "" {
		return "cli"
	}
	return "api"
}

// isDomain reports whether err is one of the package's own answers, returned as is.
func isDomain(err error) bool {
	for _, e := range []error{ErrNotFound, ErrEmailTaken, ErrInvalidEmail, ErrInvalidName, ErrLastAdmin, ErrLastOwner} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
