// Package testdb gives each test its own empty database: a SQLite file in a temporary
// directory always, and a fresh PostgreSQL schema when GATEHOUSE_TEST_POSTGRES_URL is set.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// PostgresEnv names the variable holding the PostgreSQL URL for tests.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES_URL"

// Backend is one database a suite runs against.
type Backend struct {
	Name string // "sqlite" or "postgres"
	URL  func(t testing.TB) string
}

// Backends lists SQLite and PostgreSQL. The PostgreSQL variant skips, saying why, when
// its URL is not set (and fails instead in CI, where it must run).
func Backends(t testing.TB) []Backend {
	return []Backend{{Name: "sqlite", URL: SQLiteURL}, {Name: "postgres", URL: PostgresURL}}
}

// SQLiteURL returns a sqlite:// URL to a new file in the test's temporary directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "gatehouse.db")
}

var counter atomic.Int64

// PostgresURL creates an empty schema, dropped when the test ends, and returns a URL
// whose search_path selects it. The test is skipped when PostgreSQL is not configured
// (and fails when CI=true).
func PostgresURL(t testing.TB) string {
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: in CI the PostgreSQL tests must run, not skip", PostgresEnv)
		}
		t.Skipf("PostgreSQL test skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run it", PostgresEnv)
	}
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, counter.Add(1))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema (is PostgreSQL at %s running?): %v", base, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// A test's database is thrown away: its commits need not wait for the disk.
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// IsPostgres reports whether a database URL is PostgreSQL.
func IsPostgres(u string) bool { return strings.HasPrefix(u, "postgres") }

// Exec runs a statement on the database behind a Gatehouse database URL, bypassing the
// service: tests use it to tamper with rows as an attacker with database access would.
func Exec(t testing.TB, dbURL, query string, args ...any) {
	t.Helper()
	db := Open(t, dbURL)
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

// QueryInt runs a query returning one integer on the database behind a Gatehouse URL.
func QueryInt(t testing.TB, dbURL, query string, args ...any) int {
	t.Helper()
	db := Open(t, dbURL)
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return n
}

// Open opens the database behind a Gatehouse URL with database/sql, bypassing the service.
func Open(t testing.TB, dbURL string) *sql.DB {
	driver, dsn := "pgx", dbURL
	if strings.HasPrefix(dbURL, "sqlite://") {
		// Wait for the server's writers (the audit chainer writes in the background)
		// instead of failing with SQLITE_BUSY.
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(dbURL, "sqlite://")+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	return db
}

// Find reads every column of every row of every table of the database behind a
// Gatehouse URL, as text, and returns "table.column: needle" for each needle found
// (case-insensitively): tests of erasure use it to show that nothing is left behind.
func Find(t testing.TB, dbURL string, needles ...string) []string {
	t.Helper()
	db := Open(t, dbURL)
	defer db.Close()
	list := `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	if !IsPostgres(dbURL) {
		list = `SELECT name FROM sqlite_master WHERE type = 'table'`
	}
	var tables []string
	rows, err := db.Query(list)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("list tables: %v", err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("find: the database has no tables")
	}
	var found []string
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			for i, v := range vals {
				var text string
				switch v := v.(type) {
				case []byte:
					text = string(v)
				case nil:
					continue
				default:
					text = fmt.Sprint(v)
				}
				for _, n := range needles {
					if n != "" && strings.Contains(strings.ToLower(text), strings.ToLower(n)) {
						found = append(found, fmt.Sprintf("%s.%s: %s", table, cols[i], n))
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
	}
	return found
}
