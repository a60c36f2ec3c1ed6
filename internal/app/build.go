package app

import (
	"context"
	"fmt"
	"os"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/janitor"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// build creates the services and mounts their routes.
func (a *App) build(ctx context.Context) error {
	cfg := a.cfg
	mk, err := MasterKey(cfg, a.log)
	if err != nil {
		return err
	}
	box, err := secretbox.New(mk)
	if err != nil {
		return err
	}
	auditLog, err := AuditLog(mk)
	if err != nil {
		return err
	}
	a.chainer = &audit.Chainer{Store: a.db, Log: auditLog, Logs: a.log, CheckpointEvery: cfg.AuditCheckpointInterval}
	auditLog.OnAppend(a.chainer.Wake)
	a.background = append(a.background, a.chainer.Run)
	km := KeyManager(cfg, a.db, box, auditLog, a.now, a.log)
	if err := km.Init(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	a.keys = km
	a.background = append(a.background, km.Run)

	hasher, err := password.NewHasher(password.Params{MemoryKiB: cfg.Argon2MemoryKiB, Iterations: cfg.Argon2Iterations,
		Parallelism: cfg.Argon2Parallelism}, cfg.HashWorkers, cfg.HashQueue, a.registry)
	if err != nil {
		return err
	}
	a.hasher = hasher
	composer, err := notify.NewComposer(cfg.ProductName)
	if err != nil {
		return err
	}
	transports := map[string]notify.Transport{store.ChannelEmail: notify.LogTransport{Log: a.log}, store.ChannelSMS: notify.LogTransport{Log: a.log}}
	if cfg.SMSWebhookURL != "" {
		transports[store.ChannelSMS] = notify.NewWebhook(cfg.SMSWebhookURL)
	}
	if cfg.SMTPURL != "" {
		var ca []byte
		if cfg.SMTPCAFile != "" {
			if ca, err = os.ReadFile(cfg.SMTPCAFile); err != nil {
				return fmt.Errorf("GATEHOUSE_SMTP_CA_FILE: %w", err)
			}
		}
		smtp, err := notify.NewSMTP(cfg.SMTPURL, cfg.SMTPFrom, ca)
		if err != nil {
			return err
		}
		transports[store.ChannelEmail] = smtp
	}
	sender := notify.NewSender(a.db, transports, notify.Options{Log: a.log, Now: a.now, Registry: a.registry,
		BreakerTimeout: a.opts.breakerTimeout, PollEvery: a.opts.outboxPoll})
	a.background = append(a.background, sender.Run)

	access := &token.Access{Keys: km, Issuer: cfg.Issuer, Audience: cfg.AccessTokenAud, TTL: cfg.AccessTokenTTL, Now: a.now}
	sessions := session.NewService(&session.Service{Store: a.db, Access: access, IdleTTL: cfg.RefreshIdleTTL,
		AbsoluteTTL: cfg.SessionTTL, Now: a.now, CacheTTL: cfg.SessionCacheTTL, Audit: auditLog}, a.registry)
	limiter := ratelimit.NewMemory(a.now)
	sessions.Limiter = limiter
	sweeper := janitor.New(&janitor.Janitor{Store: a.db, Now: a.now, Log: a.log}, a.registry)
	a.janitor = sweeper
	a.background = append(a.background, sweeper.Run)
	deferred := account.NewDeferred(1024, a.log, a.registry)
	a.background = append(a.background, deferred.Run)
	accounts := account.NewService(&account.Service{
		Store: a.db, Audit: auditLog, Hasher: hasher, Policy: password.Policy{MinLength: cfg.PasswordMinLength}, Sessions: sessions,
		Limiter: limiter, Limits: account.Limits{FailuresPerAccount: cfg.LimitLoginFailuresPerAccount,
			FailuresPerIP: cfg.LimitLoginFailuresPerIP, Window: cfg.LimitWindow, IPPerMinute: cfg.LimitIPPerMinute,
			IPv6Prefix: cfg.LimitIPv6Prefix},
		Composer: composer, Outbox: sender, LinkBase: cfg.EmailLinkBase, Product: cfg.ProductName,
		RequireVerifiedEmail: cfg.RequireVerifiedEmail, Now: a.now, UserCacheTTL: cfg.SessionCacheTTL, Deferred: deferred,
	}, a.registry)
	orgs := &org.Service{Store: a.db, Audit: auditLog, Composer: composer, Outbox: sender, LinkBase: cfg.EmailLinkBase, Now: a.now, CacheTTL: cfg.SessionCacheTTL}
	sessions.Scoper = orgs
	accounts.OrgPolicy = orgs
	wa, err := webauthn.New(&webauthn.Config{RPID: cfg.WebAuthnRPID, RPDisplayName: cfg.ProductName, RPOrigins: cfg.WebAuthnOrigins})
	if err != nil {
		return fmt.Errorf("webauthn: %w", err)
	}
	factors, err := mfa.New(&mfa.Service{Store: a.db, Audit: auditLog, Box: box, Sessions: sessions, Composer: composer, Outbox: sender,
		Limiter: limiter, WebAuthn: wa, Product: cfg.ProductName, Now: a.now,
		SMSEnabled: cfg.SMSWebhookURL != "" || !cfg.IsProduction(), RequireVerifiedEmail: cfg.RequireVerifiedEmail,
		ReauthMaxAge: cfg.ReauthMaxAge}, mk)
	if err != nil {
		return err
	}
	accounts.SecondFactor = factors
	factors.Attempts = accounts
	factors.Budget = accounts
	factors.UserChanged = accounts.ForgetUser
	auth := &api.Authenticator{Access: access, Sessions: sessions}
	svc := &services{box: box, audit: auditLog, keys: km, hasher: hasher, composer: composer, outbox: sender, access: access,
		sessions: sessions, limiter: limiter, accounts: accounts, orgs: orgs, mfa: factors, auth: auth}

	(&api.System{Database: a.db, Gatherer: a.registry}).Mount(a.router)
	api.MountJWKS(a.router, km)
	(&api.Accounts{Accounts: accounts, Sessions: sessions, Auth: auth}).Mount(a.router)
	(&api.Me{Accounts: accounts, Sessions: sessions, Audit: a.db, Auth: auth}).Mount(a.router)
	(&api.Orgs{Orgs: orgs, Auth: auth}).Mount(a.router)
	(&api.SecondFactors{MFA: factors, Accounts: accounts, Auth: auth}).Mount(a.router)
	if err := a.mountOIDC(ctx, svc); err != nil {
		return err
	}
	if err := a.mountAdmin(ctx, svc); err != nil {
		return err
	}
	return a.mountWeb(ctx, svc)
}

// services are the built domain services, handed to the parts mounted after the API.
type services struct {
	box      *secretbox.Box
	audit    *audit.Log
	keys     *keys.Manager
	hasher   *password.Hasher
	composer *notify.Composer
	outbox   *notify.Sender
	access   *token.Access
	sessions *session.Service
	limiter  ratelimit.Limiter
	accounts *account.Service
	orgs     *org.Service
	mfa      *mfa.Service
	auth     *api.Authenticator
	// provider is the OpenID provider, set by mountOIDC for the hosted pages; oidc is
	// the same, for the parts that change clients (they tell it to forget one).
	provider web.Provider
	oidc     *oidc.Provider
}
