package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// UserInfo answers 401 invalid_token for anything but a live grant's access token. It is
// the library's LegacyServer.UserInfo with the token's verification remembered
// (accessToken) and every refusal answered the same way.
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	invalid := op.NewStatusError(&oidc.Error{ErrorType: "invalid_token", Description: "the access token is invalid, expired or revoked"}, 401)
	tokenID, subject, ok := s.accessToken(ctx, r.Data.AccessToken)
	if !ok {
		return nil, invalid
	}
	info := new(oidc.UserInfo)
	if err := s.p.storage.SetUserinfoFromToken(ctx, info, tokenID, subject, r.Header.Get("origin")); err != nil {
		return nil, invalid
	}
	return op.NewResponse(userInfoBody(info)), nil
}

// Introspect is the library's LegacyServer.Introspect with the token's verification
// remembered (accessToken). A client that authenticates with a client_assertion gets
// the library's own answer.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	cc := r.Data.ClientCredentials
	if cc == nil || cc.ClientAssertion != "" {
		return s.LegacyServer.Introspect(ctx, r)
	}
	if err := s.p.storage.AuthorizeClientIDSecret(ctx, cc.ClientID, cc.ClientSecret); err != nil {
		// 401 invalid_client for a failed authentication (RFC 7662 §2.1 points to RFC 6749
		// §5.2), 503 when the store could not say.
		return nil, err
	}
	resp := new(oidc.IntrospectionResponse)
	tokenID, subject, ok := s.accessToken(ctx, r.Data.Token)
	if !ok {
		return op.NewResponse(resp), nil
	}
	if err := s.p.storage.SetIntrospectionFromToken(ctx, resp, tokenID, subject, cc.ClientID); err != nil {
		return op.NewResponse(resp), nil
	}
	resp.Active = true
	return op.NewResponse(introspectionBody(resp)), nil
}

// accessToken returns the token id and subject of an access token the library accepts
// (its unexported getTokenIDAndSubject: an opaque token of the library's own, which
// Gatehouse never issues, or a JWT whose issuer, signature and expiry VerifyAccessToken
// checks). A JWT that passed is remembered, so a token presented on every call of a
// client is verified once: only the verification is skipped, never what the storage
// checks on each call (the grant is live, the user active, the client the token's).
func (s *server) accessToken(ctx context.Context, raw string) (tokenID, subject string, ok bool) {
	now := time.Now() // the library's clock for the token's expiry
	if e, hit := s.verified.get(raw, now); hit {
		if _, published := s.p.storage.Keys.PublicKey(e.kid); published {
			return e.tokenID, e.subject, true
		}
	}
	if plain, err := s.Provider().Crypto().Decrypt(raw); err == nil {
		parts := strings.Split(plain, ":")
		if len(parts) != 2 {
			return "", "", false
		}
		return parts[0], parts[1], true
	}
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, raw, s.Provider().AccessTokenVerifier(ctx))
	if err != nil {
		return "", "", false
	}
	if kid := keyID(raw); kid != "" {
		s.verified.put(raw, verifiedToken{tokenID: claims.JWTID, subject: claims.Subject, kid: kid, until: claims.GetExpiration()}, now)
	}
	return claims.JWTID, claims.Subject, true
}

// keyID is the kid of a compact JWS's header, "" when it has none.
func keyID(raw string) string {
	h, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		KeyID string `json:"kid"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return ""
	}
	return hdr.KeyID
}

// verifiedTokens remembers access tokens that passed VerifyAccessToken. An entry lives no
// longer than its token's expiry or verifiedTTL, and is used only while the key that
// signed it is published. The zero value is ready to use; safe for concurrent use.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[[32]byte]verifiedToken
}

type verifiedToken struct {
	tokenID, subject, kid string
	until                 time.Time
}

const (
	verifiedMax = 10000
	verifiedTTL = time.Minute
)

func (v *verifiedTokens) get(raw string, now time.Time) (verifiedToken, bool) {
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[key]
	if !ok || !now.Before(e.until) {
		return verifiedToken{}, false
	}
	return e, true
}

// put remembers e until its token expires (e.until) or verifiedTTL passes.
func (v *verifiedTokens) put(raw string, e verifiedToken, now time.Time) {
	if limit := now.Add(verifiedTTL); limit.Before(e.until) {
		e.until = limit
	}
	if !now.Before(e.until) {
		return
	}
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.entries == nil {
		v.entries = make(map[[32]byte]verifiedToken)
	}
	if len(v.entries) >= verifiedMax {
		for k, old := range v.entries {
			if !now.Before(old.until) {
				delete(v.entries, k)
			}
		}
		if len(v.entries) >= verifiedMax {
			v.entries = make(map[[32]byte]verifiedToken) // all still live: start over
		}
	}
	v.entries[key] = e
}
