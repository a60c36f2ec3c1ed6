package app

import "context"

// mountWeb mounts the web part (see its package).
func (a *App) mountWeb(ctx context.Context, s *services) error {
	return nil
}
