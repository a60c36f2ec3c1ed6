package app

import "context"

// mountOIDC mounts the oidc part (see its package).
func (a *App) mountOIDC(ctx context.Context, s *services) error {
	return nil
}
