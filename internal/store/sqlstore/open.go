// Package sqlstore is the one SQL implementation of store.Store, serving both SQLite
// (modernc.org/sqlite, pure Go) and PostgreSQL (pgx). The SQL text is shared: both
// dialects take $n placeholders, ON CONFLICT and RETURNING; only the schema files differ.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options tune the connection pools.
type Options struct {
	// MaxConns bounds the PostgreSQL pool (and the SQLite read pool).
	MaxConns int
}

// DB is a store.Store over database/sql.
type DB struct {
	queries
	dialect string
	path    string  // SQLite file path
	write   *sql.DB // SQLite: one connection, so writers queue in Go instead of failing with SQLITE_BUSY
	read    *sql.DB // SQLite: many readers (WAL); PostgreSQL: the same pool as write
}

var _ store.Store = (*DB)(nil)

// Open connects to a sqlite:// or postgres:// URL. It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	if opt.MaxConns <= 0 {
		opt.MaxConns = 10
	}
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		db, err = openSQLite(strings.TrimPrefix(rawURL, "sqlite://"), opt)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db, err = openPostgres(rawURL, opt)
	default:
		return nil, fmt.Errorf("sqlstore: unsupported database URL scheme (want sqlite:// or postgres://)")
	}
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.pingUntilFree(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", db.dialect, err)
	}
	return db, nil
}

// pingUntilFree pings until the database answers. A new SQLite connection switches the
// file to WAL, which needs the file to itself: while another process (a replica starting
// at the same moment, a migration) holds it, SQLite answers SQLITE_BUSY at once instead
// of waiting, so the ping is retried until ctx ends.
func (db *DB) pingUntilFree(ctx context.Context) error {
	for {
		err := db.Ping(ctx)
		if err == nil || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func openSQLite(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlstore: sqlite:// needs a file path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlstore: create database directory: %w", err)
		}
	}
	// The database holds password hashes: create it readable by its owner only (SQLite's
	// -wal and -shm files take the same mode).
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		f.Close()
	} else {
		return nil, fmt.Errorf("sqlstore: create database file: %w", err)
	}
	params := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		params.Add("_pragma", p)
	}
	dsn := func(extra string) string { return "file:" + path + "?" + params.Encode() + extra }
	// Write transactions take the lock up front (BEGIN IMMEDIATE) so that a read that
	// later writes can never deadlock against another process.
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(opt.MaxConns)
	r.SetMaxIdleConns(opt.MaxConns)
	db := &DB{dialect: SQLite, path: path, write: w, read: r}
	db.queries = queries{w: w, r: r, stmts: &stmtCache{db: r}, dialect: SQLite}
	return db, nil
}

func openPostgres(rawURL string, opt Options) (*DB, error) {
	p, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	p.SetMaxOpenConns(opt.MaxConns)
	p.SetMaxIdleConns(opt.MaxConns)
	p.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{dialect: Postgres, write: p, read: p}
	db.queries = queries{w: p, r: p, stmts: &stmtCache{db: p}, dialect: Postgres}
	return db, nil
}

// Dialect names the backend.
func (db *DB) Dialect() string { return db.dialect }

// Ping checks both pools.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return err
	}
	if db.write != db.read {
		return db.write.PingContext(ctx)
	}
	return nil
}

// Stats returns the pools to report in metrics, by name.
func (db *DB) Stats() map[string]*sql.DB {
	if db.write == db.read {
		return map[string]*sql.DB{"main": db.write}
	}
	return map[string]*sql.DB{"write": db.write, "read": db.read}
}

// Close closes the pools.
func (db *DB) Close() error {
	db.stmts.m.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	err := db.write.Close()
	if db.read != db.write {
		if rerr := db.read.Close(); err == nil {
			err = rerr
		}
	}
	return err
}
