package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// Lifetimes of the steps of the code flow.
const (
	// AuthRequestTTL is how long a user has to sign in after /authorize; the stored
	// request is also what recognises a code used twice, so it outlives its code.
	AuthRequestTTL = 30 * time.Minute
	// CodeTTL is how long a code can be exchanged (API.md: 60 s).
	CodeTTL = 60 * time.Second
)

// Token ids (the jti of client access tokens) say whose they are, so that introspection,
// userinfo and revocation find the grant without a table of issued tokens:
// "g:<grant session id>:<random>" for a user's grant, "c:<client id>:<random>" for
// client_credentials; a refresh token's id is "r:<grant session id>".
const (
	grantTokenPrefix  = "g:"
	clientTokenPrefix = "c:"
	refreshIDPrefix   = "r:"
)

// Users is what the provider reads about people.
type Users interface {
	User(ctx context.Context, id string) (*store.User, error)
}

// Store is what the provider keeps: clients, authorization requests, consents.
type Store interface {
	store.Clients
	store.AuthRequests
	store.Consents
	store.Transactor
}

// Storage is the library's storage, over Gatehouse's store and services.
type Storage struct {
	Store    Store
	Sessions *session.Service
	Users    Users
	Keys     *keys.Manager
	Audit    *audit.Log
	Log      *slog.Logger
	Now      func() time.Time
	// AccessTTL is the default lifetime of client access tokens.
	AccessTTL time.Duration
	// LoginURL is where /authorize sends the browser to sign in.
	LoginURL func(authRequestID string) string

	clients *cache.Cache[string, store.Client]
}

var (
	_ op.Storage                   = (*Storage)(nil)
	_ op.ClientCredentialsStorage  = (*Storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*Storage)(nil)
)

// errUnavailable is how a storage failure reaches a client: a retryable OAuth error,
// never the library's 500 server_error.
func (s *Storage) unavailable(ctx context.Context, op string, err error) error {
	s.Log.ErrorContext(ctx, "oidc storage failure", "op", op, "error", err)
	return unavailableError(err)
}

func unavailableError(err error) error {
	return op.NewStatusError(&oidc.Error{ErrorType: "temporarily_unavailable", Description: "the service is temporarily unavailable; try again",
		Parent: err}, 503)
}

// client returns a registered client through a short cache (the same bound as the session
// cache: a deleted client's tokens stop within it).
func (s *Storage) client(ctx context.Context, id string) (*client, error) {
	if id == "" {
		return nil, store.ErrNotFound
	}
	c, err := s.clients.Load(id, func() (store.Client, error) {
		c, err := s.Store.ClientByID(ctx, id)
		if err != nil {
			return store.Client{}, err
		}
		return *c, nil
	})
	if err != nil {
		return nil, err
	}
	return &client{c: &c, loginURL: s.LoginURL, accessTTL: s.AccessTTL}, nil
}

// ForgetClient drops a changed or deleted client from the cache.
func (s *Storage) ForgetClient(id string) { s.clients.Forget(id) }

// GetClientByClientID returns a client; an unknown one is invalid_client.
func (s *Storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.client(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		return nil, s.unavailable(ctx, "client", err)
	}
	return c, nil
}

// checkSecret authenticates a confidential client; unknown clients, public ones and
// wrong secrets all get the same invalid_client.
func (s *Storage) checkSecret(ctx context.Context, clientID, secret string) (*client, error) {
	// 401, as RFC 6749 §5.2 asks when the client tried to authenticate.
	bad := op.NewStatusError(oidc.ErrInvalidClient().WithDescription("client authentication failed"), 401)
	c, err := s.client(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, s.unavailable(ctx, "client", err)
	}
	if c.public() || c.c.SecretHash == "" || secret == "" ||
		subtle.ConstantTimeCompare([]byte(token.Hash(secret)), []byte(c.c.SecretHash)) != 1 {
		return nil, bad
	}
	return c, nil
}

// AuthorizeClientIDSecret authenticates a confidential client.
func (s *Storage) AuthorizeClientIDSecret(ctx context.Context, clientID, clientSecret string) error {
	_, err := s.checkSecret(ctx, clientID, clientSecret)
	return err
}

// ClientCredentials authenticates a client for the client_credentials grant.
func (s *Storage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	c, err := s.checkSecret(ctx, clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.c.GrantTypes, string(oidc.GrantTypeClientCredentials)) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client_credentials is not a grant type of this client")
	}
	return c, nil
}

