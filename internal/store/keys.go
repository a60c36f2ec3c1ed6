package store

import (
	"context"
	"time"
)

// Signing key states.
const (
	KeyNext    = "next"    // published, not yet signing
	KeyActive  = "active"  // signs new tokens
	KeyRetired = "retired" // published until tokens it signed have expired
)

// SigningKey is a token-signing key pair; the private part is encrypted.
type SigningKey struct {
	KID          string
	Alg          string
	Status       string
	PublicJWK    []byte // JSON
	PrivateEnc   []byte // AES-256-GCM under the master key
	CreatedAt    time.Time
	ActivatedAt  *time.Time
	RetiredAt    *time.Time
	PublishUntil *time.Time // retired keys leave the JWKS after this
}

// SigningKeys stores signing keys.
type SigningKeys interface {
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns every key, newest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateSigningKeyStatus moves a key from one status to another; ErrConflict when
	// the key is no longer in status from (another replica rotated first).
	UpdateSigningKeyStatus(ctx context.Context, kid, from, to string, now time.Time, publishUntil *time.Time) error
	// DeleteExpiredSigningKeys removes retired keys no longer published.
	DeleteExpiredSigningKeys(ctx context.Context, now time.Time) error
}
