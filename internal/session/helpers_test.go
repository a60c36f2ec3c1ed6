package session_test

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// newService is a session service over st with a 5 s liveness cache and no token signing.
func newService(st store.Store) *session.Service {
	return session.NewService(&session.Service{Store: st, IdleTTL: time.Hour, AbsoluteTTL: 24 * time.Hour,
		Now: time.Now, CacheTTL: 5 * time.Second, Audit: audit.NewLog(make([]byte, 32))}, nil)
}
