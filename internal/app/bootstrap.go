package app

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/password"
)

// bootstrapAdmin creates the instance administrator named by
// GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL / _PASSWORD on a start that finds none (or promotes
// the account with that email). Replicas starting together agree on one: see
// admin.Service.Bootstrap. With an administrator in place the settings are ignored.
func (a *App) bootstrapAdmin(ctx context.Context, s *services) error {
	cfg := a.cfg
	if cfg.BootstrapAdminEmail == "" || cfg.BootstrapAdminPassword == "" {
		return nil
	}
	svc := &admin.Service{Store: a.db, Audit: s.audit, Now: a.now, Hasher: s.hasher,
		Policy: password.Policy{MinLength: cfg.PasswordMinLength}, Product: cfg.ProductName}
	did, err := svc.Bootstrap(ctx, cfg.BootstrapAdminEmail, cfg.BootstrapAdminPassword)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: %w", err)
	}
	switch did {
	case admin.BootstrapCreated:
		a.log.Info("bootstrap: created the instance administrator", "user", cfg.BootstrapAdminEmail)
	case admin.BootstrapPromoted:
		a.log.Warn("bootstrap: an existing account became the instance administrator; its password is now GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD and its sessions ended",
			"user", cfg.BootstrapAdminEmail)
	}
	return nil
}
