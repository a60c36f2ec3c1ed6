package oidc

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// authRequest is a stored authorization request as the library sees it.
type authRequest struct{ r *store.AuthRequest }

var _ op.AuthRequest = authRequest{}

func (a authRequest) GetID() string         { return a.r.ID }
func (a authRequest) GetACR() string        { return "" }
func (a authRequest) GetAMR() []string      { return a.r.AMR }
func (a authRequest) GetAudience() []string { return []string{a.r.ClientID} }
func (a authRequest) GetAuthTime() time.Time {
	if a.r.AuthTime == nil {
		return time.Time{}
	}
	return *a.r.AuthTime
}
func (a authRequest) GetClientID() string { return a.r.ClientID }
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}
func (a authRequest) GetNonce() string                   { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.r.ResponseMode) }
func (a authRequest) GetScopes() []string                { return a.r.Scopes }
func (a authRequest) GetState() string                   { return a.r.State }
func (a authRequest) GetSubject() string                 { return a.r.UserID }
func (a authRequest) Done() bool                         { return a.r.Done() }

// grantRequest is a refresh of a grant: the grant session as the library sees it.
type grantRequest struct {
	sess   *store.Session
	scopes []string // narrowed by the refresh request, or the grant's
}

var _ op.RefreshTokenRequest = (*grantRequest)(nil)

func (g *grantRequest) GetAMR() []string            { return g.sess.AMR }
func (g *grantRequest) GetAudience() []string       { return []string{g.sess.ClientID} }
func (g *grantRequest) GetAuthTime() time.Time      { return g.sess.AuthTime }
func (g *grantRequest) GetClientID() string         { return g.sess.ClientID }
func (g *grantRequest) GetScopes() []string         { return g.scopes }
func (g *grantRequest) GetSubject() string          { return g.sess.UserID }
func (g *grantRequest) SetCurrentScopes(s []string) { g.scopes = s }

// clientRequest is a client_credentials request: the client acts as itself.
type clientRequest struct {
	clientID string
	scopes   []string
}

var _ op.TokenRequest = clientRequest{}

func (c clientRequest) GetSubject() string    { return c.clientID }
func (c clientRequest) GetAudience() []string { return []string{c.clientID} }
func (c clientRequest) GetScopes() []string   { return c.scopes }
