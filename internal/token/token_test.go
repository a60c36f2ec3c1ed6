package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// staticKeys is a fixed key set for unit tests (the keys package has its own tests).
type staticKeys struct {
	signer jose.Signer
	pub    map[string]jose.JSONWebKey
}

func (s *staticKeys) Signer() jose.Signer { return s.signer }
func (s *staticKeys) PublicKey(kid string) (jose.JSONWebKey, bool) {
	k, ok := s.pub[kid]
	return k, ok
}

func newRSAKeys(t *testing.T) (*staticKeys, *rsa.PrivateKey) {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return &staticKeys{signer: signer, pub: map[string]jose.JSONWebKey{
		"k1": {Key: &priv.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}, priv
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newAccess(keys Keys) *Access {
	return &Access{Keys: keys, Issuer: "https://id.example.com", Audience: "https://id.example.com", TTL: 15 * time.Minute,
		Now: func() time.Time { return now }}
}

func TestIssueAndVerify(t *testing.T) {
	keys, _ := newRSAKeys(t)
	a := newAccess(keys)
	raw, ttl, err := a.Issue(Subject{UserID: "u1", SessionID: "s1", AMR: []string{"pwd"}, OrgID: "o1", Roles: []string{"admin"}})
	if err != nil || ttl != 900 {
		t.Fatalf("Issue: %v %d", err, ttl)
	}
	c, err := a.Verify(raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "u1" || c.SessionID != "s1" || c.AMR[0] != "pwd" || c.OrgID != "o1" || c.Roles[0] != "admin" ||
		c.Issuer != "https://id.example.com" || c.ID == "" || !c.Expiry.Time().Equal(now.Add(15*time.Minute)) {
		t.Fatalf("claims = %+v", c)
	}
}

// sign makes a token with arbitrary headers and claims using key and alg.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, extra map[jose.HeaderKey]any, claims any) string {
	opts := &jose.SignerOptions{ExtraHeaders: extra}
	opts = opts.WithType("at+jwt")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func validClaims() Claims {
	return Claims{Claims: jwt.Claims{Issuer: "https://id.example.com", Subject: "u1", Audience: jwt.Audience{"https://id.example.com"},
		Expiry: jwt.NewNumericDate(now.Add(time.Minute)), NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now), ID: "j"},
		SessionID: "s1"}
}

func TestForgedTokensAreRefused(t *testing.T) {
	keys, priv := newRSAKeys(t)
	a := newAccess(keys)
	b64 := base64.RawURLEncoding.EncodeToString
	mustJSON := func(v any) string { b, _ := json.Marshal(v); return b64(b) }
	good := validClaims()

	pubDER, _ := json.Marshal(keys.pub["k1"])
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)

	cases := map[string]string{
		"alg none": mustJSON(map[string]string{"alg": "none", "kid": "k1", "typ": "at+jwt"}) + "." + mustJSON(good) + ".",
		// HS256 keyed with the public key's bytes (the classic algorithm confusion).
		"HS256 with the public key": sign(t, jose.HS256, pubDER, "k1", nil, good),
		"unknown kid":               sign(t, jose.RS256, priv, "nope", nil, good),
		"signed by another key":     sign(t, jose.RS256, otherRSA, "k1", nil, good),
		"ES256 claiming our kid":    sign(t, jose.ES256, otherEC, "k1", nil, good),
		"jku header":                sign(t, jose.RS256, priv, "k1", map[jose.HeaderKey]any{"jku": "https://evil.example/jwks"}, good),
		"x5u header":                sign(t, jose.RS256, priv, "k1", map[jose.HeaderKey]any{"x5u": "https://evil.example/cert"}, good),
		"expired": sign(t, jose.RS256, priv, "k1", nil, func() Claims {
			c := good
			c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute))
			return c
		}()),
		"not yet valid": sign(t, jose.RS256, priv, "k1", nil, func() Claims {
			c := good
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
			return c
		}()),
		"wrong issuer": sign(t, jose.RS256, priv, "k1", nil, func() Claims { c := good; c.Issuer = "https://evil.example"; return c }()),
		"wrong audience": sign(t, jose.RS256, priv, "k1", nil, func() Claims {
			c := good
			c.Audience = jwt.Audience{"another-api"}
			return c
		}()),
		"no session":   sign(t, jose.RS256, priv, "k1", nil, func() Claims { c := good; c.SessionID = ""; return c }()),
		"no expiry":    sign(t, jose.RS256, priv, "k1", nil, func() Claims { c := good; c.Expiry = nil; return c }()),
		"garbage":      "not.a.jwt",
		"empty":        "",
		"tampered sub": retamper(sign(t, jose.RS256, priv, "k1", nil, good)),
	}
	// An embedded jwk header naming the attacker's key.
	jwkHdr, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "at+jwt", "jwk": jose.JSONWebKey{Key: &otherEC.PublicKey}})
	cases["jwk header"] = b64(jwkHdr) + "." + mustJSON(good) + ".c2ln"
	// The same header on a token our own key really signed: refused for the header alone.
	embed, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: priv},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("at+jwt").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	cases["jwk header, validly signed"], _ = jwt.Signed(embed).Claims(good).Serialize()

	// A token without typ at+jwt (for example an ID token) is not an access token.
	noTyp, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: "k1"}}, nil)
	cases["no typ"], _ = jwt.Signed(noTyp).Claims(good).Serialize()

	if _, err := a.Verify(sign(t, jose.RS256, priv, "k1", nil, good)); err != nil {
		t.Fatalf("the control token was refused: %v", err)
	}
	for name, raw := range cases {
		if _, err := a.Verify(raw); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Verify = %v, want ErrInvalid", name, err)
		}
	}
}