// ClientCredentialsTokenRequest: the client acts as itself, with the scopes it asks for
// among those registered (openid and offline_access mean nothing without a user).
func (s *Storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	var granted []string
	for _, sc := range scopes {
		if sc == oidc.ScopeOpenID || sc == oidc.ScopeOfflineAccess {
			continue
		}
		if !c.IsScopeAllowed(sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not registered for this client", sc)
		}
		granted = append(granted, sc)
	}
	return clientRequest{clientID: clientID, scopes: granted}, nil
}

// CreateAuthRequest stores an authorization request that passed the provider's checks.
func (s *Storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	now := s.Now()
	r := &store.AuthRequest{
		ID: uuid.Must(uuid.NewV7()).String(), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
		Nonce: req.Nonce, Scopes: req.Scopes, ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: string(req.CodeChallengeMethod), Prompt: req.Prompt, LoginHint: req.LoginHint,
		CreatedAt: now, ExpiresAt: now.Add(AuthRequestTTL),
	}
	if req.MaxAge != nil {
		v := int64(*req.MaxAge)
		r.MaxAge = &v
	}
	if orgID, ok := ctx.Value(orgParamKey{}).(string); ok {
		r.OrgID = orgID
	}
	if err := s.Store.CreateAuthRequest(ctx, r); err != nil {
		return nil, s.unavailable(ctx, "create auth request", err)
	}
	return authRequest{r}, nil
}

// orgParamKey carries Gatehouse's org_id authorization parameter to CreateAuthRequest.
type orgParamKey struct{}

// AuthRequestByID returns a live authorization request.
func (s *Storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.Store.AuthRequestByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.Now().After(r.ExpiresAt)) {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request")
	}
	if err != nil {
		return nil, s.unavailable(ctx, "auth request", err)
	}
	return authRequest{r}, nil
}

// AuthRequestByCode finds the request a code was issued for. A code seen before is
// reuse: whatever its first exchange issued is revoked (RFC 9700 §4.2.4 / RFC 6749
// §4.1.2) and the answer is invalid_grant, like an unknown or expired code.
func (s *Storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	bad := oidc.ErrInvalidGrant().WithDescription("invalid, expired or used authorization code")
	r, err := s.Store.AuthRequestByCode(ctx, token.Hash(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, s.unavailable(ctx, "auth request by code", err)
	}
	if r.CodeUsedAt != nil {
		if err := s.codeReused(ctx, r); err != nil {
			return nil, err
		}
		return nil, bad
	}
	if r.CodeExpiresAt == nil || !s.Now().Before(*r.CodeExpiresAt) {
		return nil, bad
	}
	return authRequest{r}, nil
}

// codeReused revokes the grant a code's first exchange started.
func (s *Storage) codeReused(ctx context.Context, r *store.AuthRequest) error {
	var ids []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		fresh, err := q.AuthRequestByID(ctx, r.ID)
		if err != nil {
			return err
		}
		now := s.Now()
		if fresh.GrantSessionID != "" {
			err := q.RevokeSession(ctx, fresh.GrantSessionID, session.ReasonCodeReused, now)
			if err == nil {
				ids = append(ids, fresh.GrantSessionID)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: CodeReused, ActorID: fresh.UserID, TargetType: "client",
			TargetID: fresh.ClientID, Outcome: audit.Failure, Time: now, Details: map[string]any{"revoked_grants": len(ids)}})
	})
	if err != nil {
		return s.unavailable(ctx, "code reuse", err)
	}
	s.Sessions.Forget(ids...)
	return nil
}

// SaveAuthCode is not used: codes are made by Finish (flow.go), which binds them to the
// signed-in user in one write.
func (s *Storage) SaveAuthCode(context.Context, string, string) error {
	return oidc.ErrServerError().WithDescription("codes are issued by the hosted pages")
}

