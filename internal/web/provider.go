package web

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrNoRequest: the authorization request is unknown, expired or already answered.
var ErrNoRequest = errors.New("web: no such authorization request")

// AuthRequest is an app's authorization request waiting for the user, as the pages show it.
type AuthRequest struct {
	ID         string
	ClientID   string
	ClientName string
	Scopes     []string
	// ForceLogin: the app asked for a fresh sign-in (prompt=login); MaxAge, when set,
	// is the oldest sign-in it accepts.
	ForceLogin bool
	MaxAge     *time.Duration
	LoginHint  string
	OrgID      string // the organization the sign-in is for, when the app named one
	// RedirectURI is where the answer goes (the request's redirect_uri). The pages allow
	// its origin as a form target: Chromium applies CSP form-action to the redirect that
	// follows a form post, so the sign-in and consent forms must list the app. When it is
	// empty they allow any https origin and http on loopback.
	RedirectURI string
}

// App is a client the user has authorized, for the account page.
type App struct {
	ClientID  string
	Name      string
	Scopes    []string
	GrantedAt time.Time
}

// Provider is what the pages need from the OpenID provider (internal/oidc implements it).
type Provider interface {
	// AuthRequest describes a pending authorization request; ErrNoRequest otherwise.
	AuthRequest(ctx context.Context, id string) (*AuthRequest, error)
	// NeedsConsent reports whether the user must approve the request's scopes (clients
	// that are not first_party, until the user approved the same or more scopes).
	NeedsConsent(ctx context.Context, id, userID string) (bool, error)
	// Approve remembers the user's consent to the request's client and scopes.
	Approve(ctx context.Context, id, userID string) error
	// Deny answers the request with access_denied and returns the URL to send the
	// browser to (the app's redirect_uri).
	Deny(ctx context.Context, id string) (string, error)
	// Finish binds the request to the signed-in browser session and returns the URL
	// that sends the browser back to the app with its code.
	Finish(ctx context.Context, id string, sess *store.Session) (string, error)
	// Apps lists the clients the user has authorized; Revoke withdraws the consent
	// and ends the client's grants of that user.
	Apps(ctx context.Context, userID string) ([]App, error)
	Revoke(ctx context.Context, userID, clientID string) error
}