// retamper swaps the payload for one with another subject, keeping the signature.
func retamper(raw string) string {
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"sub":"u1"`, `"sub":"admin"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestOpaqueTokens(t *testing.T) {
	tok, hash := NewOpaque()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 || Hash(tok) != hash || strings.Contains(hash, tok) {
		t.Fatalf("NewOpaque = %q %q", tok, hash)
	}
	if other, _ := NewOpaque(); other == tok {
		t.Fatal("two opaque tokens are equal")
	}
}

func TestParseBearer(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc.def-_1": "abc.def-_1",
		"bearer abc":        "abc",
		"Bearer   abc":      "abc",
		"Basic abc":         "",
		"Bearer":            "",
		"Bearer a b":        "",
		"Bearer a\"b":       "",
		"":                  "",
	} {
		got, ok := ParseBearer(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseBearer(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Basic x", "Bearer " + strings.Repeat("a", 9000), "Bearer \x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, ok := ParseBearer(header)
		if !ok {
			if tok != "" {
				t.Fatal("token returned with ok=false")
			}
			return
		}
		if tok == "" || len(tok) > maxBearer || strings.ContainsAny(tok, " \t\r\n\"") || !strings.HasSuffix(header, tok) {
			t.Fatalf("ParseBearer(%q) = %q", header, tok)
		}
	})
}

func FuzzVerify(f *testing.F) {
	keys, _ := newRSAKeys(&testing.T{})
	a := newAccess(keys)
	good, _, _ := a.Issue(Subject{UserID: "u", SessionID: "s"})
	f.Add(good)
	f.Add(retamper(good))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := a.Verify(raw)
		if err == nil && (c.Subject == "" || c.SessionID == "") {
			t.Fatalf("accepted a token without subject or session: %q", raw)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify error %v is not ErrInvalid", err)
		}
	})
}

func TestVerifiedCacheHonoursExpiry(t *testing.T) {
	keys, _ := newRSAKeys(t)
	clock := now
	a := &Access{Keys: keys, Issuer: "https://id.example.com", Audience: "https://id.example.com", TTL: 2 * time.Minute,
		Now: func() time.Time { return clock }}
	raw, _, _ := a.Issue(Subject{UserID: "u", SessionID: "s"})
	if _, err := a.Verify(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(raw); err != nil {
		t.Fatalf("cached verify: %v", err)
	}
	clock = clock.Add(2*time.Minute + leeway + time.Second)
	if _, err := a.Verify(raw); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an expired token passed through the cache: %v", err)
	}
	// A forged token is never cached as valid, however often it is sent.
	forged := retamper(raw)
	for i := 0; i < 3; i++ {
		if _, err := a.Verify(forged); !errors.Is(err, ErrInvalid) {
			t.Fatal("forged token accepted")
		}
	}
}

// BenchmarkIssue shows what signing costs per algorithm: go test -bench Issue ./internal/token
func BenchmarkIssue(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			a := newAccess(benchKeys(b, alg))
			for b.Loop() {
				if _, _, err := a.Issue(Subject{UserID: "u", SessionID: "s", AMR: []string{"pwd"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify shows the cost of checking a token the first time (no cache).
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			a := newAccess(benchKeys(b, alg))
			raw, _, _ := a.Issue(Subject{UserID: "u", SessionID: "s"})
			for b.Loop() {
				if _, err := a.verify(raw, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchKeys(b *testing.B, alg jose.SignatureAlgorithm) *staticKeys {
	var priv crypto.Signer
	switch alg {
	case jose.RS256:
		priv, _ = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		_, priv, _ = ed25519.GenerateKey(rand.Reader)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: "k"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		b.Fatal(err)
	}
	return &staticKeys{signer: signer, pub: map[string]jose.JSONWebKey{"k": {Key: priv.Public(), KeyID: "k", Algorithm: string(alg)}}}
}