// DeleteAuthRequest keeps an exchanged request: it is what recognises its code if it
// comes back. The janitor deletes requests once they expire.
func (s *Storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an access token without a refresh token: for a code exchange
// it starts the grant (consuming the code), for client_credentials it is the client's.
func (s *Storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	switch r := req.(type) {
	case authRequest:
		sess, _, err := s.exchangeCode(ctx, r.r, false)
		if err != nil {
			return "", time.Time{}, err
		}
		return s.grantTokenID(sess), s.expiry(ctx, sess.ClientID), nil
	case clientRequest:
		return clientTokenPrefix + r.clientID + ":" + uuid.NewString(), s.expiry(ctx, r.clientID), nil
	case *grantRequest:
		return s.grantTokenID(r.sess), s.expiry(ctx, r.sess.ClientID), nil
	}
	return "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// CreateAccessAndRefreshTokens starts a grant with a refresh token (code exchange with
// offline_access), or rotates the grant's refresh token (refresh_token grant): a
// rotated token presented again revokes the grant (session.RefreshGrant).
func (s *Storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	switch r := req.(type) {
	case authRequest:
		sess, refresh, err := s.exchangeCode(ctx, r.r, true)
		if err != nil {
			return "", "", time.Time{}, err
		}
		return s.grantTokenID(sess), refresh, s.expiry(ctx, sess.ClientID), nil
	case *grantRequest:
		sess, refresh, err := s.Sessions.RefreshGrant(ctx, current, r.sess.ClientID)
		if err != nil {
			return "", "", time.Time{}, s.refreshError(ctx, err)
		}
		r.sess = sess
		return s.grantTokenID(sess), refresh, s.expiry(ctx, sess.ClientID), nil
	}
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

func (s *Storage) refreshError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, session.ErrReused):
		return oidc.ErrInvalidGrant().WithDescription("refresh token already used; the grant is revoked")
	case errors.Is(err, session.ErrInvalidToken):
		return oidc.ErrInvalidGrant().WithDescription("invalid, expired or revoked refresh token")
	}
	return s.unavailable(ctx, "refresh", err)
}

// exchangeCode consumes the code and starts its grant in one transaction: of two
// exchanges of one code exactly one wins, and the loser revokes what the winner got.
func (s *Storage) exchangeCode(ctx context.Context, r *store.AuthRequest, refresh bool) (*store.Session, string, error) {
	var sess *store.Session
	var rt string
	var reused bool
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		err := q.UseAuthCode(ctx, r.ID, s.Now())
		if errors.Is(err, store.ErrConflict) {
			reused = true
			return nil
		}
		if err != nil {
			return err
		}
		parent, err := q.SessionByID(ctx, r.BrowserSessionID)
		if err != nil {
			return err
		}
		if parent.RevokedAt != nil {
			return errParentEnded
		}
		sess, rt, err = s.Sessions.StartGrant(ctx, q, session.GrantSpec{Parent: parent, ClientID: r.ClientID, Scopes: r.Scopes,
			OrgID: r.OrgID, AMR: r.AMR}, refresh)
		if err != nil {
			return err
		}
		if err := q.SetAuthRequestGrant(ctx, r.ID, sess.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: GrantStarted, ActorID: r.UserID, TargetType: "client",
			TargetID: r.ClientID, Time: s.Now(), Details: map[string]any{"grant": sess.ID, "scopes": strings.Join(r.Scopes, " ")}})
	})
	switch {
	case errors.Is(err, errParentEnded):
		return nil, "", oidc.ErrInvalidGrant().WithDescription("the sign-in this code came from has ended")
	case err != nil:
		return nil, "", s.unavailable(ctx, "exchange code", err)
	case reused:
		if err := s.codeReused(ctx, r); err != nil {
			return nil, "", err
		}
		return nil, "", oidc.ErrInvalidGrant().WithDescription("invalid, expired or used authorization code")
	}
	return sess, rt, nil
}

var errParentEnded = errors.New("oidc: the browser session ended")

func (s *Storage) grantTokenID(sess *store.Session) string {
	return grantTokenPrefix + sess.ID + ":" + uuid.NewString()
}

func (s *Storage) expiry(ctx context.Context, clientID string) time.Time {
	ttl := s.AccessTTL
	if c, err := s.client(ctx, clientID); err == nil {
		ttl = c.ttl()
	}
	return s.Now().Add(ttl)
}

// TokenRequestByRefreshToken finds the grant of an unused refresh token. A used one is
// reuse: RefreshGrant revokes the grant, and the answer is invalid_grant.
func (s *Storage) TokenRequestByRefreshToken(ctx context.Context, refreshToken string) (op.RefreshTokenRequest, error) {
	sess, err := s.Sessions.GrantByRefreshToken(ctx, refreshToken, session.AnyClient)
	if errors.Is(err, session.ErrReused) {
		_, _, err = s.Sessions.RefreshGrant(ctx, refreshToken, sess.ClientID)
		return nil, s.refreshError(ctx, err)
	}
	if err != nil {
		return nil, s.refreshError(ctx, err)
	}
	return &grantRequest{sess: sess, scopes: sess.Scopes}, nil
}

