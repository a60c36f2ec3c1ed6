package store

import (
	"context"
	"time"
)

// Session is one signed-in device.
type Session struct {
	ID           string
	UserID       string
	OrgID        string // empty when not scoped to an organization
	AMR          []string
	IP           string
	UserAgent    string
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time // absolute end
	RevokedAt    *time.Time
	RevokeReason string
	// Kind is SessionAPI (the default when empty), SessionBrowser or SessionGrant.
	Kind string
	// For a grant: the client, its granted scopes, and the browser session it came from.
	ClientID string
	Scopes   []string
	ParentID string
	// AuthTime is when the user last proved who they are (a grant inherits its parent's).
	AuthTime time.Time
	// CookieHash is set when a browser session is created: the hash of the cookie that
	// reaches it (unique). It is never read back.
	CookieHash string
}

// Live reports whether the session may still be used at now, given the idle limit.
func (s *Session) Live(now time.Time, idle time.Duration) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt) && now.Before(s.LastSeenAt.Add(idle))
}

// Sessions stores sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s *Session) error
	SessionByID(ctx context.Context, id string) (*Session, error)
	// ListSessions returns the user's unrevoked, unexpired API and browser sessions
	// (not OAuth grants), newest first.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// SetSessionOrg scopes a session to an organization ("" for none) with a new end.
	SetSessionOrg(ctx context.Context, id, orgID string, expiresAt time.Time) error
	// TouchSession sets last_seen_at.
	TouchSession(ctx context.Context, id string, now time.Time) error
	// RevokeSession revokes one session; ErrNotFound when it is unknown or already revoked.
	RevokeSession(ctx context.Context, id, reason string, now time.Time) error
	// RevokeUserSessions revokes every live session of the user except exceptID (may be
	// empty) and returns the ids it revoked.
	RevokeUserSessions(ctx context.Context, userID, exceptID, reason string, now time.Time) ([]string, error)
}

// RefreshToken is one link in a session's rotation chain. Only its SHA-256 is stored.
type RefreshToken struct {
	Hash      string // hex SHA-256 of the token
	SessionID string
	CreatedAt time.Time
	UsedAt    *time.Time // set when rotated; presenting it again is reuse
}

// RefreshTokens stores refresh-token hashes.
type RefreshTokens interface {
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	RefreshTokenByHash(ctx context.Context, hash string) (*RefreshToken, error)
	// UseRefreshToken marks the token used if it was unused; ErrConflict when another
	// caller used it first. Exactly one of two concurrent callers wins.
	UseRefreshToken(ctx context.Context, hash string, now time.Time) error
}
