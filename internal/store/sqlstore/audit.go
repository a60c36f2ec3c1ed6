package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const auditColumns = `pos, id, time, action, actor_id, org_id, target_type, target_id, ip, user_agent, request_id, outcome,
	details, personal_mac, mac, erased_at, seq, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (*store.AuditEvent, error) {
	var e store.AuditEvent
	var seq sql.NullInt64
	err := row.Scan(&e.Pos, &e.ID, timeDest{&e.Time}, &e.Action, &e.ActorID, &e.OrgID, &e.TargetType, &e.TargetID,
		&e.IP, &e.UserAgent, &e.RequestID, &e.Outcome, &e.Details, &e.PersonalMAC, &e.MAC, nullTimeDest{&e.ErasedAt},
		&seq, &e.PrevHash, &e.Hash)
	if err != nil {
		return nil, one(err)
	}
	e.Seq = seq.Int64
	return &e, nil
}

func (q queries) AppendAudits(ctx context.Context, events []*store.AuditEvent) error {
	for _, e := range events {
		if e.Details == "" {
			e.Details = "{}"
		}
		e.Time = e.Time.UTC().Truncate(time.Microsecond)
	}
	err := q.insertMany(ctx, `INSERT INTO audit_events (id, time, action, actor_id, org_id, target_type, target_id, ip,
		user_agent, request_id, outcome, details, personal_mac, mac) VALUES `, len(events), 14,
		func(offset int) string { return placeholders(offset, 14) },
		func(i int) []any {
			e := events[i]
			return []any{e.ID, ts(e.Time), e.Action, e.ActorID, e.OrgID, e.TargetType, e.TargetID, e.IP, e.UserAgent,
				e.RequestID, e.Outcome, e.Details, e.PersonalMAC, e.MAC}
		})
	if err != nil {
		return fmt.Errorf("sqlstore: append audit: %w", err)
	}
	return nil
}

// AppendAudit inserts the event unchained: no shared row is touched, so audited writes
// of concurrent transactions do not wait on each other.
func (q queries) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	if e.Details == "" {
		e.Details = "{}"
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond) // what both databases keep
	err := q.w.QueryRowContext(ctx, `INSERT INTO audit_events (id, time, action, actor_id, org_id, target_type, target_id, ip,
		user_agent, request_id, outcome, details, personal_mac, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		RETURNING pos`,
		e.ID, ts(e.Time), e.Action, e.ActorID, e.OrgID, e.TargetType, e.TargetID, e.IP, e.UserAgent, e.RequestID,
		e.Outcome, e.Details, e.PersonalMAC, e.MAC).Scan(&e.Pos)
	if err != nil {
		return fmt.Errorf("sqlstore: append audit: %w", mapErr(err))
	}
	return nil
}

func (q queries) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.SubjectID != "" {
		p := arg(f.SubjectID)
		where = append(where, "(actor_id = "+p+" OR (target_type = 'user' AND target_id = "+p+"))")
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = "+arg(f.ActorID))
	}
	if f.TargetID != "" {
		where = append(where, "target_id = "+arg(f.TargetID))
	}
	if f.OrgID != "" {
		where = append(where, "org_id = "+arg(f.OrgID))
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if f.Since != nil {
		where = append(where, "time >= "+arg(ts(*f.Since)))
	}
	if f.Until != nil {
		where = append(where, "time < "+arg(ts(*f.Until)))
	}
	if f.BeforePos > 0 {
		where = append(where, "pos < "+arg(f.BeforePos))
	}
	if f.AfterPos > 0 {
		where = append(where, "pos > "+arg(f.AfterPos))
	}
	query := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	order := " ORDER BY pos DESC LIMIT "
	if f.Ascending {
		order = " ORDER BY pos LIMIT "
	}
	query += order + arg(limit)
	return q.auditRows(ctx, "list audit", query, args...)
}

func (q queries) auditRows(ctx context.Context, op, query string, args ...any) ([]store.AuditEvent, error) {
	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return out, nil
}

// scanPages calls fn for every row of query (which takes the last key seen and a limit,
// and orders by that key), a page at a time, so that a long log is never held in memory.
func (q queries) scanPages(ctx context.Context, op, query string, key func(*store.AuditEvent) int64, fn func(*store.AuditEvent) error) error {
	const page = 1000
	var after int64
	for {
		events, err := q.auditRows(ctx, op, query, after, page)
		if err != nil {
			return err
		}
		for i := range events {
			after = key(&events[i])
			if err := fn(&events[i]); err != nil {
				return err
			}
		}
		if len(events) < page {
			return nil
		}
	}
}

func (q queries) ScanAudit(ctx context.Context, fn func(*store.AuditEvent) error) error {
	return q.scanPages(ctx, "scan audit", `SELECT `+auditColumns+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
		func(e *store.AuditEvent) int64 { return e.Seq }, fn)
}

func (q queries) ScanUnchainedAudit(ctx context.Context, fn func(*store.AuditEvent) error) error {
	return q.scanPages(ctx, "scan unchained audit", `SELECT `+auditColumns+` FROM audit_events WHERE seq IS NULL AND pos > $1 ORDER BY pos LIMIT $2`,
		func(e *store.AuditEvent) int64 { return e.Pos }, fn)
}

// auditChainLock is the PostgreSQL advisory lock key of the chainer (any fixed number
// no other part of the service uses).
const auditChainLock = 0x6761746561756469 // "gateaudi"

// LockAuditChain takes a transaction-scoped advisory lock on PostgreSQL, so that one
// replica at a time extends the chain; on SQLite the write transaction already holds
// the database's one write lock.
func (q queries) LockAuditChain(ctx context.Context) (bool, error) {
	if !q.inTx {
		return false, errors.New("sqlstore: LockAuditChain outside a transaction")
	}
	if q.dialect != Postgres {
		return true, nil
	}
	var ok bool
	if err := q.w.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(auditChainLock)).Scan(&ok); err != nil {
		return false, fmt.Errorf("sqlstore: lock audit chain: %w", err)
	}
	return ok, nil
}

func (q queries) AuditChainHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := q.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("sqlstore: audit chain head: %w", err)
	}
	return seq, hash, nil
}

func (q queries) UnchainedAudit(ctx context.Context, afterPos int64, limit int) ([]store.AuditEvent, error) {
	return q.auditRows(ctx, "unchained audit", `SELECT `+auditColumns+` FROM audit_events WHERE seq IS NULL AND pos > $1 ORDER BY pos LIMIT $2`,
		afterPos, limit)
}

func (q queries) SealAudit(ctx context.Context, e *store.AuditEvent) error {
	var seq any
	if e.Seq > 0 {
		seq = e.Seq
	}
	err := affected(q.w.ExecContext(ctx, `UPDATE audit_events SET personal_mac = $1, mac = $2, seq = $3, prev_hash = $4, hash = $5
		WHERE pos = $6`, e.PersonalMAC, e.MAC, seq, e.PrevHash, e.Hash, e.Pos))
	if err != nil {
		return fmt.Errorf("sqlstore: seal audit: %w", err)
	}
	return nil
}