// TerminateSession is not used: EndSession (server.go) ends the browser session itself.
func (s *Storage) TerminateSession(context.Context, string, string) error { return nil }

// GetRefreshTokenInfo names the grant of a refresh token of clientID, for revocation.
func (s *Storage) GetRefreshTokenInfo(ctx context.Context, clientID, refreshToken string) (string, string, error) {
	sess, err := s.Sessions.GrantByRefreshToken(ctx, refreshToken, session.AnyClient)
	if err != nil && !errors.Is(err, session.ErrReused) {
		if errors.Is(err, session.ErrInvalidToken) {
			return "", "", op.ErrInvalidRefreshToken
		}
		return "", "", err
	}
	return sess.UserID, refreshIDPrefix + sess.ID, nil
}

// RevokeToken ends the grant a refresh or access token belongs to (RFC 7009: revoking a
// refresh token ends its grant, access tokens included; an access token's grant ends
// too, as JWTs cannot be recalled one by one). Unknown tokens are not an error; another
// client's token is refused.
func (s *Storage) RevokeToken(ctx context.Context, tokenID, userID, clientID string) *oidc.Error {
	var grantID string
	switch {
	case strings.HasPrefix(tokenID, refreshIDPrefix):
		grantID = strings.TrimPrefix(tokenID, refreshIDPrefix)
	case strings.HasPrefix(tokenID, grantTokenPrefix):
		grantID, _, _ = strings.Cut(strings.TrimPrefix(tokenID, grantTokenPrefix), ":")
	default:
		return nil // a client token, an unknown or foreign token: nothing to revoke
	}
	var ids []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		sess, err := q.SessionByID(ctx, grantID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if sess.Kind != store.SessionGrant || sess.ClientID != clientID {
			return errForeignToken
		}
		if sess.RevokedAt != nil {
			return nil
		}
		now := s.Now()
		if err := q.RevokeSession(ctx, sess.ID, session.ReasonGrantRevoked, now); err != nil {
			return err
		}
		ids = append(ids, sess.ID)
		return s.Audit.Record(ctx, q, audit.Event{Action: TokenRevoked, ActorID: sess.UserID, TargetType: "client",
			TargetID: clientID, Time: now, Details: map[string]any{"grant": sess.ID}})
	})
	if errors.Is(err, errForeignToken) {
		return oidc.ErrUnauthorizedClient().WithDescription("the token was not issued to this client")
	}
	if err != nil {
		s.Log.ErrorContext(ctx, "oidc storage failure", "op", "revoke", "error", err)
		return &oidc.Error{ErrorType: "temporarily_unavailable", Description: "the service is temporarily unavailable; try again"}
	}
	s.Sessions.Forget(ids...)
	return nil
}

var errForeignToken = errors.New("oidc: another client's token")

// signingKey is the key manager's active key for the library.
type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key any
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.kid }

// SigningKey is the active key: ID tokens and client tokens are signed like the API's.
func (s *Storage) SigningKey(context.Context) (op.SigningKey, error) {
	kid, alg, key := s.Keys.Active()
	return signingKey{kid: kid, alg: jose.SignatureAlgorithm(alg), key: key}, nil
}

// SignatureAlgorithms lists the algorithm of the configured keys.
func (s *Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	_, alg, _ := s.Keys.Active()
	return []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}, nil
}

// publicKey is a published key for the library.
type publicKey struct{ jose.JSONWebKey }

func (k publicKey) ID() string { return k.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.JSONWebKey.Algorithm)
}
func (k publicKey) Use() string { return "sig" }
func (k publicKey) Key() any    { return k.JSONWebKey.Key }

// KeySet is every published key (active, next, unexpired retired).
func (s *Storage) KeySet(context.Context) ([]op.Key, error) {
	pub := s.Keys.Published()
	out := make([]op.Key, 0, len(pub))
	for _, k := range pub {
		out = append(out, publicKey{k})
	}
	return out, nil
}

// user returns a live account, or an error that makes the token inactive.
func (s *Storage) user(ctx context.Context, id string) (*store.User, error) {
	u, err := s.Users.User(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, store.ErrNotFound
	}
	return u, nil
}

