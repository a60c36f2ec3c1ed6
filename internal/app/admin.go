package app

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/clients"
)

// mountAdmin mounts the instance administrators' routes (/v1/admin/...) and, on a start
// that finds no administrator, creates the bootstrap one.
func (a *App) mountAdmin(ctx context.Context, s *services) error {
	if err := a.bootstrapAdmin(ctx, s); err != nil {
		return err
	}
	admins := &api.Admins{Auth: s.auth, Users: s.accounts}
	registry := &clients.Service{Store: a.db, Audit: s.audit, Sessions: s.sessions, Now: a.now,
		// The OpenID provider (mounted next) caches clients: a changed, rotated or deleted
		// one is forgotten at once on this replica.
		Changed: func(id string) {
			if s.oidc != nil {
				s.oidc.ForgetClient(id)
			}
		}}
	(&api.AdminClients{Clients: registry, Admins: admins}).Mount(a.router)
	return nil
}
