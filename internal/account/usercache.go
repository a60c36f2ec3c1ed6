package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// User returns a user by id through the user cache: bearer calls (GET /v1/me) reuse a
// user for up to UserCacheTTL, the bound of session liveness. Changes made through this
// replica forget the user at once (ForgetUser); changes elsewhere show within the TTL.
func (s *Service) User(ctx context.Context, id string) (*store.User, error) {
	u, err := s.userCache().Load(id, func() (store.User, error) {
		u, err := s.Store.UserByID(ctx, id)
		if err != nil {
			return store.User{}, err
		}
		return *u, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("account: user: %w", err)
	}
	return &u, nil
}

func (s *Service) userCache() *cache.Cache[string, store.User] {
	s.usersOnce.Do(func() { s.users = cache.New[string, store.User](s.UserCacheTTL, s.Now) })
	return s.users
}

// ForgetUser drops a user from the cache after a change.
func (s *Service) ForgetUser(id string) { s.userCache().Forget(id) }