// setClaims fills the standard claims the scopes allow.
func setClaims(info *oidc.UserInfo, u *store.User, scopes []string) {
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		// Set as a plain claim: the library's field omits false, and a client must be
		// able to tell an unverified address from a missing claim.
		info.AppendClaims("email_verified", u.EmailVerified)
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.UpdatedAt = oidc.FromTime(u.UpdatedAt)
	}
}

// SetUserinfoFromScopes fills the ID token's claims.
func (s *Storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	u, err := s.user(ctx, userID)
	if err != nil {
		return oidc.ErrInvalidGrant().WithDescription("the user is no longer active")
	}
	setClaims(info, u, scopes)
	return nil
}

// SetUserinfoFromRequest adds the session id (sid) of the browser session the user
// signed in with, which end-session and logout use.
func (s *Storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	switch r := req.(type) {
	case authRequest:
		info.AppendClaims("sid", r.r.BrowserSessionID)
	case *grantRequest:
		info.AppendClaims("sid", r.sess.ParentID)
	}
	return nil
}

// grantOf returns the live grant an access token id names.
func (s *Storage) grantOf(ctx context.Context, tokenID, subject string) (*store.Session, error) {
	if !strings.HasPrefix(tokenID, grantTokenPrefix) {
		return nil, store.ErrNotFound
	}
	grantID, _, _ := strings.Cut(strings.TrimPrefix(tokenID, grantTokenPrefix), ":")
	sess, err := s.Sessions.Check(ctx, grantID, subject)
	if err != nil {
		return nil, err
	}
	if sess.Kind != store.SessionGrant {
		return nil, store.ErrNotFound
	}
	return sess, nil
}

// SetUserinfoFromToken answers userinfo for a live grant's access token.
func (s *Storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	sess, err := s.grantOf(ctx, tokenID, subject)
	if err != nil {
		return errInactive
	}
	if !slices.Contains(sess.Scopes, oidc.ScopeOpenID) {
		return errInactive
	}
	u, err := s.user(ctx, subject)
	if err != nil {
		return errInactive
	}
	setClaims(info, u, sess.Scopes)
	return nil
}

var errInactive = errors.New("oidc: inactive token")

// SetIntrospectionFromToken describes a live token to the client it was issued to.
func (s *Storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	switch {
	case strings.HasPrefix(tokenID, clientTokenPrefix):
		owner, _, _ := strings.Cut(strings.TrimPrefix(tokenID, clientTokenPrefix), ":")
		if owner != clientID || subject != clientID {
			return errInactive
		}
		if _, err := s.client(ctx, owner); err != nil {
			return errInactive
		}
		resp.ClientID, resp.Subject, resp.Audience, resp.TokenType = owner, owner, oidc.Audience{owner}, oidc.BearerToken
		return nil
	case strings.HasPrefix(tokenID, grantTokenPrefix):
		sess, err := s.grantOf(ctx, tokenID, subject)
		if err != nil || sess.ClientID != clientID {
			return errInactive
		}
		u, err := s.user(ctx, subject)
		if err != nil {
			return errInactive
		}
		resp.Scope, resp.ClientID, resp.Subject, resp.Audience = sess.Scopes, sess.ClientID, subject, oidc.Audience{sess.ClientID}
		resp.TokenType, resp.AuthTime, resp.AuthenticationMethodsReferences = oidc.BearerToken, oidc.FromTime(sess.AuthTime), sess.AMR
		resp.Username = u.Email
		resp.Claims = map[string]any{"sid": sess.ID}
		return nil
	}
	return errInactive
}

// GetPrivateClaimsFromScopes: client access tokens carry their scope (RFC 9068).
func (s *Storage) GetPrivateClaimsFromScopes(_ context.Context, _, _ string, scopes []string) (map[string]any, error) {
	return map[string]any{"scope": strings.Join(scopes, " ")}, nil
}

// GetKeyByIDAndClientID: no client signs JWTs here (no private_key_jwt, no JWT profile).
func (s *Storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("client keys are not supported")
}

// ValidateJWTProfileScopes: the JWT profile grant is not offered.
func (s *Storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health reports whether the store answers.
func (s *Storage) Health(ctx context.Context) error {
	_, err := s.Store.ClientByID(ctx, "health-check")
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("oidc: health: %w", err)
}
