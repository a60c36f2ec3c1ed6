package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// server is the library's LegacyServer with Gatehouse's rules where the library is more
// lenient than API.md and RFC 9700: code flow only, PKCE S256 (required for public
// clients, plain refused, no downgrade at the token endpoint), strict loopback redirect
// matching, OAuth errors for storage failures, and end-session against open redirects.
type server struct {
	*op.LegacyServer
	p *Provider
	// verified remembers access tokens that userinfo and introspection verified (verified.go).
	verified verifiedTokens
}

// VerifyAuthRequest finds the client; an unknown client_id is refused on the page,
// never redirected (the redirect_uri cannot be trusted without a client).
func (s *server) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	if r.Data.RequestParam != "" {
		return nil, oidc.ErrRequestNotSupported()
	}
	if r.Form.Get("request_uri") != "" {
		return nil, &oidc.Error{ErrorType: "request_uri_not_supported", Description: "request_uri is not supported"}
	}
	// The response type comes first: with anything but code the library would refuse a
	// loopback redirect_uri with a message about http, which would mislead.
	switch r.Data.ResponseType {
	case oidc.ResponseTypeCode:
	case "":
		return nil, oidc.ErrInvalidRequest().WithDescription("response_type is missing; this provider supports response_type=code")
	default:
		return nil, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"}
	}
	if r.Data.ClientID == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("client_id is missing")
	}
	c, err := s.p.storage.client(ctx, r.Data.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown client_id")
	}
	if err != nil {
		return nil, s.p.storage.unavailable(ctx, "client", err)
	}
	if r.Data.RedirectURI != "" && !redirectAllowed(c, r.Data.RedirectURI) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("the redirect_uri is not registered for this client")
	}
	return &op.ClientRequest[oidc.AuthRequest]{Request: r, Client: c}, nil
}

// redirectAllowed: an exact match, or for a public client a loopback URI registered on
// the same scheme, host and path with any port (RFC 8252 §7.3). The library would also
// let localhost stand for 127.0.0.1 and ignore the host.
func redirectAllowed(c *client, uri string) bool {
	if slices.Contains(c.c.RedirectURIs, uri) {
		return true
	}
	if !c.public() {
		return false
	}
	got, err := url.Parse(uri)
	if err != nil || got.Scheme != "http" || !isLoopbackIP(got.Hostname()) {
		return false
	}
	for _, reg := range c.c.RedirectURIs {
		want, err := url.Parse(reg)
		if err == nil && want.Scheme == "http" && isLoopbackIP(want.Hostname()) && want.Hostname() == got.Hostname() &&
			want.Path == got.Path && want.RawQuery == got.RawQuery && got.Fragment == "" && got.User == nil {
			return true
		}
	}
	return false
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Authorize applies Gatehouse's rules, answers prompt=none from the browser session,
// and otherwise stores the request and sends the browser to the login page.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	c := r.Client.(*client)
	req := r.Data
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"}
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	switch {
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case req.CodeChallenge == "" && req.CodeChallengeMethod != "":
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method without code_challenge")
	case req.CodeChallenge == "" && c.public():
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required for this client")
	}
	req.Scopes = c.allowed(req.Scopes)
	if len(req.Scopes) == 0 {
		return nil, oidc.ErrInvalidScope().WithDescription("none of the requested scopes is allowed for this client")
	}
	if orgID := r.Form.Get("org_id"); orgID != "" {
		ctx = context.WithValue(ctx, orgParamKey{}, orgID)
	}
	hintSub, err := op.ValidateAuthReqIDTokenHint(ctx, req.IDTokenHint, s.Provider().IDTokenHintVerifier(ctx))
	if err != nil {
		return nil, err
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return s.silent(ctx, r, hintSub)
	}
	ar, err := s.p.storage.CreateAuthRequest(ctx, req, hintSub)
	if err != nil {
		return nil, err
	}
	return op.NewRedirect(c.LoginURL(ar.GetID())), nil
}

