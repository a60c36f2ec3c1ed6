package app

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// mountWeb mounts the hosted HTML pages (see package web), after mountOIDC so that the
// OpenID provider, when there is one, is in s.provider.
func (a *App) mountWeb(_ context.Context, s *services) error {
	pages, err := web.New(&web.Pages{Accounts: s.accounts, Sessions: s.sessions, MFA: s.mfa, Orgs: s.orgs,
		Provider: s.provider, Product: a.cfg.ProductName, Issuer: a.cfg.Issuer, Now: a.now})
	if err != nil {
		return err
	}
	csp := httpx.ContentSecurityPolicy(httpx.PageCSP)
	pages.Mount(func(pattern string, h http.HandlerFunc) {
		a.router.HandleRaw(pattern, csp(h).ServeHTTP)
	})
	return nil
}
