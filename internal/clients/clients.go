// Package clients registers the OAuth 2.0 / OpenID Connect clients of the instance:
// their redirect URIs, grant types, authentication method and scopes, checked against
// the rules of RFC 9700 and RFC 8252, and the secrets of confidential clients (256
// random bits, shown once, stored as a SHA-256). Deleting a client ends every grant it
// holds. Administrators drive it through the admin API and the command line.
package clients

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

var (
	// ErrNotFound: no such client.
	ErrNotFound = errors.New("clients: no such client")
	// ErrPublic: a public client has no secret to rotate.
	ErrPublic = errors.New("clients: a public client has no secret")
	// ErrWrongSecret: the client is unknown, public, or the secret is not its own.
	ErrWrongSecret = errors.New("clients: wrong client credentials")
)

// Spec is what a client is registered with.
type Spec struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	AuthMethod             string   // "" for client_secret_basic
	Scopes                 []string // nil for every scope
	FirstParty             bool
	AccessTokenTTL         time.Duration // 0 for the instance's default
}

// Patch changes the fields it sets and keeps the others.
type Patch struct {
	Name                   *string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	GrantTypes             *[]string
	AuthMethod             *string
	Scopes                 *[]string
	FirstParty             *bool
	AccessTokenTTL         *time.Duration
}

// Store is what the service reads outside its transactions.
type Store interface {
	ClientByID(ctx context.Context, id string) (*store.Client, error)
	ListClients(ctx context.Context, after string, limit int) ([]store.Client, error)
	store.Transactor
}

// Service registers clients.
type Service struct {
	Store Store
	// Audit records each change in its transaction.
	Audit *audit.Log
	// Sessions revokes the grants of a deleted client.
	Sessions *session.Service
	Now      func() time.Time
	// Changed, when set, is told (after commit) of a client that changed or went, so
	// that whoever caches clients forgets it.
	Changed func(clientID string)
}

// Create registers a client and returns it with its secret ("" for a public client):
// the secret is shown this once, only its hash is kept.
func (s *Service) Create(ctx context.Context, actorID string, spec Spec) (*store.Client, string, error) {
	spec = cloneSpec(spec)
	if err := validate(&spec); err != nil {
		return nil, "", err
	}
	now := s.Now()
	c := &store.Client{ID: uuid.Must(uuid.NewV7()).String(), CreatedAt: now, UpdatedAt: now}
	apply(c, &spec)
	secret := ""
	if c.AuthMethod != AuthNone {
		secret, c.SecretHash = token.NewOpaque()
	}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateClient(ctx, c); err != nil {
			return err
		}
		return s.record(ctx, q, actorID, audit.AdminClientCreated, c.ID, now, map[string]any{
			"name": c.Name, "grant_types": c.GrantTypes, "token_endpoint_auth_method": c.AuthMethod,
			"redirect_uris": c.RedirectURIs, "scopes": c.Scopes, "first_party": c.FirstParty})
	})
	if err != nil {
		return nil, "", fmt.Errorf("clients: create: %w", err)
	}
	return c, secret, nil
}

// Get returns a client.
func (s *Service) Get(ctx context.Context, id string) (*store.Client, error) {
	c, err := s.Store.ClientByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("clients: get: %w", err)
	}
	return c, nil
}

// List returns up to limit clients ordered by id, after the cursor (a client id, "" for
// the first page).
func (s *Service) List(ctx context.Context, cursor string, limit int) ([]store.Client, error) {
	list, err := s.Store.ListClients(ctx, cursor, limit)
	if err != nil {
		return nil, fmt.Errorf("clients: list: %w", err)
	}
	return list, nil
}

// Update applies p to the client and checks the result as a whole. A public client
// cannot become confidential or the other way round (it would need a secret made, or
// its secret kept for nothing): register a new client instead.
func (s *Service) Update(ctx context.Context, actorID, id string, p Patch) (*store.Client, error) {
	var out *store.Client
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		old, err := q.ClientByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if p.AuthMethod != nil && *p.AuthMethod == "" {
			return Invalid{{"token_endpoint_auth_method", "must be one of " + strings.Join(authMethods, ", ")}}
		}
		spec := patched(old, p)
		if err := validate(&spec); err != nil {
			return err
		}
		if (old.AuthMethod == AuthNone) != (spec.AuthMethod == AuthNone) {
			return Invalid{{"token_endpoint_auth_method", "cannot change between none (a public client) and a secret: register a new client instead"}}
		}
		c := *old
		apply(&c, &spec)
		changed := changedFields(old, &c)
		if len(changed) == 0 {
			out = old
			return nil
		}
		c.UpdatedAt = s.Now()
		if err := q.UpdateClient(ctx, &c); err != nil {
			return err
		}
		out = &c
		return s.record(ctx, q, actorID, audit.AdminClientUpdated, id, c.UpdatedAt, map[string]any{"fields": changed})
	})
	if err != nil {
		return nil, wrap("update", err)
	}
	s.changed(id)
	return out, nil
}

