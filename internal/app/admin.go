package app

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/clients"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/password"
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
	users := &admin.Service{Store: a.db, Audit: s.audit, Now: a.now, Hasher: s.hasher, MFA: s.mfa,
		Policy: password.Policy{MinLength: a.cfg.PasswordMinLength}, Product: a.cfg.ProductName,
		Throttle: s.accounts, Resets: s.accounts, Outbox: s.outbox,
		Forget: func(userID string, sessionIDs []string) {
			s.accounts.ForgetUser(userID)
			s.sessions.Forget(sessionIDs...)
		}}
	(&api.AdminSystem{Admins: admins, Keys: s.keys, Audit: a.db}).Mount(a.router)
	(&api.AdminUsers{Users: users, Admins: admins, Locks: s.accounts, Import: admin.ImportOptions{Firebase: firebaseParams(a.cfg)}}).Mount(a.router)
	return nil
}

// firebaseParams are the GATEHOUSE_IMPORT_FIREBASE_* settings.
func firebaseParams(cfg *config.Config) password.FirebaseParams {
	return password.FirebaseParams{SignerKey: cfg.ImportFirebaseSignerKey, SaltSeparator: cfg.ImportFirebaseSaltSeparator,
		Rounds: cfg.ImportFirebaseRounds, MemCost: cfg.ImportFirebaseMemCost}
}
