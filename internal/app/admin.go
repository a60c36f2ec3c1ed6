package app

import "context"

// mountAdmin mounts the admin part (see its package).
func (a *App) mountAdmin(ctx context.Context, s *services) error {
	return nil
}
