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
	ExternalID    string // the user's id in the system it was imported from ("" for none); unique
}

// Users stores accounts. Emails are unique case-insensitively.
type Users interface {
	// CreateUser inserts u; ErrConflict when the email (or the external id) is taken.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail matches case-insensitively.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByExternalID finds a user by the id it had in the system it came from.
	UserByExternalID(ctx context.Context, externalID string) (*User, error)
	// SetUserExternalID sets (or, with "", clears) the external id; ErrConflict when
	// another user has it.
	SetUserExternalID(ctx context.Context, id, externalID string, now time.Time) error
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
	// LockAdmins returns the ids of the enabled administrators and, on PostgreSQL, locks
	// their rows until the transaction ends, so that two transactions that each remove
	// an administrator cannot both see the other one still there.
	LockAdmins(ctx context.Context) ([]string, error)
	// ListUsers returns the users the filter selects, newest first (ids grow with
	// creation), at most f.Limit of them.
	ListUsers(ctx context.Context, f UserFilter) ([]User, error)
	// SetUserEmail changes the address and whether it counts as verified; ErrConflict
	// when another account has it, ErrNotFound when the user is unknown.
	SetUserEmail(ctx context.Context, id, email string, verified bool, now time.Time) error
	// EraseUser deletes the account and every row that names it (credentials, sessions,
	// second factors, memberships, consents, one-time tokens, pending logins and
	// authorization requests), the invitations and messages addressed to any of
	// addresses, the undelivered messages to others whose text holds an address or the
	// name (when it has 5 characters or more: a shorter one is not the user's alone), and
	// blanks the personal fields (IP, user agent, details) of the audit rows the user
	// acted in, is the target of, or whose details hold one of addresses. Audit rows keep
	// the ids, and their MACs, so the chain still verifies. ErrNotFound when the user is
	// unknown.
	EraseUser(ctx context.Context, id string, addresses []string, name string, now time.Time) error
}

// UserFilter selects users for an administrator's list. Nil flags select both values.
type UserFilter struct {
	Query         string // a case-insensitive substring of the email or the name (ASCII case on SQLite)
	Disabled      *bool
	EmailVerified *bool
	MFAEnabled    *bool
	Admin         *bool
	Before        string // the cursor: only users created before the user with this id
	Limit         int
}

// Credentials stores a user's password hash (PHC string).
type Credentials interface {
	// SetPasswordHash creates or replaces the user's password hash.
	SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	// PasswordHash returns the hash; ErrNotFound when the user has no password.
	PasswordHash(ctx context.Context, userID string) (string, error)
	// SetImportedPasswordHash is SetPasswordHash for a hash an import brought in: it is
	// marked imported until the user's own password replaces it.
	SetImportedPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	// PasswordHashImported returns the hash and whether an import set it (and nothing
	// since); ErrNotFound when the user has no password.
	PasswordHashImported(ctx context.Context, userID string) (hash string, imported bool, err error)
}

// ExportedUser is a user with their password hash ("" for none), as exported.
type ExportedUser struct {
	User
	PasswordHash string
}

// Transfer moves users in and out in bulk: an import's batch reads the accounts its
// lines may match in one query and writes its new accounts in a few statements.
type Transfer interface {
	// ExportUsers returns up to limit users created before the user with id before (""
	// for the newest), newest first, with their password hashes.
	ExportUsers(ctx context.Context, before string, limit int) ([]ExportedUser, error)
	// ImportCandidates returns the users with any of the ids, external ids or emails
	// (matched case-insensitively), with their password hashes.
	ImportCandidates(ctx context.Context, ids, externalIDs, emails []string) ([]ImportCandidate, error)
	// CreateUsers inserts users; ErrConflict when an email or external id is taken.
	CreateUsers(ctx context.Context, users []User) error
	// SetImportedPasswordHashes stores imported hashes (userID to hash) of users that
	// have no password yet.
	SetImportedPasswordHashes(ctx context.Context, hashes map[string]string, now time.Time) error
}

// ImportCandidate is an account an import line may match, with its password.
type ImportCandidate struct {
	User
	PasswordHash     string // "" for none
	PasswordImported bool
}
