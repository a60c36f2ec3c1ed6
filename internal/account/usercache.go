package account

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userCache keeps users read by bearer calls (GET /v1/me) for a few seconds, the same
// bound as session liveness. Changes made through this replica drop the entry at once
// (ForgetUser); changes elsewhere show within the TTL.
type userCache struct {
	mu      sync.Mutex
	entries map[string]cachedUser
	sweepAt time.Time
}

type cachedUser struct {
	u  store.User
	at time.Time
}

// User returns a user by id, through the cache.
func (s *Service) User(ctx context.Context, id string) (*store.User, error) {
	now := s.Now()
	s.users.mu.Lock()
	c, ok := s.users.entries[id]
	s.users.mu.Unlock()
	if ok && now.Sub(c.at) < s.UserCacheTTL {
		u := c.u
		return &u, nil
	}
	u, err := s.Store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if s.UserCacheTTL > 0 {
		s.users.mu.Lock()
		if s.users.entries == nil {
			s.users.entries = map[string]cachedUser{}
		}
		if now.After(s.users.sweepAt) {
			for k, v := range s.users.entries {
				if now.Sub(v.at) >= s.UserCacheTTL {
					delete(s.users.entries, k)
				}
			}
			s.users.sweepAt = now.Add(time.Minute)
		}
		s.users.entries[id] = cachedUser{u: *u, at: now}
		s.users.mu.Unlock()
	}
	return u, nil
}

// ForgetUser drops a user from the cache after a change.
func (s *Service) ForgetUser(id string) {
	s.users.mu.Lock()
	delete(s.users.entries, id)
	s.users.mu.Unlock()
}
