package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// touchEvery bounds how often last_seen_at is written: at most once a minute per session.
const touchEvery = time.Minute

// Check returns the session if it is live and belongs to userID; ErrNotFound otherwise.
// Liveness comes through the cache, so that bearer calls do not read the session on
// every request: a revocation on this replica forgets it at once (Forget), one on
// another replica shows within the cache's TTL. It records the session as seen at most
// once a minute.
func (s *Service) Check(ctx context.Context, sessionID, userID string) (*store.Session, error) {
	now := s.Now()
	sess, err := s.cache().Load(sessionID, func() (store.Session, error) {
		got, err := s.Store.SessionByID(ctx, sessionID)
		if err != nil {
			return store.Session{}, err
		}
		if now.Sub(got.LastSeenAt) >= touchEvery && got.Live(now, s.IdleTTL) {
			if err := s.Store.TouchSession(ctx, got.ID, now); err != nil {
				return store.Session{}, err
			}
			got.LastSeenAt = now
		}
		return *got, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session: check: %w", err)
	}
	if sess.UserID != userID || !sess.Live(now, s.IdleTTL) {
		return nil, ErrNotFound
	}
	return &sess, nil
}

// cache is the liveness cache, built on first use with CacheTTL.
func (s *Service) cache() *cache.Cache[string, store.Session] {
	s.cacheOnce.Do(func() { s.live = cache.New[string, store.Session](s.CacheTTL, s.Now) })
	return s.live
}

// Forget drops sessions from the liveness cache after their revocation committed.
func (s *Service) Forget(ids ...string) {
	for _, id := range ids {
		s.cache().Forget(id)
	}
}
