package token

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verified remembers tokens that passed Verify, so the signature of a token presented
// again and again (every API call of a client) is checked once. Only successes are
// kept, never longer than the token's own expiry or a minute; revocation is not the
// cache's business (sessions are checked on every call).
type verified struct {
	mu      sync.Mutex
	entries map[[32]byte]verifiedEntry
}

type verifiedEntry struct {
	claims *Claims
	until  time.Time
}

const (
	verifiedMax = 10000
	verifiedTTL = time.Minute
)

func (v *verified) get(raw string, now time.Time) (*Claims, bool) {
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[key]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.claims, true
}

func (v *verified) put(raw string, c *Claims, now time.Time) {
	until := now.Add(verifiedTTL)
	if exp := c.Expiry.Time(); exp.Before(until) {
		until = exp
	}
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.entries == nil {
		v.entries = make(map[[32]byte]verifiedEntry)
	}
	if len(v.entries) >= verifiedMax {
		for k, e := range v.entries {
			if !now.Before(e.until) {
				delete(v.entries, k)
			}
		}
		if len(v.entries) >= verifiedMax {
			v.entries = make(map[[32]byte]verifiedEntry) // all still live: start over
		}
	}
	v.entries[key] = verifiedEntry{claims: c, until: until}
}
