package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
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