// Delete removes the client, ending every grant it holds (their refresh tokens fail at
// once, their access tokens within the revocation bound) in the same transaction.
func (s *Service) Delete(ctx context.Context, actorID, id string) error {
	if id == "" {
		return ErrNotFound
	}
	var revoked []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		revoked, err = s.Sessions.RevokeGrants(ctx, q, actorID, store.GrantFilter{ClientID: id}, session.ReasonClientDeleted)
		if err != nil {
			return err
		}
		if err := q.DeleteClient(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		return s.record(ctx, q, actorID, audit.AdminClientDeleted, id, s.Now(), map[string]any{"grants_revoked": len(revoked)})
	})
	if err != nil {
		return wrap("delete", err)
	}
	s.Sessions.Forget(revoked...)
	s.changed(id)
	return nil
}

// RotateSecret gives a confidential client a new secret, returned this once; the old
// one stops working.
func (s *Service) RotateSecret(ctx context.Context, actorID, id string) (string, error) {
	secret, hash := token.NewOpaque()
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		c, err := q.ClientByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if c.AuthMethod == AuthNone {
			return ErrPublic
		}
		now := s.Now()
		if err := q.SetClientSecret(ctx, id, hash, now); err != nil {
			return err
		}
		return s.record(ctx, q, actorID, audit.AdminClientSecretRotated, id, now, nil)
	})
	if err != nil {
		return "", wrap("rotate secret", err)
	}
	s.changed(id)
	return secret, nil
}

// CheckSecret returns the confidential client whose secret this is; ErrWrongSecret for
// an unknown or public client or another secret. It compares hashes in constant time.
func (s *Service) CheckSecret(ctx context.Context, id, secret string) (*store.Client, error) {
	c, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrWrongSecret
	}
	if err != nil {
		return nil, err
	}
	if c.AuthMethod == AuthNone || c.SecretHash == "" || secret == "" ||
		subtle.ConstantTimeCompare([]byte(token.Hash(secret)), []byte(c.SecretHash)) != 1 {
		return nil, ErrWrongSecret
	}
	return c, nil
}

// record audits an administrator's change; the command line acts with no actor.
func (s *Service) record(ctx context.Context, q store.Queries, actorID string, action audit.Action, clientID string, now time.Time, details map[string]any) error {
	if actorID == "" {
		if details == nil {
			details = map[string]any{}
		}
		details["via"] = "cli"
	}
	return s.Audit.Record(ctx, q, audit.Event{Action: action, ActorID: actorID, TargetType: "client", TargetID: clientID,
		Time: now, Details: details})
}

func (s *Service) changed(id string) {
	if s.Changed != nil {
		s.Changed(id)
	}
}

func wrap(op string, err error) error {
	var inv Invalid
	if errors.As(err, &inv) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrPublic) {
		return err
	}
	return fmt.Errorf("clients: %s: %w", op, err)
}

// apply copies a validated spec onto a client.
func apply(c *store.Client, s *Spec) {
	c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs = s.Name, nonNil(s.RedirectURIs), nonNil(s.PostLogoutRedirectURIs)
	c.GrantTypes, c.AuthMethod, c.Scopes = s.GrantTypes, s.AuthMethod, s.Scopes
	c.FirstParty, c.AccessTokenTTL = s.FirstParty, s.AccessTokenTTL
}

// patched is the spec of c with p applied.
func patched(c *store.Client, p Patch) Spec {
	s := Spec{Name: c.Name, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, AuthMethod: c.AuthMethod, Scopes: c.Scopes, FirstParty: c.FirstParty,
		AccessTokenTTL: c.AccessTokenTTL}
	set := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = nonNil(*v) // an explicit empty list is not "every scope"
		}
	}
	if p.Name != nil {
		s.Name = *p.Name
	}
	set(&s.RedirectURIs, p.RedirectURIs)
	set(&s.PostLogoutRedirectURIs, p.PostLogoutRedirectURIs)
	set(&s.GrantTypes, p.GrantTypes)
	set(&s.Scopes, p.Scopes)
	if p.AuthMethod != nil {
		s.AuthMethod = *p.AuthMethod
	}
	if p.FirstParty != nil {
		s.FirstParty = *p.FirstParty
	}
	if p.AccessTokenTTL != nil {
		s.AccessTokenTTL = *p.AccessTokenTTL
	}
	return cloneSpec(s)
}

func changedFields(a, b *store.Client) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"name", a.Name == b.Name},
		{"redirect_uris", slices.Equal(a.RedirectURIs, b.RedirectURIs)},
		{"post_logout_redirect_uris", slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs)},
		{"grant_types", slices.Equal(a.GrantTypes, b.GrantTypes)},
		{"token_endpoint_auth_method", a.AuthMethod == b.AuthMethod},
		{"scopes", slices.Equal(a.Scopes, b.Scopes)},
		{"first_party", a.FirstParty == b.FirstParty},
		{"access_token_ttl_seconds", a.AccessTokenTTL == b.AccessTokenTTL},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

func cloneSpec(s Spec) Spec {
	s.RedirectURIs, s.PostLogoutRedirectURIs = slices.Clone(s.RedirectURIs), slices.Clone(s.PostLogoutRedirectURIs)
	s.GrantTypes, s.Scopes = slices.Clone(s.GrantTypes), slices.Clone(s.Scopes)
	return s
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
