package store

import (
	"context"
	"time"
)

// Session kinds. An API session is what /v1/auth/login starts (tokens in the JSON
// answer); a browser session is the hosted pages' sign-in, carried by a cookie; an OAuth
// grant is what a client got from the code flow, a session of its own with its own
// refresh-token chain, started from a browser session (its parent).
const (
	SessionAPI     = "api"
	SessionBrowser = "browser"
	SessionGrant   = "oauth"
)

// Client is a registered OAuth 2.0 / OpenID Connect client. Its secret (confidential
// clients) is 256 random bits, so its SHA-256 is what is stored.
type Client struct {
	ID                     string
	Name                   string
	SecretHash             string // hex SHA-256; empty for public clients
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string // authorization_code, refresh_token, client_credentials
	AuthMethod             string   // client_secret_basic, client_secret_post, none
	Scopes                 []string
	FirstParty             bool          // no consent screen
	AccessTokenTTL         time.Duration // 0: the instance's default
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// Clients stores OAuth clients.
type Clients interface {
	// CreateClient inserts c; ErrConflict when its id is taken.
	CreateClient(ctx context.Context, c *Client) error
	ClientByID(ctx context.Context, id string) (*Client, error)
	// ListClients returns clients ordered by id, after the given id ("" for the start).
	ListClients(ctx context.Context, after string, limit int) ([]Client, error)
	// UpdateClient replaces every field but the id, the secret and created_at.
	UpdateClient(ctx context.Context, c *Client) error
	SetClientSecret(ctx context.Context, id, secretHash string, now time.Time) error
	// DeleteClient removes the client with its auth requests and consents; ErrNotFound
	// when it is unknown. Its grant sessions are revoked by the caller first.
	DeleteClient(ctx context.Context, id string) error
}

// AuthRequest is an authorization request between /authorize and the code exchange.
type AuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	State               string
	Nonce               string
	Scopes              []string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	MaxAge              *int64 // seconds; nil when not sent
	LoginHint           string
	OrgID               string // the organization the sign-in is for (Gatehouse's org_id parameter)
	// Set when the user has signed in and consented.
	UserID           string
	BrowserSessionID string
	AuthTime         *time.Time
	AMR              []string
	// The code: its hash, its end, when it was exchanged, and the grant it started.
	CodeHash       string
	CodeExpiresAt  *time.Time
	CodeUsedAt     *time.Time
	GrantSessionID string
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// Done reports whether the user has signed in for this request.
func (r *AuthRequest) Done() bool { return r.UserID != "" }

// AuthRequests stores authorization requests.
type AuthRequests interface {
	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	AuthRequestByID(ctx context.Context, id string) (*AuthRequest, error)
	// AuthRequestByCode finds the request whose code hashes to codeHash, used or not.
	AuthRequestByCode(ctx context.Context, codeHash string) (*AuthRequest, error)
	// CompleteAuthRequest records who signed in; ErrNotFound when the request is unknown.
	CompleteAuthRequest(ctx context.Context, id, userID, browserSessionID string, authTime time.Time, amr []string) error
	// SetAuthCode stores the code's hash once; ErrConflict when the request has a code.
	SetAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error
	// UseAuthCode marks the code exchanged; ErrConflict when it already was.
	UseAuthCode(ctx context.Context, id string, now time.Time) error
	// SetAuthRequestGrant records the grant session the code started.
	SetAuthRequestGrant(ctx context.Context, id, sessionID string) error
	DeleteAuthRequest(ctx context.Context, id string) error
}

// Consent is a user's approval of a client's scopes, kept until revoked.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
}

// Consents stores consents.
type Consents interface {
	// SaveConsent creates or replaces the user's consent for the client.
	SaveConsent(ctx context.Context, c *Consent) error
	ConsentFor(ctx context.Context, userID, clientID string) (*Consent, error)
	ListConsents(ctx context.Context, userID string) ([]Consent, error)
	// DeleteConsent removes it; ErrNotFound when there was none.
	DeleteConsent(ctx context.Context, userID, clientID string) error
}

// BrowserSessions finds sessions by their cookie and grants by client.
type BrowserSessions interface {
	// SessionByCookie returns the session whose cookie hashes to cookieHash.
	SessionByCookie(ctx context.Context, cookieHash string) (*Session, error)
	// ListGrants returns the user's live OAuth grant sessions, newest first.
	ListGrants(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeGrants revokes live grant sessions matching every non-empty filter (user,
	// client, parent browser session; offline ones are kept when keepOffline) and returns
	// their ids.
	RevokeGrants(ctx context.Context, f GrantFilter, reason string, now time.Time) ([]string, error)
}

// GrantFilter selects grant sessions.
type GrantFilter struct {
	UserID      string
	ClientID    string
	ParentID    string
	KeepOffline bool // spare grants whose scopes include offline_access
}
