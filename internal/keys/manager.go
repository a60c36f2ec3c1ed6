package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Manager holds the current keys in memory and keeps them in step with the database,
// where other replicas may rotate them.
type Manager struct {
	// Audit records security events in the transaction of the change.
	Audit *audit.Log
	Store Store
	Box   *secretbox.Box
	Alg   string
	// RetiredFor is how long a retired key stays published: at least the access token
	// lifetime, so every token it signed can still be verified.
	RetiredFor time.Duration
	// RotateEvery rotates the active key automatically; 0 disables it.
	RotateEvery time.Duration
	Now         func() time.Time
	Log         *slog.Logger

	mu     sync.RWMutex
	state  *keyState
	loaded time.Time
}

// Store is what the manager uses: it reads the keys, and creates and rotates them in
// transactions.
type Store interface {
	ListSigningKeys(ctx context.Context) ([]store.SigningKey, error)
	store.Transactor
}

type keyState struct {
	active   *store.SigningKey
	private  any // the active key's private key
	signer   jose.Signer
	public   map[string]jose.JSONWebKey // every published key by kid
	jwksJSON []byte
}

// Info describes a key for administrators.
type Info struct {
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// Init makes sure an active and a next key exist, creating them on first start, and loads them.
func (m *Manager) Init(ctx context.Context) error {
	for attempt := 0; attempt < 3; attempt++ {
		err := m.ensure(ctx)
		if errors.Is(err, store.ErrConflict) {
			continue // another replica created them first: load theirs
		}
		if err != nil {
			return fmt.Errorf("keys: init: %w", err)
		}
		return m.Reload(ctx)
	}
	return m.Reload(ctx)
}

func (m *Manager) ensure(ctx context.Context) error {
	keys, err := m.Store.ListSigningKeys(ctx)
	if err != nil {
		return err
	}
	var haveActive, haveNext bool
	for _, k := range keys {
		haveActive = haveActive || k.Status == store.KeyActive
		haveNext = haveNext || k.Status == store.KeyNext
	}
	if haveActive && haveNext {
		return nil
	}
	return m.Store.InTx(ctx, func(q store.Queries) error {
		now := m.Now()
		for _, want := range []struct {
			status string
			have   bool
		}{{store.KeyActive, haveActive}, {store.KeyNext, haveNext}} {
			if want.have {
				continue
			}
			k, err := newKey(m.Box, m.Alg, want.status, now)
			if err != nil {
				return err
			}
			if err := q.CreateSigningKey(ctx, k); err != nil {
				return err
			}
			if err := m.Audit.Record(ctx, q, audit.Event{Action: audit.KeyGenerated, TargetType: "signing_key", TargetID: k.KID,
				Details: map[string]any{"alg": k.Alg, "status": k.Status}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reload reads the keys from the database and rebuilds the signer and the JWKS.
func (m *Manager) Reload(ctx context.Context) error {
	keys, err := m.Store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: reload: %w", err)
	}
	now := m.Now()
	st := &keyState{public: map[string]jose.JSONWebKey{}}
	var set jose.JSONWebKeySet
	for i := range keys {
		k := &keys[i]
		if k.Status == store.KeyRetired && k.PublishUntil != nil && now.After(*k.PublishUntil) {
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k.PublicJWK); err != nil {
			return fmt.Errorf("keys: key %s: %w", k.KID, err)
		}
		st.public[k.KID] = jwk
		set.Keys = append(set.Keys, jwk)
		if k.Status == store.KeyActive && st.active == nil {
			priv, err := openPrivate(m.Box, k)
			if err != nil {
				return err
			}
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg), Key: jose.JSONWebKey{Key: priv, KeyID: k.KID}},
				(&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				return fmt.Errorf("keys: signer for %s: %w", k.KID, err)
			}
			st.active, st.signer, st.private = k, signer, priv
		}
	}
	if st.active == nil {
		return errors.New("keys: no active signing key")
	}
	if st.jwksJSON, err = json.Marshal(set); err != nil {
		return fmt.Errorf("keys: reload: %w", err)
	}
	m.mu.Lock()
	m.state, m.loaded = st, now
	m.mu.Unlock()
	return nil
}

// Signer returns the active key's signer.
func (m *Manager) Signer() jose.Signer {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.state.signer
}

// Active returns the active key's id, algorithm and private key, for signers that are
// not access tokens (the OpenID provider's ID tokens and client tokens).
func (m *Manager) Active() (kid, alg string, private any) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.state.active.KID, m.state.active.Alg, m.state.private
}

// Published returns every published public key (active, next, unexpired retired).
func (m *Manager) Published() []jose.JSONWebKey {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]jose.JSONWebKey, 0, len(m.state.public))
	for _, k := range m.state.public {
		out = append(out, k)
	}
	return out
}

// PublicKey returns a published key by kid.
func (m *Manager) PublicKey(kid string) (jose.JSONWebKey, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.state.public[kid]
	return k, ok
}

// JWKS returns the published key set as JSON: active, next and unexpired retired keys,
// public members only.
func (m *Manager) JWKS() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.state.jwksJSON
}

