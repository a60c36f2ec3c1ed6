package app

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/oidc"
)

// SessionCookieName is the hosted pages' session cookie: __Host- prefixed (Secure, no
// Domain, Path=/) when the issuer is https.
func SessionCookieName(issuer string) string {
	if strings.HasPrefix(issuer, "https://") {
		return "__Host-gatehouse_session"
	}
	return "gatehouse_session"
}

// mountOIDC builds the OpenID provider, mounts its endpoints and hands it to the pages.
func (a *App) mountOIDC(ctx context.Context, s *services) error {
	var key [32]byte
	rand.Read(key[:]) // the library's key for opaque tokens, of which Gatehouse issues none
	p, err := oidc.New(oidc.Config{
		Issuer: a.cfg.Issuer, Store: a.db, Sessions: s.sessions, Users: s.accounts, Keys: s.keys, Audit: s.audit, Log: a.log,
		Now: a.now, AccessTTL: a.cfg.AccessTokenTTL, CacheTTL: a.cfg.SessionCacheTTL, CryptoKey: key,
		CookieName: SessionCookieName(a.cfg.Issuer), LoginPath: "/login", SignOutPath: "/logout",
	})
	if err != nil {
		return err
	}
	p.Mount(a.router.HandleRaw)
	s.provider = p
	s.oidc = p
	return nil
}