// silent answers prompt=none: with a browser session recent enough for max_age, of the
// user the id_token_hint names, and consent already given, the code comes at once;
// otherwise login_required or consent_required.
func (s *server) silent(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest], hintSub string) (*op.Redirect, error) {
	sess, err := s.p.browserSession(ctx, r.Header)
	if errors.Is(err, session.ErrNotFound) {
		return nil, oidc.ErrLoginRequired()
	}
	if err != nil {
		return nil, s.p.storage.unavailable(ctx, "browser session", err)
	}
	if hintSub != "" && hintSub != sess.UserID {
		return nil, oidc.ErrLoginRequired().WithDescription("the signed-in user is not the one the id_token_hint names")
	}
	if r.Data.MaxAge != nil && s.p.now().Sub(sess.AuthTime) > time.Duration(*r.Data.MaxAge)*time.Second {
		return nil, oidc.ErrLoginRequired().WithDescription("the sign-in is older than max_age")
	}
	ar, err := s.p.storage.CreateAuthRequest(ctx, r.Data, hintSub)
	if err != nil {
		return nil, err
	}
	need, err := s.p.NeedsConsent(ctx, ar.GetID(), sess.UserID)
	if err != nil {
		return nil, s.p.storage.unavailable(ctx, "consent", err)
	}
	if need {
		return nil, &oidc.Error{ErrorType: "consent_required", Description: "the user has not approved this application"}
	}
	to, err := s.p.Finish(ctx, ar.GetID(), sess)
	if err != nil {
		return nil, s.p.storage.unavailable(ctx, "finish", err)
	}
	return op.NewRedirect(to), nil
}

// CodeExchange checks the code's client, redirect URI and PKCE strictly before the
// storage consumes it: a request made with a challenge needs its verifier, a verifier
// for a request made without one is a downgrade, and public clients always use PKCE.
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	if r.Data.Code == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code is missing")
	}
	ar, err := s.p.storage.AuthRequestByCode(ctx, r.Data.Code)
	if err != nil {
		return nil, err
	}
	a := ar.(authRequest).r
	if r.Client.GetID() != a.ClientID {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was issued to another client")
	}
	if r.Data.RedirectURI != a.RedirectURI {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not match the authorization request")
	}
	switch {
	case a.CodeChallenge != "":
		if r.Data.CodeVerifier == "" {
			return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier is required")
		}
		if !oidc.VerifyCodeChallenge(&oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethodS256}, r.Data.CodeVerifier) {
			return nil, oidc.ErrInvalidGrant().WithDescription("invalid code_verifier")
		}
	case r.Data.CodeVerifier != "":
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier sent for a request made without code_challenge")
	case r.Client.(*client).public():
		return nil, oidc.ErrInvalidGrant().WithDescription("PKCE is required for this client")
	}
	resp, err := op.CreateTokenResponse(ctx, ar, r.Client, s.Provider(), true, r.Data.Code, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// Discovery lists what this provider does, and only that.
func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Discovery(ctx, r)
	if err != nil {
		return nil, err
	}
	doc, err := discoveryDoc(resp.Data, s.p.algs())
	if err != nil {
		return nil, err
	}
	resp.Data = doc
	return resp, nil
}

