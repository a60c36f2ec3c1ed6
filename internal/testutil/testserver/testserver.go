// Package testserver starts a whole Gatehouse on a loopback port for tests: real
// database, real HTTP server, real middleware.
package testserver

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// Server is a running Gatehouse.
type Server struct {
	URL    string
	App    *app.App
	Config *config.Config
	Logs   *LogBuffer
	stop   context.CancelFunc
	done   chan error
}

// Option changes how the server is configured.
type Option func(*setup)

type setup struct {
	env       map[string]string
	appOpts   []app.Option
	localhost bool
}

// WithLocalhostIssuer names the server http://localhost:<port> instead of its IP (WebAuthn
// relying parties are domains).
func WithLocalhostIssuer() Option { return func(s *setup) { s.localhost = true } }

// With sets one GATEHOUSE_* setting.
func With(key, value string) Option { return func(s *setup) { s.env[key] = value } }

// WithApp passes options to app.New (a clock, outbox timing).
func WithApp(o ...app.Option) Option { return func(s *setup) { s.appOpts = append(s.appOpts, o...) } }

// Clock is a settable clock for tests of expiry.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at the current time.
func NewClock() *Clock { return &Clock{t: time.Now()} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var quietLibraries sync.Once

// Start serves a new Gatehouse on 127.0.0.1 with its own database at dbURL. Password
// hashing uses small argon2 parameters and signing keys are ES256, so tests run fast;
// tests of the defaults ask for them (With).
func Start(t testing.TB, dbURL string, opts ...Option) *Server {
	t.Helper()
	quietLibraries.Do(func() {
		// The OpenID library logs to the process's default logger (every route it
		// registers, every refused request); each server's own log is kept per test.
		if os.Getenv("GATEHOUSE_TEST_LOGS") == "" {
			slog.SetDefault(slog.New(slog.DiscardHandler))
		}
	})
	if err := seedSQLite(dbURL); err != nil {
		t.Fatalf("migrated SQLite template: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"GATEHOUSE_DATABASE_URL":      dbURL,
		"GATEHOUSE_DATA_DIR":          t.TempDir(),
		"GATEHOUSE_ISSUER":            base,
		"GATEHOUSE_HTTP_ADDR":         ln.Addr().String(),
		"GATEHOUSE_ARGON2_MEMORY_KIB": "64",
		"GATEHOUSE_ARGON2_ITERATIONS": "1",
		// ES256 keys are made in microseconds; the default RS256 costs two 2048-bit RSA
		// keys per server (about 0.1 s, several under -race). Tests of RS256 ask for it.
		"GATEHOUSE_SIGNING_ALG":      "ES256",
		"GATEHOUSE_SHUTDOWN_TIMEOUT": "5s",
		"GATEHOUSE_LOG_LEVEL":        "debug",
	}
	st := &setup{env: env}
	for _, o := range opts {
		o(st)
	}
	if st.localhost {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		env["GATEHOUSE_ISSUER"] = "http://localhost:" + port
	}
	cfg, err := config.Load(config.Sources{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		ln.Close()
		t.Fatalf("config: %v", err)
	}
	logs := &LogBuffer{}
	var w io.Writer = logs
	if os.Getenv("GATEHOUSE_TEST_LOGS") != "" {
		w = io.MultiWriter(logs, os.Stderr)
	}
	log := logging.New(w, cfg.LogLevel)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, st.appOpts...)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("app: %v", err)
	}
	s := &Server{URL: base, App: a, Config: cfg, Logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// migratedSQLite is a freshly migrated SQLite database file, made once per test process.
// A server started where no SQLite database exists yet gets a copy: the same database
// migrating it would make, without parsing and running every migration for each of the
// hundreds of servers a package starts (goose's SQL parser took a quarter of the api
// package's CPU under -race). The migrations themselves are tested in internal/store and
// cmd/gatehouse, on fresh databases.
var migratedSQLite struct {
	once sync.Once
	file []byte
	err  error
}

// seedSQLite writes the migrated template to dbURL's path when dbURL is a SQLite URL
// whose file does not exist yet; anything else is left to the app.
func seedSQLite(dbURL string) error {
	path, ok := strings.CutPrefix(dbURL, "sqlite://")
	if !ok || path == "" || strings.ContainsAny(path, "?#") {
		return nil
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	migratedSQLite.once.Do(func() { migratedSQLite.file, migratedSQLite.err = migrateTemplate() })
	if migratedSQLite.err != nil {
		return migratedSQLite.err
	}
	return os.WriteFile(path, migratedSQLite.file, 0o600)
}

// migrateTemplate migrates an empty SQLite database and returns its file, closed (and
// so checkpointed: nothing is left in the write-ahead log).
func migrateTemplate() ([]byte, error) {
	dir, err := os.MkdirTemp("", "gatehouse-testserver-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+path, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		return nil, errors.New("the template's write-ahead log was not checkpointed on close")
	}
	return os.ReadFile(path)
}

// Stop shuts the server down gracefully and closes its database; safe to call twice.
func (s *Server) Stop(t testing.TB) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	if err := <-s.done; err != nil {
		t.Errorf("serve: %v", err)
	}
	s.App.Close()
}

// VerifyAudit chains what has been appended to the audit log, then verifies the whole
// log with the server's key; the test fails on an error (a broken log is in the report).
func (s *Server) VerifyAudit(t testing.TB, opt audit.VerifyOptions) audit.Report {
	t.Helper()
	if _, err := s.App.Chainer().ChainAll(t.Context()); err != nil {
		t.Fatalf("chain audit: %v", err)
	}
	rep, err := s.App.AuditLog().Verify(t.Context(), s.App.Store(), opt)
	if err != nil {
		t.Fatalf("verify audit: %v", err)
	}
	return rep
}

// Relisten opens another loopback listener, for tests that serve the app themselves.
func (s *Server) Relisten(t testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

// LogBuffer collects log output safely across goroutines.
type LogBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
