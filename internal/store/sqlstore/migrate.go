package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.dialect)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	switch db.dialect {
	case Postgres:
		dialect = goose.DialectPostgres
		// An advisory lock held for the whole run: two replicas starting at once apply
		// each migration exactly once.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		// SQLite replicas share one host; an exclusive file lock beside the database
		// serializes their migration runs.
		opts = append(opts, goose.WithLocker(&fileLocker{path: db.path + ".migrate.lock"}))
	}
	return goose.NewProvider(dialect, db.write, sub, append(opts, goose.WithDisableGlobalRegistry(true))...)
}

// Migrate applies every pending migration; with none pending it changes nothing.
func (db *DB) Migrate(ctx context.Context) (applied int, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return len(res), nil
}

// MigrateTo applies pending migrations up to and including version (tests of upgrades
// use it to build a database as an older release left it).
func (db *DB) MigrateTo(ctx context.Context, version int64) (applied int, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	res, err := p.UpTo(ctx, version)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: migrate to %d: %w", version, err)
	}
	return len(res), nil
}

// MigrationStatus lists every known migration and whether it is applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := db.provider()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version: s.Source.Version,
			Name:    s.Source.Path,
			Applied: s.State == goose.StateApplied,
		})
	}
	return out, nil
}

// fileLocker is a goose lock.Locker over flock(2).
type fileLocker struct {
	path string
	f    *os.File
}

func (l *fileLocker) Lock(ctx context.Context, _ *sql.DB) error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open migration lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return fmt.Errorf("take migration lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond): // another process is migrating
		}
	}
}

func (l *fileLocker) Unlock(_ context.Context, _ *sql.DB) error {
	if l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
	return err
}
