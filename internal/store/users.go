package store

import (
	"context"
	"time"
)

// User is an account.
type User struct {
	ID            string
	Email         string // as given, trimmed
	EmailVerified bool
	Name          string
	MFAEnabled    bool
	Disabled      bool
	Admin         bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastLoginAt   *time.Time
}

// Users stores accounts. Emails are unique case-insensitively.
type Users interface {
	// CreateUser inserts u; ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail matches case-insensitively.
	UserByEmail(ctx context.Context, email string) (*User, error)
	UpdateUserName(ctx context.Context, id, name string, now time.Time) error
	SetEmailVerified(ctx context.Context, id string, now time.Time) error
	SetLastLogin(ctx context.Context, id string, now time.Time) error
	SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error
	// CountAdmins returns how many enabled accounts are instance administrators.
	CountAdmins(ctx context.Context) (int, error)
	// SetUserAdmin grants (or withdraws) administration with a conditional write: only a
	// user whose flag differs changes, so of two concurrent callers one wins and the
	// other gets ErrConflict. ErrNotFound when the user is unknown.
	SetUserAdmin(ctx context.Context, id string, admin bool, now time.Time) error
}

// Credentials stores a user's password hash (PHC string).
type Credentials interface {
	// SetPasswordHash creates or replaces the user's password hash.
	SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	// PasswordHash returns the hash; ErrNotFound when the user has no password.
	PasswordHash(ctx context.Context, userID string) (string, error)
}