func discoveryDoc(base any, algs []string) (map[string]any, error) {
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	doc["response_types_supported"] = []string{"code"}
	doc["response_modes_supported"] = []string{"query"}
	doc["grant_types_supported"] = []string{"authorization_code", "refresh_token", "client_credentials"}
	doc["code_challenge_methods_supported"] = []string{"S256"}
	doc["authorization_response_iss_parameter_supported"] = true
	doc["id_token_signing_alg_values_supported"] = algs
	doc["scopes_supported"] = []string{"openid", "profile", "email", "offline_access"}
	doc["claims_supported"] = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "at_hash",
		"email", "email_verified", "name", "updated_at"}
	doc["prompt_values_supported"] = []string{"none", "login", "consent"}
	doc["subject_types_supported"] = []string{"public"}
	methods := []string{"client_secret_basic", "client_secret_post"}
	doc["token_endpoint_auth_methods_supported"] = append(slices.Clone(methods), "none")
	doc["revocation_endpoint_auth_methods_supported"] = append(slices.Clone(methods), "none")
	doc["introspection_endpoint_auth_methods_supported"] = methods
	doc["request_parameter_supported"] = false
	doc["request_uri_parameter_supported"] = false
	for _, k := range []string{"request_object_signing_alg_values_supported", "token_endpoint_auth_signing_alg_values_supported",
		"revocation_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported",
		"userinfo_signing_alg_values_supported", "ui_locales_supported", "claims_parameter_supported", "device_authorization_endpoint",
		"check_session_iframe", "backchannel_logout_supported", "backchannel_logout_session_supported"} {
		delete(doc, k)
	}
	return doc, nil
}

// EndSession is RP-initiated logout. With a valid id_token_hint it ends the browser
// session and goes straight to a registered post_logout_redirect_uri (with state);
// without one it sends the browser to the sign-out page, which asks first. An unknown
// client, an unregistered URI or a bad hint is an error page: never a redirect.
func (s *server) EndSession(ctx context.Context, r *op.Request[oidc.EndSessionRequest]) (*op.Redirect, error) {
	req := r.Data
	var claims *oidc.IDTokenClaims
	if req.IdTokenHint != "" {
		c, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ctx, req.IdTokenHint, s.Provider().IDTokenHintVerifier(ctx))
		if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
			return nil, oidc.ErrInvalidRequest().WithDescription("id_token_hint is invalid")
		}
		claims = c
		azp := c.GetAuthorizedParty()
		if azp == "" && len(c.Audience) == 1 {
			azp = c.Audience[0]
		}
		if req.ClientID != "" && req.ClientID != azp {
			return nil, oidc.ErrInvalidRequest().WithDescription("client_id does not match the id_token_hint")
		}
		req.ClientID = azp
	}
	var c *client
	if req.ClientID != "" {
		var err error
		c, err = s.p.storage.client(ctx, req.ClientID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, oidc.ErrInvalidRequest().WithDescription("unknown client_id")
		}
		if err != nil {
			return nil, s.p.storage.unavailable(ctx, "client", err)
		}
	}
	redirect := ""
	if req.PostLogoutRedirectURI != "" {
		if c == nil || !slices.Contains(c.c.PostLogoutRedirectURIs, req.PostLogoutRedirectURI) {
			return nil, oidc.ErrInvalidRequest().WithDescription("post_logout_redirect_uri is not registered for this client")
		}
		redirect = req.PostLogoutRedirectURI
		if req.State != "" {
			u, err := url.Parse(redirect)
			if err != nil {
				return nil, oidc.ErrInvalidRequest().WithDescription("post_logout_redirect_uri is invalid")
			}
			q := u.Query()
			q.Set("state", req.State)
			u.RawQuery = q.Encode()
			redirect = u.String()
		}
	}
	if claims == nil {
		return op.NewRedirect(s.p.signOutURL), nil // the page asks before signing out
	}
	sess, err := s.p.browserSession(ctx, r.Header)
	switch {
	case errors.Is(err, session.ErrNotFound):
		// Already signed out here.
	case err != nil:
		return nil, s.p.storage.unavailable(ctx, "browser session", err)
	case sess.UserID == claims.Subject:
		if err := s.p.sessions.EndBrowser(ctx, sess, session.ReasonEndSession); err != nil {
			return nil, s.p.storage.unavailable(ctx, "end session", err)
		}
	}
	if redirect == "" {
		redirect = s.p.signedOutURL
	}
	return op.NewRedirect(redirect), nil
}
