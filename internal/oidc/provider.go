// Package oidc is Gatehouse's OAuth 2.0 / OpenID Connect provider, built on
// github.com/zitadel/oidc's op package with its Storage over Gatehouse's store: the code
// flow with PKCE, refresh and client_credentials grants, revocation, introspection,
// userinfo and RP-initiated logout. An OAuth grant is a session (internal/session) of
// its own, started from the browser session of the hosted pages (internal/web), so that
// rotation, reuse detection and revocation are the API's.
package oidc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Paths of the provider's endpoints.
const (
	PathAuthorize  = "/authorize"
	PathToken      = "/oauth/token"
	PathIntrospect = "/oauth/introspect"
	PathRevoke     = "/oauth/revoke"
	PathUserinfo   = "/userinfo"
	PathEndSession = "/oauth/end_session"
	PathDiscovery  = "/.well-known/openid-configuration"
	PathASMetadata = "/.well-known/oauth-authorization-server"
	PathJWKS       = "/.well-known/jwks.json"
)

// Config builds a Provider.
type Config struct {
	Issuer    string // GATEHOUSE_ISSUER, exactly: never taken from a request
	Store     Store
	Sessions  *session.Service
	Users     Users
	Keys      *keys.Manager
	Audit     *audit.Log
	Log       *slog.Logger
	Now       func() time.Time
	AccessTTL time.Duration
	// CacheTTL bounds how long a changed or deleted client is still seen (≤ 5 s).
	CacheTTL time.Duration
	// CryptoKey is the library's key for opaque tokens; Gatehouse issues none, but the
	// library wants one.
	CryptoKey [32]byte
	// CookieName is the hosted pages' session cookie (prompt=none and end-session read it).
	CookieName string
	// LoginPath, SignOutPath: the hosted pages the provider sends browsers to.
	LoginPath   string
	SignOutPath string
}

// Provider is the OpenID provider: its HTTP handler and what the hosted pages call.
type Provider struct {
	storage      *Storage
	sessions     *session.Service
	server       *server
	handler      http.Handler
	issuer       string
	cookie       string
	now          func() time.Time
	signOutURL   string
	signedOutURL string
}

// New builds the provider.
func New(c Config) (*Provider, error) {
	p := &Provider{sessions: c.Sessions, issuer: c.Issuer, cookie: c.CookieName, now: c.Now,
		signOutURL: c.Issuer + c.SignOutPath, signedOutURL: c.Issuer + c.SignOutPath + "?done=1"}
	p.storage = &Storage{Store: c.Store, Sessions: c.Sessions, Users: c.Users, Keys: c.Keys, Audit: c.Audit, Log: c.Log, Now: c.Now,
		AccessTTL: c.AccessTTL, LoginURL: func(id string) string { return c.Issuer + c.LoginPath + "?auth_request=" + id },
		clients: cache.New[string, store.Client](c.CacheTTL, c.Now)}
	cfg := &op.Config{
		CryptoKey:             c.CryptoKey,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       []string{"openid", "profile", "email", "offline_access"},
	}
	var opts []op.Option
	if strings.HasPrefix(c.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(cfg, p.storage, op.StaticIssuer(c.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider: %w", err)
	}
	endpoints := op.Endpoints{
		Authorization: op.NewEndpoint(PathAuthorize),
		Token:         op.NewEndpoint(PathToken),
		Introspection: op.NewEndpoint(PathIntrospect),
		Userinfo:      op.NewEndpoint(PathUserinfo),
		Revocation:    op.NewEndpoint(PathRevoke),
		EndSession:    op.NewEndpoint(PathEndSession),
		JwksURI:       op.NewEndpoint(PathJWKS),
	}
	p.server = &server{LegacyServer: op.NewLegacyServer(provider, endpoints), p: p}
	// Cross-origin calls are answered by Gatehouse's own CORS middleware, for the
	// configured origins only; the library's default would allow every origin.
	noCORS := &cors.Options{AllowOriginFunc: func(string) bool { return false }}
	h := op.RegisterLegacyServer(p.server, http.NotFound, op.WithServerCORSOptions(noCORS))
	p.handler = guard(p.issuer, h)
	return p, nil
}

// Mount registers the provider's endpoints.
func (p *Provider) Mount(handle func(pattern string, h http.HandlerFunc)) {
	for _, path := range []string{PathAuthorize, PathToken, PathIntrospect, PathRevoke, PathUserinfo, PathEndSession, PathDiscovery} {
		handle(path, p.handler.ServeHTTP)
	}
	handle("GET "+PathASMetadata, p.asMetadata)
}

// asMetadata serves the discovery document at the OAuth 2.0 metadata path (RFC 8414).
func (p *Provider) asMetadata(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = PathDiscovery
	p.handler.ServeHTTP(w, r2)
}

// algs is the signing algorithm of the keys, for discovery.
func (p *Provider) algs() []string {
	_, alg, _ := p.storage.Keys.Active()
	return []string{alg}
}

// browserSession is the hosted pages' session the request's cookie reaches.
func (p *Provider) browserSession(ctx context.Context, h http.Header) (*store.Session, error) {
	r := http.Request{Header: h}
	c, err := r.Cookie(p.cookie)
	if err != nil {
		return nil, session.ErrNotFound
	}
	return p.sessions.ByCookie(ctx, c.Value)
}

// ForgetClient drops a changed or deleted client from the provider's cache.
func (p *Provider) ForgetClient(id string) { p.storage.ForgetClient(id) }
