package store

import (
	"context"
	"time"
)

// One-time token kinds.
const (
	TokenVerifyEmail   = "verify_email"
	TokenPasswordReset = "password_reset"
)

// OneTimeToken is a single-use emailed token; only its SHA-256 is stored.
type OneTimeToken struct {
	Hash      string
	Kind      string
	UserID    string
	Email     string // the address it was sent to: the token is bound to it
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// OneTimeTokens stores emailed tokens.
type OneTimeTokens interface {
	// CreateOneTimeToken stores t and voids the user's older unused tokens of the same kind.
	CreateOneTimeToken(ctx context.Context, t *OneTimeToken) error
	// PeekOneTimeToken returns a token that is still usable, without using it;
	// ErrNotFound otherwise.
	PeekOneTimeToken(ctx context.Context, hash, kind string, now time.Time) (*OneTimeToken, error)
	// ConsumeOneTimeToken marks the token used and returns it; ErrNotFound when it is
	// unknown, of another kind, used, voided or expired.
	ConsumeOneTimeToken(ctx context.Context, hash, kind string, now time.Time) (*OneTimeToken, error)
	// VoidOneTimeTokens makes every open token of the user, of any kind, count as used
	// (the password changed, the account was disabled), and returns how many it voided.
	VoidOneTimeTokens(ctx context.Context, userID string, now time.Time) (int, error)
}
