// Package token issues and verifies access tokens (JWTs signed by the active key) and
// makes opaque refresh tokens.
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// Claims of a Gatehouse access token.
type Claims struct {
	jwt.Claims
	SessionID   string   `json:"sid"`
	AMR         []string `json:"amr,omitempty"`
	OrgID       string   `json:"org_id,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// Keys is what the token package needs from the key manager.
type Keys interface {
	Signer() jose.Signer
	PublicKey(kid string) (jose.JSONWebKey, bool)
}

// Access issues and verifies access tokens.
type Access struct {
	Keys     Keys
	Issuer   string
	Audience string
	TTL      time.Duration
	Now      func() time.Time

	cache verified
}

// Subject is who a token is for and what it carries besides identity.
type Subject struct {
	UserID      string
	SessionID   string
	AMR         []string
	OrgID       string
	Roles       []string
	Permissions []string
}

// Issue signs a new access token for s and returns it with its lifetime in seconds.
func (a *Access) Issue(s Subject) (string, int, error) {
	now := a.Now()
	c := Claims{
		Claims: jwt.Claims{
			Issuer:    a.Issuer,
			Subject:   s.UserID,
			Audience:  jwt.Audience{a.Audience},
			Expiry:    jwt.NewNumericDate(now.Add(a.TTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.Must(uuid.NewV7()).String(),
		},
		SessionID:   s.SessionID,
		AMR:         s.AMR,
		OrgID:       s.OrgID,
		Roles:       s.Roles,
		Permissions: s.Permissions,
	}
	raw, err := jwt.Signed(a.Keys.Signer()).Claims(c).Serialize()
	if err != nil {
		return "", 0, fmt.Errorf("token: sign: %w", err)
	}
	return raw, int(a.TTL / time.Second), nil
}

// ErrInvalid is returned for every token that is not a valid access token of this issuer.
// The reason is kept for logs, never shown to clients.
var ErrInvalid = errors.New("token: invalid access token")

type invalid struct{ reason string }

func (e invalid) Error() string { return "token: invalid access token: " + e.reason }
func (e invalid) Unwrap() error { return ErrInvalid }

// acceptedAlgs are parsed at all; each key then only verifies with its own algorithm,
// so neither "none" nor HS256-keyed-with-a-public-key can pass.
var acceptedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// leeway allows for clock skew between replicas.
const leeway = 30 * time.Second

// Verify checks signature, header, issuer, audience and times, and returns the claims.
// The claims are shared with later calls for the same token: read, do not change them.
func (a *Access) Verify(raw string) (*Claims, error) {
	now := a.Now()
	if c, ok := a.cache.get(raw, now); ok {
		// Still check the times: the clock moves on while an entry is cached.
		if now.Add(-leeway).Before(c.Expiry.Time()) {
			return c, nil
		}
	}
	c, err := a.verify(raw, now)
	if err != nil {
		return nil, err
	}
	a.cache.put(raw, c, now)
	return c, nil
}

func (a *Access) verify(raw string, now time.Time) (*Claims, error) {
	tok, err := jwt.ParseSigned(raw, acceptedAlgs)
	if err != nil {
		return nil, invalid{"unparseable or disallowed algorithm"}
	}
	if len(tok.Headers) != 1 {
		return nil, invalid{"not exactly one signature"}
	}
	h := tok.Headers[0]
	if h.JSONWebKey != nil || h.ExtraHeaders["jku"] != nil || h.ExtraHeaders["x5u"] != nil || h.ExtraHeaders["x5c"] != nil {
		return nil, invalid{"embedded or remote key header"} // keys come only from our own set
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
		return nil, invalid{"not an access token (typ)"}
	}
	key, ok := a.Keys.PublicKey(h.KeyID)
	if !ok {
		return nil, invalid{"unknown kid"}
	}
	if h.Algorithm != key.Algorithm {
		return nil, invalid{"algorithm does not match the key"}
	}
	var c Claims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, invalid{"bad signature"}
	}
	if c.Expiry == nil || c.NotBefore == nil || c.IssuedAt == nil || c.Subject == "" || c.SessionID == "" {
		return nil, invalid{"missing required claims"}
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: a.Issuer, AnyAudience: jwt.Audience{a.Audience}, Time: now}, leeway); err != nil {
		return nil, invalid{err.Error()}
	}
	return &c, nil
}
