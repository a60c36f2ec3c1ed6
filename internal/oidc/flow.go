package oidc

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

var _ web.Provider = (*Provider)(nil)

// pending returns an authorization request the user can still answer: known, not
// expired, and without a code yet.
func (p *Provider) pending(ctx context.Context, id string) (*store.AuthRequest, *client, error) {
	r, err := p.storage.Store.AuthRequestByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (r.CodeHash != "" || !p.now().Before(r.ExpiresAt))) {
		return nil, nil, web.ErrNoRequest
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := p.storage.client(ctx, r.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, web.ErrNoRequest
	}
	if err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

// AuthRequest describes a pending request to the hosted pages.
func (p *Provider) AuthRequest(ctx context.Context, id string) (*web.AuthRequest, error) {
	r, c, err := p.pending(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &web.AuthRequest{ID: r.ID, ClientID: c.c.ID, ClientName: c.c.Name, Scopes: r.Scopes, LoginHint: r.LoginHint, OrgID: r.OrgID,
		RedirectURI: r.RedirectURI,
		ForceLogin:  slices.Contains(r.Prompt, oidc.PromptLogin)}
	if r.MaxAge != nil {
		d := time.Duration(*r.MaxAge) * time.Second
		out.MaxAge = &d
		out.ForceLogin = out.ForceLogin || d == 0
	}
	return out, nil
}

// NeedsConsent: first-party clients never ask; others ask when the app says
// prompt=consent or the user has not approved every requested scope before.
func (p *Provider) NeedsConsent(ctx context.Context, id, userID string) (bool, error) {
	r, c, err := p.pending(ctx, id)
	if err != nil {
		return false, err
	}
	if c.c.FirstParty {
		return false, nil
	}
	if slices.Contains(r.Prompt, oidc.PromptConsent) {
		return true, nil
	}
	given, err := p.storage.Store.ConsentFor(ctx, userID, r.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range r.Scopes {
		if !slices.Contains(given.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// Approve remembers the user's consent (adding to what was approved before).
func (p *Provider) Approve(ctx context.Context, id, userID string) error {
	r, _, err := p.pending(ctx, id)
	if err != nil {
		return err
	}
	return p.storage.Store.InTx(ctx, func(q store.Queries) error {
		scopes := slices.Clone(r.Scopes)
		if old, err := q.ConsentFor(ctx, userID, r.ClientID); err == nil {
			for _, s := range old.Scopes {
				if !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := p.now()
		if err := q.SaveConsent(ctx, &store.Consent{UserID: userID, ClientID: r.ClientID, Scopes: scopes, CreatedAt: now}); err != nil {
			return err
		}
		return p.storage.Audit.Record(ctx, q, audit.Event{Action: ConsentGiven, ActorID: userID, TargetType: "client",
			TargetID: r.ClientID, Time: now, Details: map[string]any{"scopes": scopes}})
	})
}

// Deny answers the request with access_denied.
func (p *Provider) Deny(ctx context.Context, id string) (string, error) {
	r, _, err := p.pending(ctx, id)
	if err != nil {
		return "", err
	}
	if err := p.storage.Store.DeleteAuthRequest(ctx, r.ID); err != nil {
		return "", err
	}
	return p.response(r, url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request"}}), nil
}

// Finish binds the request to the signed-in browser session and issues its code, in one
// transaction, and returns the redirect that delivers it. A request for an organization
// is checked against that organization's rules (membership, required second factor)
// here too, whether the user signed in just now or earlier.
func (p *Provider) Finish(ctx context.Context, id string, sess *store.Session) (string, error) {
	r, _, err := p.pending(ctx, id)
	if err != nil {
		return "", err
	}
	code, hash := token.NewOpaque()
	err = p.storage.Store.InTx(ctx, func(q store.Queries) error {
		if r.OrgID != "" {
			if p.sessions.Scoper == nil {
				return session.ErrNotMember
			}
			if _, err := p.sessions.Scoper.ScopeSession(ctx, q, sess.UserID, r.OrgID, sess.AMR); err != nil {
				return err
			}
		}
		if err := q.CompleteAuthRequest(ctx, r.ID, sess.UserID, sess.ID, sess.AuthTime, sess.AMR); err != nil {
			return err
		}
		return q.SetAuthCode(ctx, r.ID, hash, p.now().Add(CodeTTL))
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return "", web.ErrNoRequest // answered meanwhile
	}
	if err != nil {
		return "", err
	}
	return p.response(r, url.Values{"code": {code}}), nil
}

// response builds an authorization response: the redirect URI with state and iss.
func (p *Provider) response(r *store.AuthRequest, v url.Values) string {
	u, err := url.Parse(r.RedirectURI)
	if err != nil {
		return r.RedirectURI // registered URIs are validated; cannot happen
	}
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	if r.State != "" {
		q.Set("state", r.State)
	}
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// Apps lists the clients the user approved, and first-party ones holding a live grant.
func (p *Provider) Apps(ctx context.Context, userID string) ([]web.App, error) {
	consents, err := p.storage.Store.ListConsents(ctx, userID)
	if err != nil {
		return nil, err
	}
	grants, err := p.sessions.Grants(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []web.App
	seen := map[string]bool{}
	add := func(clientID string, scopes []string, at time.Time) {
		if seen[clientID] {
			return
		}
		seen[clientID] = true
		name := clientID
		if c, err := p.storage.client(ctx, clientID); err == nil {
			name = c.c.Name
		}
		out = append(out, web.App{ClientID: clientID, Name: name, Scopes: scopes, GrantedAt: at})
	}
	for _, c := range consents {
		add(c.ClientID, c.Scopes, c.CreatedAt)
	}
	for _, g := range grants {
		add(g.ClientID, g.Scopes, g.CreatedAt)
	}
	return out, nil
}

// Revoke withdraws the user's consent to a client and ends that client's grants.
func (p *Provider) Revoke(ctx context.Context, userID, clientID string) error {
	var ids []string
	err := p.storage.Store.InTx(ctx, func(q store.Queries) error {
		err := q.DeleteConsent(ctx, userID, clientID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		ids, err = p.sessions.RevokeGrants(ctx, q, userID, store.GrantFilter{UserID: userID, ClientID: clientID}, session.ReasonGrantRevoked)
		if err != nil {
			return err
		}
		return p.storage.Audit.Record(ctx, q, audit.Event{Action: ConsentRevoked, ActorID: userID, TargetType: "client",
			TargetID: clientID, Time: p.now(), Details: map[string]any{"grants": len(ids)}})
	})
	if err != nil {
		return err
	}
	p.sessions.Forget(ids...)
	return nil
}