// List describes every stored key.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	keys, err := m.Store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	out := make([]Info, 0, len(keys))
	for _, k := range keys {
		out = append(out, Info{KID: k.KID, Alg: k.Alg, Status: k.Status, CreatedAt: k.CreatedAt})
	}
	return out, nil
}

// Rotate retires the active key, activates the next one (already published, so caches
// know it) and generates a new next key, in one transaction, audited with actorID ("" for
// the schedule or the command line).
func (m *Manager) Rotate(ctx context.Context, actorID string) error {
	keys, err := m.Store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: rotate: %w", err)
	}
	var active, next *store.SigningKey
	for i := range keys {
		switch keys[i].Status {
		case store.KeyActive:
			active = &keys[i]
		case store.KeyNext:
			next = &keys[i]
		}
	}
	if active == nil || next == nil {
		return errors.New("keys: rotation needs an active and a next key")
	}
	now := m.Now()
	until := now.Add(m.RetiredFor)
	err = m.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.UpdateSigningKeyStatus(ctx, active.KID, store.KeyActive, store.KeyRetired, now, &until); err != nil {
			return err
		}
		if err := q.UpdateSigningKeyStatus(ctx, next.KID, store.KeyNext, store.KeyActive, now, nil); err != nil {
			return err
		}
		fresh, err := newKey(m.Box, m.Alg, store.KeyNext, now)
		if err != nil {
			return err
		}
		if err := q.CreateSigningKey(ctx, fresh); err != nil {
			return err
		}
		if err := m.Audit.Record(ctx, q, audit.Event{Action: audit.KeyGenerated, TargetType: "signing_key", TargetID: fresh.KID,
			Details: map[string]any{"alg": fresh.Alg, "status": fresh.Status}}); err != nil {
			return err
		}
		if err := q.DeleteExpiredSigningKeys(ctx, now); err != nil {
			return err
		}
		return m.Audit.Record(ctx, q, audit.Event{Action: audit.KeyRotated, ActorID: actorID, TargetType: "signing_key", TargetID: next.KID,
			Details: map[string]any{"retired": active.KID, "next": fresh.KID}})
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("keys: rotate: %w", err)
	}
	// On conflict another replica rotated first; either way load what is now stored.
	return m.Reload(ctx)
}

// Run reloads the keys periodically (to follow rotations by other replicas) and rotates
// the active key when it is older than RotateEvery.
func (m *Manager) Run(ctx context.Context) {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if m.RotateEvery > 0 {
			m.mu.RLock()
			activated := m.state.active.ActivatedAt
			m.mu.RUnlock()
			if activated != nil && m.Now().Sub(*activated) >= m.RotateEvery {
				if err := m.Rotate(ctx, ""); err != nil {
					m.Log.Error("scheduled key rotation failed", "error", err.Error())
				}
				continue
			}
		}
		if err := m.Reload(ctx); err != nil {
			m.Log.Error("reloading signing keys failed", "error", err.Error())
		}
	}
}
