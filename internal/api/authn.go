package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// Principal is the authenticated caller of a bearer request.
type Principal struct {
	UserID     string
	SessionID  string
	Claims     *token.Claims
	SignedInAt time.Time // when the session began: the sign-in itself, not a refresh
}

// proof is what second-factor changes check of the caller's sign-in.
func (p *Principal) proof() mfa.Proof { return mfa.Proof{AMR: p.Claims.AMR, SignedInAt: p.SignedInAt} }

// Authenticator checks bearer tokens: signature and claims, then that the session is live.
type Authenticator struct {
	Access   *token.Access
	Sessions *session.Service
}

func unauthorized(w http.ResponseWriter, detail string) error {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return problem.Unauthorized(detail)
}

// principal authenticates the request.
func (a *Authenticator) principal(w http.ResponseWriter, r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		return nil, problem.Unauthorized("A bearer token is required.")
	}
	raw, ok := token.ParseBearer(h)
	if !ok {
		return nil, unauthorized(w, "The Authorization header must be \"Bearer <access token>\".")
	}
	claims, err := a.Access.Verify(raw)
	if err != nil {
		return nil, unauthorized(w, "The access token is invalid or expired.")
	}
	sess, err := a.Sessions.Check(r.Context(), claims.SessionID, claims.Subject)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) {
			return nil, unauthorized(w, "The session has ended.")
		}
		return nil, err
	}
	return &Principal{UserID: claims.Subject, SessionID: claims.SessionID, Claims: claims, SignedInAt: sess.CreatedAt}, nil
}

// AuthedFunc is a handler for an authenticated caller.
type AuthedFunc func(w http.ResponseWriter, r *http.Request, p *Principal) error

// Require wraps h so that it runs only for a valid bearer token of a live session.
func (a *Authenticator) Require(h AuthedFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.principal(w, r)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p)
	}
}

type principalKey struct{}
