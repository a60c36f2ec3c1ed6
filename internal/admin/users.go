package admin

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	// ErrEmailTaken: an account with this email exists.
	ErrEmailTaken = errors.New("admin: an account with this email already exists")
	// ErrInvalidEmail: not an email address.
	ErrInvalidEmail = errors.New("admin: not a valid email address")
	// ErrInvalidName: a name longer than 200 characters or with control characters.
	ErrInvalidName = errors.New("admin: the name must have at most 200 characters and no control characters")
)

// Hasher hashes passwords (the password package's worker pool).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// NewUser is an account an operator creates. Its address is taken as verified: the
// operator vouches for it.
type NewUser struct {
	Email    string
	Name     string
	Password string // checked against the policy
	Admin    bool
}

// Bootstrap outcomes.
const (
	BootstrapNothing  = ""         // an administrator exists already
	BootstrapCreated  = "created"  // a new account was created as the administrator
	BootstrapPromoted = "promoted" // the account with the email became the administrator
)

// ReasonBootstrapPromoted ends the sessions of an account promoted at bootstrap (they
// were opened with a password that is no longer its password).
const ReasonBootstrapPromoted = "bootstrap_admin_promoted"

// CreateUser creates an account with a password, an instance administrator when
// in.Admin, audited as admin.user.created with actorID ("" for the command line).
func (s *Service) CreateUser(ctx context.Context, actorID string, in NewUser) (*store.User, error) {
	email, err := s.checkNew(in.Email, in.Name, in.Password)
	if err != nil {
		return nil, err
	}
	hash, err := s.Hasher.Hash(ctx, password.Normalize(in.Password))
	if err != nil {
		return nil, fmt.Errorf("admin: create user: %w", err)
	}
	var u *store.User
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		u, err = s.insert(ctx, q, email, strings.TrimSpace(in.Name), hash, in.Admin)
		if err != nil {
			return err
		}
		details := map[string]any{"admin": in.Admin}
		if actorID == "" {
			details["via"] = "cli"
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.AdminUserCreated, ActorID: actorID, TargetType: "user", TargetID: u.ID,
			Time: u.CreatedAt, Details: details})
	})
	if err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return nil, err
		}
		return nil, fmt.Errorf("admin: create user: %w", err)
	}
	return u, nil
}

// Bootstrap makes sure the instance has an administrator. When none is enabled, it
// creates one with email and pw, or, when an account has that email, promotes it: its
// password becomes pw, its address counts as verified, and its sessions end (whoever
// held the account before the operator named it loses it). Replicas starting together
// may all call it: every write is conditional (a unique email, a promotion that changes
// only a non-administrator), so one of them acts and the others then find the
// administrator. It reports what it did.
func (s *Service) Bootstrap(ctx context.Context, email, pw string) (string, error) {
	if n, err := s.Store.CountAdmins(ctx); err != nil || n > 0 {
		if err != nil {
			return "", fmt.Errorf("admin: bootstrap: %w", err)
		}
		return BootstrapNothing, nil
	}
	email, err := s.checkNew(email, "", pw)
	if err != nil {
		return "", fmt.Errorf("admin: bootstrap administrator: %w", err)
	}
	hash, err := s.Hasher.Hash(ctx, password.Normalize(pw))
	if err != nil {
		return "", fmt.Errorf("admin: bootstrap: %w", err)
	}
	for range 5 {
		var did string
		err := s.Store.InTx(ctx, func(q store.Queries) error {
			var err error
			did, err = s.bootstrapOnce(ctx, q, email, hash)
			return err
		})
		if errors.Is(err, store.ErrConflict) || errors.Is(err, ErrEmailTaken) {
			continue // another replica acted first: look again
		}
		if err != nil {
			return "", fmt.Errorf("admin: bootstrap: %w", err)
		}
		return did, nil
	}
	return "", errors.New("admin: bootstrap: the administrator kept changing under concurrent starts")
}

func (s *Service) bootstrapOnce(ctx context.Context, q store.Queries, email, hash string) (string, error) {
	if n, err := q.CountAdmins(ctx); err != nil || n > 0 {
		return BootstrapNothing, err
	}
	details := map[string]any{"via": "bootstrap"}
	u, err := q.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if u, err = s.insert(ctx, q, email, "", hash, true); err != nil {
			return "", err
		}
		return BootstrapCreated, s.Audit.Record(ctx, q, audit.Event{Action: audit.AdminUserCreated, TargetType: "user", TargetID: u.ID,
			Time: u.CreatedAt, Details: details})
	}
	if err != nil {
		return "", err
	}
	if u.Admin && !u.Disabled {
		// Another replica made it an administrator after this transaction counted (on
		// PostgreSQL each statement sees what committed before it).
		return BootstrapNothing, nil
	}
	if u.Admin {
		return "", fmt.Errorf("the bootstrap administrator %s is disabled: enable it with `gatehouse admin user enable`", email)
	}
	now := s.Now()
	if err := q.SetUserAdmin(ctx, u.ID, true, now); err != nil {
		return "", err
	}
	if err := q.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return "", err
	}
	if !u.EmailVerified {
		if err := q.SetEmailVerified(ctx, u.ID, now); err != nil {
			return "", err
		}
	}
	ended, err := q.RevokeUserSessions(ctx, u.ID, "", ReasonBootstrapPromoted, now)
	if err != nil {
		return "", err
	}
	details["sessions_revoked"] = len(ended)
	details["email_was_verified"] = u.EmailVerified
	return BootstrapPromoted, s.Audit.Record(ctx, q, audit.Event{Action: audit.AdminUserPromoted, TargetType: "user", TargetID: u.ID,
		Time: now, Details: details})
}

// checkNew checks a new account's email, name and password, and returns the email trimmed.
func (s *Service) checkNew(email, name, pw string) (string, error) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || len(email) > 254 ||
		!strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "", ErrInvalidEmail
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 200 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", ErrInvalidName
	}
	local := email[:strings.LastIndexByte(email, '@')]
	if err := s.Policy.Check(pw, local, s.Product); err != nil {
		return "", err
	}
	return email, nil
}

// insert creates a verified account with a password hash through q.
func (s *Service) insert(ctx context.Context, q store.Queries, email, name, hash string, admin bool) (*store.User, error) {
	now := s.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, EmailVerified: true, Name: name, Admin: admin,
		CreatedAt: now, UpdatedAt: now}
	if err := q.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, ErrEmailTaken
		}
		return nil, err
	}
	if err := q.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return nil, err
	}
	return u, nil
}
