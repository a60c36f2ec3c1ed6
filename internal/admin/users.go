package admin

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
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

// Hasher hashes and verifies passwords (the password package's worker pool).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, stored string) (ok, rehash bool, err error)
}

// NewUser is an account an operator creates.
type NewUser struct {
	Email string
	Name  string
	// Password is checked against the policy. Empty: the account has no password until
	// its owner sets one through a reset link (sent when SendReset).
	Password      string
	EmailVerified bool // the operator vouches for the address
	Admin         bool
	SendReset     bool
}

// ErrNoPassword: an account made without a password and without a reset link could
// never be signed in to.
var ErrNoPassword = errors.New("admin: an account without a password needs send_reset, so that its owner can set one")

// Bootstrap outcomes.
const (
	BootstrapNothing  = ""         // an administrator exists already
	BootstrapCreated  = "created"  // a new account was created as the administrator
	BootstrapPromoted = "promoted" // the account with the email became the administrator
)

// ReasonBootstrapPromoted ends the sessions of an account promoted at bootstrap (they
// were opened with a password that is no longer its password).
const ReasonBootstrapPromoted = "bootstrap_admin_promoted"

// CreateUser creates an account, an instance administrator when in.Admin, audited as
// admin.user.created with actorID ("" for the command line). With in.SendReset, the
// reset link is queued in the same transaction.
func (s *Service) CreateUser(ctx context.Context, actorID string, in NewUser) (*store.User, error) {
	email, err := checkEmail(in.Email)
	if err != nil {
		return nil, err
	}
	name, err := checkName(in.Name)
	if err != nil {
		return nil, err
	}
	hash := ""
	switch {
	case in.Password != "":
		if err := s.checkPassword(email, in.Password); err != nil {
			return nil, err
		}
		if hash, err = s.Hasher.Hash(ctx, password.Normalize(in.Password)); err != nil {
			return nil, fmt.Errorf("admin: create user: %w", err)
		}
	case !in.SendReset:
		return nil, ErrNoPassword
	}
	var u *store.User
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		u, err = s.insert(ctx, q, email, name, hash, in.Admin, in.EmailVerified)
		if err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, q, audit.Event{Action: audit.AdminUserCreated, ActorID: actorID, TargetType: "user", TargetID: u.ID,
			Time: u.CreatedAt, Details: map[string]any{"admin": in.Admin, "via": via(actorID), "password": hash != "",
				"email_verified": in.EmailVerified, "reset_sent": in.SendReset}}); err != nil {
			return err
		}
		if in.SendReset {
			return s.Resets.IssueReset(ctx, q, u, u.CreatedAt)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return nil, err
		}
		return nil, fmt.Errorf("admin: create user: %w", err)
	}
	if in.SendReset && s.Outbox != nil {
		s.Outbox.Wake()
	}
	return u, nil
}

// Resets issues a password-reset link to a user inside the caller's transaction (the
// account service).
type Resets interface {
	IssueReset(ctx context.Context, q store.Queries, u *store.User, now time.Time) error
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
		if u, err = s.insert(ctx, q, email, "", hash, true, true); err != nil {
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
	email, err := checkEmail(email)
	if err != nil {
		return "", err
	}
	if _, err := checkName(name); err != nil {
		return "", err
	}
	return email, s.checkPassword(email, pw)
}

// checkEmail returns the address trimmed, or ErrInvalidEmail.
func checkEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || len(email) > 254 ||
		!strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "", ErrInvalidEmail
	}
	return email, nil
}

// checkName returns the name trimmed, or ErrInvalidName.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 200 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", ErrInvalidName
	}
	return name, nil
}

// checkPassword applies the password policy to a new account's password.
func (s *Service) checkPassword(email, pw string) error {
	local := email[:strings.LastIndexByte(email, '@')]
	return s.Policy.Check(pw, local, s.Product)
}

// insert creates an account through q, with a password hash unless hash is empty.
func (s *Service) insert(ctx context.Context, q store.Queries, email, name, hash string, admin, verified bool) (*store.User, error) {
	now := s.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, EmailVerified: verified, Name: name, Admin: admin,
		CreatedAt: now, UpdatedAt: now}
	if err := q.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, ErrEmailTaken
		}
		return nil, err
	}
	if hash == "" {
		return u, nil
	}
	if err := q.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return nil, err
	}
	return u, nil
}
