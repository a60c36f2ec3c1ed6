// Package keys manages the token-signing keys: it generates them (RS256, ES256 or
// EdDSA), keeps the private parts encrypted under the master key, rotates them through
// next → active → retired, and publishes the public parts as a JWKS.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Algorithms that may be configured.
var Algorithms = []string{string(jose.RS256), string(jose.ES256), string(jose.EdDSA)}

func generatePrivate(alg string) (crypto.Signer, error) {
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
	}
}

// newKey generates a key in the given status; its kid is the RFC 7638 thumbprint of the
// public key, so every kid is unique to its key.
func newKey(box *secretbox.Box, alg, status string, now time.Time) (*store.SigningKey, error) {
	priv, err := generatePrivate(alg)
	if err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("keys: thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("keys: marshal public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("keys: marshal private key: %w", err)
	}
	sealed, err := box.Seal(der, purpose(pub.KeyID))
	if err != nil {
		return nil, err
	}
	k := &store.SigningKey{KID: pub.KeyID, Alg: alg, Status: status, PublicJWK: pubJSON, PrivateEnc: sealed, CreatedAt: now}
	if status == store.KeyActive {
		k.ActivatedAt = &now
	}
	return k, nil
}

func purpose(kid string) string { return "signing_key:" + kid }

// openPrivate decrypts a stored key's private part.
func openPrivate(box *secretbox.Box, k *store.SigningKey) (crypto.Signer, error) {
	der, err := box.Open(k.PrivateEnc, purpose(k.KID))
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", k.KID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", k.KID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keys: key %s is not a signing key", k.KID)
	}
	return signer, nil
}
