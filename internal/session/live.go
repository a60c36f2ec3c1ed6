package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// LiveCache remembers for a short time whether a session is live, so that bearer calls
// do not read the session on every request. Revocations on this replica take effect at
// once (Forget); those on other replicas within TTL.
type LiveCache struct {
	TTL time.Duration

	mu      sync.Mutex
	entries map[string]liveEntry
	sweepAt time.Time
}

type liveEntry struct {
	sess    store.Session
	fetched time.Time
}

// NewLiveCache returns an empty cache.
func NewLiveCache(ttl time.Duration) *LiveCache {
	return &LiveCache{TTL: ttl, entries: map[string]liveEntry{}}
}

// Forget drops a session.
func (c *LiveCache) Forget(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}

func (c *LiveCache) get(id string, now time.Time) (store.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.fetched) >= c.TTL {
		return store.Session{}, false
	}
	return e.sess, true
}

func (c *LiveCache) put(sess store.Session, now time.Time) {
	if c.TTL <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(c.sweepAt) {
		for id, e := range c.entries {
			if now.Sub(e.fetched) >= c.TTL {
				delete(c.entries, id)
			}
		}
		c.sweepAt = now.Add(c.TTL)
	}
	c.entries[sess.ID] = liveEntry{sess: sess, fetched: now}
}

// touchEvery bounds how often last_seen_at is written: at most once a minute per session.
const touchEvery = time.Minute

// Check returns the session if it is live and belongs to userID; ErrNotFound otherwise.
// It records the session as seen at most once a minute.
func (s *Service) Check(ctx context.Context, sessionID, userID string) (*store.Session, error) {
	now := s.Now()
	sess, ok := s.Cache.get(sessionID, now)
	if !ok {
		got, err := s.Store.SessionByID(ctx, sessionID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		sess = *got
		if now.Sub(sess.LastSeenAt) >= touchEvery && sess.Live(now, s.IdleTTL) {
			if err := s.Store.TouchSession(ctx, sess.ID, now); err != nil {
				return nil, err
			}
			sess.LastSeenAt = now
		}
		s.Cache.put(sess, now)
	}
	if sess.UserID != userID || !sess.Live(now, s.IdleTTL) {
		return nil, ErrNotFound
	}
	return &sess, nil
}
