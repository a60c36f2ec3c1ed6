package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// timeLayout is fixed-width, so that on SQLite (where times are TEXT) string order is
// time order; PostgreSQL parses it into TIMESTAMPTZ.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// ts converts a time to a query argument.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// tsp converts an optional time.
func tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// timeDest scans a TIMESTAMPTZ (PostgreSQL) or TEXT (SQLite) column.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(v any) error {
	t, err := parseTime(v)
	if err != nil {
		return err
	}
	if t == nil {
		return errors.New("sqlstore: NULL in a NOT NULL time column")
	}
	*d.t = *t
	return nil
}

// nullTimeDest scans a nullable time column.
type nullTimeDest struct{ t **time.Time }

func (d nullTimeDest) Scan(v any) error {
	t, err := parseTime(v)
	*d.t = t
	return err
}

func parseTime(v any) (*time.Time, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		t := x.UTC()
		return &t, nil
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return nil, fmt.Errorf("sqlstore: cannot scan %T into a time", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: bad time %q: %w", s, err)
	}
	t = t.UTC()
	return &t, nil
}

var _ driver.Valuer = (*listValue)(nil)

// listValue stores a short list of simple words (like AMR values) as a comma-joined string.
type listValue []string

func (l listValue) Value() (driver.Value, error) { return strings.Join(l, ","), nil }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// mapErr turns driver errors into store sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", store.ErrConflict, pgErr.ConstraintName)
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", store.ErrConflict, liteErr.Error())
		}
	}
	return err
}

// isBusy reports SQLite's SQLITE_BUSY (the database is locked by another connection).
func isBusy(err error) bool {
	var liteErr *sqlite.Error
	return errors.As(err, &liteErr) && liteErr.Code()&0xff == sqlite3.SQLITE_BUSY
}

// one maps sql.ErrNoRows to store.ErrNotFound.
func one(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// affected returns ErrNotFound when a write changed no row.
func affected(res interface{ RowsAffected() (int64, error) }, err error) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// nullString stores "" as NULL (for unique columns where "" means none).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertMany runs "head row, row, ..." for n rows of cols arguments each; row(offset)
// writes one row's placeholders from $offset+1. On PostgreSQL it sends statements of up
// to 1,000 rows (a round trip each); on SQLite it prepares the one-row statement once
// and runs it per row, as SQLite compiles a long VALUES list more slowly than it runs a
// prepared statement again.
func (q queries) insertMany(ctx context.Context, head string, n, cols int, row func(offset int) string, args func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if q.dialect == SQLite {
		if p, ok := q.w.(interface {
			PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
		}); ok {
			stmt, err := p.PrepareContext(ctx, head+row(0))
			if err != nil {
				return mapErr(err)
			}
			defer stmt.Close()
			for i := range n {
				if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
					return mapErr(err)
				}
			}
			return nil
		}
	}
	for start := 0; start < n; start += 1000 {
		end := min(n, start+1000)
		var b strings.Builder
		b.WriteString(head)
		all := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(row(len(all)))
			all = append(all, args(i)...)
		}
		if _, err := q.w.ExecContext(ctx, b.String(), all...); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// placeholders returns "($from+1, ..., $from+n)".
func placeholders(from, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i+1))
	}
	b.WriteByte(')')
	return b.String()
}
