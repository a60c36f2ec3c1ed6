package api

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Admins admits instance administrators to the /v1/admin routes: a valid bearer token
// of a live session (401 otherwise) whose user is an administrator (403 forbidden
// otherwise), not scoped to an organization, and that signed in with a second factor
// whenever the administrator has one enrolled.
type Admins struct {
	Auth  *Authenticator
	Users AdminLookup
}

// AdminLookup reads the caller's account (the account service, through its user cache:
// a demotion shows within the session-cache bound).
type AdminLookup interface {
	User(ctx context.Context, id string) (*store.User, error)
}

// adminDescription is said of every admin route in the OpenAPI document.
const adminDescription = "Instance administrators only: 403 `forbidden` for anyone else, for a token scoped to an " +
	"organization, and for a session that did not use a second factor when the administrator has one enrolled."

// Require wraps h so that it runs only for an instance administrator, before anything of
// the request is read.
func (a *Admins) Require(h AuthedFunc) HandlerFunc {
	return a.Auth.Require(func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if err := a.admit(r.Context(), p); err != nil {
			return err
		}
		return h(w, r, p)
	})
}

func (a *Admins) admit(ctx context.Context, p *Principal) error {
	u, err := a.Users.User(ctx, p.UserID)
	if errors.Is(err, account.ErrNotFound) {
		return problem.Unauthorized("The session has ended.")
	}
	if err != nil {
		return err
	}
	switch {
	case u.Disabled:
		return problem.AccountDisabled()
	case !u.Admin:
		return problem.Forbidden("Only instance administrators may do this.")
	case p.Claims == nil || p.Claims.OrgID != "":
		return problem.Forbidden("This token is scoped to an organization: administering the instance needs a token without org_id.")
	case u.MFAEnabled && !slices.Contains(p.Claims.AMR, "mfa"):
		return problem.Forbidden("Administration needs a session signed in with your second factor: sign in again with it.")
	}
	return nil
}
