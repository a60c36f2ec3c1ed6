// Package cache keeps values read from the database for a few seconds, so that bearer
// calls need not read the same rows on every request. It is the one cache type of the
// service (session liveness, users, organization memberships) and has one invalidation
// rule: a change forgets what it touched at once, and a read that was in flight while
// something was forgotten answers with what it read but is not kept, so a change that
// commits during a read can never be hidden for a whole TTL.
package cache

import (
	"hash/maphash"
	"sync"
	"time"
)

// shards is how many invalidation generations keys are spread over: forgetting one key
// spoils in-flight reads of about 1/shards of the others, not all of them.
const shards = 64

// Cache maps K to V for TTL. The zero TTL caches nothing. Safe for concurrent use.
type Cache[K comparable, V any] struct {
	ttl  time.Duration
	now  func() time.Time
	seed maphash.Seed

	mu      sync.Mutex
	entries map[K]entry[V]
	gens    [shards]uint64 // bumped when a key of the shard is forgotten
	sweepAt time.Time
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns an empty cache whose entries live for ttl, by the clock now.
func New[K comparable, V any](ttl time.Duration, now func() time.Time) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, now: now, seed: maphash.MakeSeed(), entries: map[K]entry[V]{}}
}

func (c *Cache[K, V]) shard(k K) int { return int(maphash.Comparable(c.seed, k) % shards) }

// Get returns the value of k if it was stored less than TTL ago.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || now.Sub(e.at) >= c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Ticket remembers the invalidation generation of a key when a read of it begins.
type Ticket struct {
	shard int
	gen   uint64
}

// Begin is called before reading k from the database; Put keeps what was read only if
// nothing of k's shard was forgotten meanwhile.
func (c *Cache[K, V]) Begin(k K) Ticket {
	s := c.shard(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	return Ticket{shard: s, gen: c.gens[s]}
}

// Put stores v for k, read since Begin returned t, unless k's shard was invalidated
// since: then the read may be stale and is not kept.
func (c *Cache[K, V]) Put(t Ticket, k K, v V) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[t.shard] != t.gen {
		return
	}
	if now.After(c.sweepAt) { // drop expired entries now and then, so memory stays bounded
		for key, e := range c.entries {
			if now.Sub(e.at) >= c.ttl {
				delete(c.entries, key)
			}
		}
		c.sweepAt = now.Add(max(c.ttl, time.Second))
	}
	c.entries[k] = entry[V]{v: v, at: now}
}

// Load returns k's cached value or, on a miss, reads it with load and keeps it (under
// the rule of Put).
func (c *Cache[K, V]) Load(k K, load func() (V, error)) (V, error) {
	if v, ok := c.Get(k); ok {
		return v, nil
	}
	t := c.Begin(k)
	v, err := load()
	if err != nil {
		return v, err
	}
	c.Put(t, k, v)
	return v, nil
}

// Forget drops k, and spoils reads of its shard that are in flight.
func (c *Cache[K, V]) Forget(k K) {
	s := c.shard(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[s]++
	delete(c.entries, k)
}

// ForgetIf drops every key for which match is true, and spoils every read in flight.
func (c *Cache[K, V]) ForgetIf(match func(K) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.gens {
		c.gens[i]++
	}
	for k := range c.entries {
		if match(k) {
			delete(c.entries, k)
		}
	}
}

// Len is the number of entries held, expired ones included until swept.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
