// Package app wires Gatehouse together: it builds every service from the configuration,
// serves HTTP, and stops gracefully.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/janitor"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/version"
)

// App is a built service, ready to serve.
type App struct {
	opts     options
	now      func() time.Time
	keys     *keys.Manager
	chainer  *audit.Chainer
	janitor  *janitor.Janitor
	cfg      *config.Config
	log      *slog.Logger
	db       *sqlstore.DB
	registry *prometheus.Registry
	router   *api.Router
	handler  http.Handler
	hasher   *password.Hasher
	// background holds the loops (outbox sender, key rotation) stopped on shutdown.
	background []func(ctx context.Context)
	closers    []func()
}

// StartedUp returns once start-up work done in the background (the password hasher's
// calibration hash) is over. A process that serves one App hands the garbage start-up
// leaves behind back to the OS then (cmd/gatehouse serve); the App does not force a
// process-wide collection itself, since it may share its process (tests run hundreds).
func (a *App) StartedUp() { a.hasher.Ready() }

// New opens and migrates the database and builds every service. Close releases them.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	a := &App{cfg: cfg, log: log, registry: prometheus.NewRegistry(), now: time.Now}
	for _, o := range opts {
		o(&a.opts)
	}
	if a.opts.now != nil {
		a.now = a.opts.now
	}
	// Every stored time has microsecond precision (what both databases keep), so answers
	// given before and after a round trip agree.
	clock := a.now
	a.now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	db, err := sqlstore.Open(ctx, cfg.DatabaseURL, sqlstore.Options{MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return nil, err
	}
	a.db = db
	a.closers = append(a.closers, func() { db.Close() })
	n, err := db.Migrate(ctx)
	if err != nil {
		a.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("applied database migrations", "count", n, "dialect", db.Dialect())
	}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for name, pool := range db.Stats() {
		a.registry.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}
	a.router = api.NewRouter("Gatehouse", version.Version)
	if err := a.build(ctx); err != nil {
		a.Close()
		return nil, err
	}
	api.MountOpenAPI(a.router)
	a.handler = httpx.Chain(a.router,
		httpx.RequestID,
		httpx.ClientIP(cfg.TrustedProxies),
		httpx.Observe(log, httpx.NewMetrics(a.registry)),
		httpx.Recover,
		httpx.SecurityHeaders(strings.HasPrefix(cfg.Issuer, "https://")),
		httpx.CORS(cfg.CORSOrigins),
		httpx.BodyLimit(httpx.MaxBody, map[string]int64{"POST /v1/admin/users/import": api.MaxImportBody}),
	)
	return a, nil
}

// keyRetireMargin keeps a retired key published a little past the last token it signed,
// for clock skew and caches.
const keyRetireMargin = 5 * time.Minute

// KeyManager builds the signing-key manager the server and the CLI share.
func KeyManager(cfg *config.Config, db store.Store, box *secretbox.Box, auditLog *audit.Log, now func() time.Time, log *slog.Logger) *keys.Manager {
	return &keys.Manager{Store: db, Audit: auditLog, Box: box, Alg: cfg.SigningAlg, RetiredFor: cfg.AccessTokenTTL + keyRetireMargin,
		RotateEvery: cfg.KeyRotation, Now: now, Log: log}
}

// AuditLog returns the audit log keyed from the master key, which the server and the
// CLI share.
func AuditLog(masterKey []byte) (*audit.Log, error) {
	key, err := audit.KeyFromMaster(masterKey)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	return audit.NewLog(key), nil
}

// Option changes how the app is built (tests use these).
type Option func(*options)

type options struct {
	now            func() time.Time
	breakerTimeout time.Duration
	outboxPoll     time.Duration
}

// WithClock makes every service read time from now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithOutboxTiming shortens the outbox's circuit-breaker timeout and polling interval.
func WithOutboxTiming(breaker, poll time.Duration) Option {
	return func(o *options) { o.breakerTimeout, o.outboxPoll = breaker, poll }
}

// Keys is the signing key manager.
func (a *App) Keys() *keys.Manager { return a.keys }

// Chainer links audit rows into the chain (tests run it on demand).
func (a *App) Chainer() *audit.Chainer { return a.chainer }

// Janitor removes expired rows (tests sweep on demand).
func (a *App) Janitor() *janitor.Janitor { return a.janitor }

// AuditLog is the keyed audit log every service records into.
func (a *App) AuditLog() *audit.Log { return a.chainer.Log }

// Handler is the whole HTTP surface, for tests that serve it themselves.
func (a *App) Handler() http.Handler { return a.handler }

// Store is the database the app runs on.
func (a *App) Store() *sqlstore.DB { return a.db }

// Router exposes the router so tests can add routes (a handler that panics, say).
func (a *App) Router() *api.Router { return a.router }

// Serve listens on the configured address until ctx is cancelled, then stops accepting,
// lets in-flight requests finish within the drain timeout, and stops background work.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.ReadTimeout,
		WriteTimeout:      a.cfg.WriteTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{}, len(a.background))
	for _, run := range a.background {
		go func() { run(bgCtx); done <- struct{}{} }()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if a.cfg.DebugAddr != "" {
		stopDebug := a.serveDebug(a.cfg.DebugAddr)
		defer stopDebug()
	}
	a.log.Info("serving", "addr", ln.Addr().String(), "issuer", a.cfg.Issuer, "database", a.db.Dialect(), "env", a.cfg.Env)

	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.log.Info("shutting down: draining in-flight requests", "timeout", a.cfg.ShutdownTimeout.String())
		drainCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		err = srv.Shutdown(drainCtx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			a.log.Warn("drain timeout reached; closing remaining connections")
			srv.Close()
		}
	}
	stopBackground()
	for range a.background {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			a.log.Warn("a background task did not stop in time")
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Close releases the database and other resources, in reverse order of creation.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}
