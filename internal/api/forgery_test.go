package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// Every forged or out-of-bounds access token is refused on /v1 (SECURITY.md "Forged tokens
// refused everywhere"), on both databases.
func TestForgedAccessTokensRefused(t *testing.T) {
	// RS256, the default: the attacker's key below is of the same kind as the real one.
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_SIGNING_ALG", "RS256"))
		_, userID, tok := e.newUser(t, "forger")
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200)

		// The published RSA key, as an attacker would fetch it.
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(e.c.Do(t, "GET", "/.well-known/jwks.json", nil, "").Expect(t, 200).Raw, &set); err != nil {
			t.Fatal(err)
		}
		pub := set.Keys[0]
		der, err := x509.MarshalPKIXPublicKey(pub.Key)
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		jwkJSON, _ := pub.MarshalJSON()

		good := func(now time.Time) token.Claims {
			return token.Claims{Claims: jwt.Claims{Issuer: e.srv.Config.Issuer, Subject: userID, Audience: jwt.Audience{e.srv.Config.Issuer},
				Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)), NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now),
				ID: uuid.NewString()}, SessionID: tok.Session, AMR: []string{"pwd"}}
		}
		now := time.Now()
		attackerRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
		attackerEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sign := func(alg jose.SignatureAlgorithm, key any, c token.Claims, extra map[jose.HeaderKey]any, embedJWK bool) string {
			opts := (&jose.SignerOptions{EmbedJWK: embedJWK}).WithType("at+jwt")
			for k, v := range extra {
				opts = opts.WithHeader(k, v)
			}
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := jwt.Signed(s).Claims(c).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
		// With the server's own key: claims that must not pass.
		real := func(mut func(*token.Claims)) string {
			c := good(now)
			mut(&c)
			raw, err := jwt.Signed(e.srv.App.Keys().Signer()).Claims(c).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
		if r := e.c.Do(t, "GET", "/v1/me", nil, real(func(*token.Claims) {})); r.Status != 200 {
			t.Fatalf("the control token (real key, good claims) was refused: %s", r.Raw)
		}
		forged := map[string]string{
			"HS256 keyed with the PEM public key": sign(jose.HS256, pemKey, good(now), map[jose.HeaderKey]any{"kid": pub.KeyID}, false),
			"HS256 keyed with the DER public key": sign(jose.HS256, der, good(now), map[jose.HeaderKey]any{"kid": pub.KeyID}, false),
			"HS256 keyed with the JWK":            sign(jose.HS256, jwkJSON, good(now), map[jose.HeaderKey]any{"kid": pub.KeyID}, false),
			"unknown kid":                         sign(jose.RS256, attackerRSA, good(now), map[jose.HeaderKey]any{"kid": "attacker"}, false),
			"published kid, other key":            sign(jose.RS256, attackerRSA, good(now), map[jose.HeaderKey]any{"kid": pub.KeyID}, false),
			"embedded jwk header":                 sign(jose.ES256, attackerEC, good(now), nil, true),
			"jku header":                          sign(jose.RS256, attackerRSA, good(now), map[jose.HeaderKey]any{"kid": pub.KeyID, "jku": "http://127.0.0.1:1/jwks.json"}, false),
			"expired":                             real(func(c *token.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-2 * time.Minute)) }),
			"not yet valid":                       real(func(c *token.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) }),
			"wrong issuer":                        real(func(c *token.Claims) { c.Issuer = e.srv.Config.Issuer + "/" }),
			"wrong audience":                      real(func(c *token.Claims) { c.Audience = jwt.Audience{"https://other.example"} }),
			"no session id":                       real(func(c *token.Claims) { c.SessionID = "" }),
			"someone else's session":              real(func(c *token.Claims) { c.SessionID = uuid.Must(uuid.NewV7()).String() }),
		}
		for name, raw := range forged {
			r := e.c.Do(t, "GET", "/v1/me", nil, raw)
			if r.Status != 401 || r.Code() != "unauthorized" {
				t.Errorf("%s: answered %d %s; want 401 unauthorized", name, r.Status, r.Raw)
			}
		}
	})
}
