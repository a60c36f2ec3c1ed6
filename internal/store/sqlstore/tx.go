package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements store.Queries. w takes writes, r takes reads; inside a transaction
// both are the transaction.
type queries struct {
	w       execer
	r       execer
	stmts   *stmtCache // prepared hot reads outside transactions; nil inside one
	dialect string
	inTx    bool
}

// stmtCache keeps prepared statements for the reads every bearer request makes, so the
// database does not parse the same SQL thousands of times a second.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query -> *sql.Stmt
}

// readRow runs a single-row read, prepared once when outside a transaction.
func (q queries) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if q.stmts == nil {
		return q.r.QueryRowContext(ctx, query, args...)
	}
	if st, ok := q.stmts.m.Load(query); ok {
		return st.(*sql.Stmt).QueryRowContext(ctx, args...)
	}
	st, err := q.stmts.db.PrepareContext(ctx, query)
	if err != nil {
		return q.r.QueryRowContext(ctx, query, args...) // the error surfaces there
	}
	if prev, loaded := q.stmts.m.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.QueryRowContext(ctx, args...)
}

// InTx runs fn in one transaction on the write pool.
func (db *DB) InTx(ctx context.Context, fn func(q store.Queries) error) (err error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(queries{w: tx, r: tx, dialect: db.dialect, inTx: true}); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}
