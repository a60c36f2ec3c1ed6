package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
)

// worker is one concurrent client's state: its account and newest tokens.
type worker struct {
	id              int
	email, password string
	access, refresh string
	userID, orgID   string
	n               int
	broken          bool // the last request failed: recover before the next one
}

// scenario prepares each worker (unmeasured) and issues one measured request per do call.
type scenario struct {
	setup func(ctx context.Context, c *client, w *worker) error
	do    func(ctx context.Context, c *client, w *worker) (status int, body []byte, err error)
	want  int
	// recover, if set, restores a worker's state after a failed request (unmeasured), so
	// that one failure does not turn every later request into a failure.
	recover func(ctx context.Context, c *client, w *worker) error
}

var (
	runID    = randHex(4) // keeps emails unique across runs against the same database
	accounts atomic.Int64 // numbers the accounts registered in this run
)

// randHex returns 2n random hex digits.
func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand documents that Read never fails
	}
	return hex.EncodeToString(b)
}

// newCredentials gives w a fresh, unique email and a password the policy accepts.
func newCredentials(w *worker) {
	w.email = fmt.Sprintf("bench-%s-%d-%d@example.com", runID, w.id, accounts.Add(1))
	w.password = "bench-" + randHex(8)
}

// register creates w's account with fresh credentials.
func register(ctx context.Context, c *client, w *worker) (int, []byte, error) {
	newCredentials(w)
	return c.post(ctx, "/v1/auth/register", map[string]string{"email": w.email, "password": w.password}, "")
}

// setupAccount registers w's account (setup only).
func setupAccount(ctx context.Context, c *client, w *worker) error {
	st, body, err := register(ctx, c, w)
	if err := expect("register", 201, st, body, err); err != nil {
		return err
	}
	var r struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := decode(body, &r); err != nil {
		return err
	}
	if r.User.ID == "" {
		return fmt.Errorf("register: %w: no user id: %s", errBadResponse, snippet(body))
	}
	w.userID = r.User.ID
	return nil
}

// setupSession registers w's account and signs it in.
func setupSession(ctx context.Context, c *client, w *worker) error {
	if err := setupAccount(ctx, c, w); err != nil {
		return err
	}
	return relogin(ctx, c, w)
}

// relogin signs w in again and keeps the new tokens.
func relogin(ctx context.Context, c *client, w *worker) error {
	st, body, err := c.post(ctx, "/v1/auth/login", map[string]string{"email": w.email, "password": w.password}, "")
	if err := expect("login", 200, st, body, err); err != nil {
		return err
	}
	return w.keepTokens(body)
}

// keepTokens stores the tokens of a TokenResponse.
func (w *worker) keepTokens(body []byte) error {
	var t struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if err := decode(body, &t); err != nil {
		return err
	}
	if t.Access == "" || t.Refresh == "" {
		return fmt.Errorf("%w: no tokens: %s", errBadResponse, snippet(body))
	}
	w.access, w.refresh = t.Access, t.Refresh
	return nil
}

var scenarios = map[string]scenario{
	"register": {do: register, want: 201},
	"login": {
		setup: setupAccount,
		do: func(ctx context.Context, c *client, w *worker) (int, []byte, error) {
			return c.post(ctx, "/v1/auth/login", map[string]string{"email": w.email, "password": w.password}, "")
		},
		want: 200,
	},
	"refresh": {
		setup: setupSession,
		do: func(ctx context.Context, c *client, w *worker) (int, []byte, error) {
			st, body, err := c.post(ctx, "/v1/auth/token/refresh", map[string]string{"refresh_token": w.refresh}, "")
			if err == nil && st == 200 {
				err = w.keepTokens(body) // each worker follows its own rotation chain
			}
			return st, body, err
		},
		want:    200,
		recover: relogin, // a broken chain (or a revoked session) needs a new one
	},
	"me": {
		setup: setupSession,
		do: func(ctx context.Context, c *client, w *worker) (int, []byte, error) {
			return c.get(ctx, "/v1/me", w.access)
		},
		want:    200,
		recover: relogin,
	},
	"jwks": {
		do: func(ctx context.Context, c *client, w *worker) (int, []byte, error) {
			return c.get(ctx, "/.well-known/jwks.json", "")
		},
		want: 200,
	},
	"authz": { // POST /v1/orgs/{id}/authz/check in the worker's own organization
		setup: func(ctx context.Context, c *client, w *worker) error {
			if err := setupSession(ctx, c, w); err != nil {
				return err
			}
			st, body, err := c.post(ctx, "/v1/orgs", map[string]string{"name": "Bench", "slug": "bench-" + randHex(6)}, w.access)
			if err := expect("create org", 201, st, body, err); err != nil {
				return err
			}
			var org struct {
				ID string `json:"id"`
			}
			if err := decode(body, &org); err != nil {
				return err
			}
			w.orgID = org.ID
			return nil
		},
		do: func(ctx context.Context, c *client, w *worker) (int, []byte, error) {
			w.n++
			perm := []string{"org:read", "members:invite", "app:invoices:write", "org:delete"}[w.n%4]
			return c.post(ctx, "/v1/orgs/"+w.orgID+"/authz/check", map[string]string{"user_id": w.userID, "permission": perm}, w.access)
		},
		want:    200,
		recover: relogin,
	},
	// The OAuth 2.0 / OpenID Connect provider (oauth.go), with the bench's client.
	"client_credentials": {do: clientCredentials, want: 200},
	"introspect":         {setup: setupGrant, do: introspect, want: 200, recover: regrant},
	"userinfo":           {setup: setupGrant, do: userinfo, want: 200, recover: regrant},
	// One request is one whole flow, which verifies one password like a login.
	"codeflow": {setup: setupAccount, do: codeFlow, want: 200},
}
