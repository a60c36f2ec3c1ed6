package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const auditColumns = `seq, id, time, action, actor_id, org_id, target_type, target_id, ip, user_agent, request_id, outcome, details, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (*store.AuditEvent, error) {
	var e store.AuditEvent
	err := row.Scan(&e.Seq, &e.ID, timeDest{&e.Time}, &e.Action, &e.ActorID, &e.OrgID, &e.TargetType, &e.TargetID,
		&e.IP, &e.UserAgent, &e.RequestID, &e.Outcome, &e.Details, &e.PrevHash, &e.Hash)
	if err != nil {
		return nil, one(err)
	}
	return &e, nil
}

// AppendAudit takes the chain head's row lock (PostgreSQL) or the write lock (SQLite)
// by advancing it first, so concurrent appends are serialized and the chain never forks.
func (q queries) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	var prev string
	err := q.w.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&e.Seq, &prev)
	if err != nil {
		return fmt.Errorf("sqlstore: audit head: %w", err)
	}
	if e.Details == "" {
		e.Details = "{}"
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond) // what both databases keep
	e.PrevHash = prev
	e.Hash = e.ChainHash(prev)
	if _, err := q.w.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, e.Hash); err != nil {
		return fmt.Errorf("sqlstore: audit head: %w", err)
	}
	_, err = q.w.ExecContext(ctx, `INSERT INTO audit_events (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		e.Seq, e.ID, ts(e.Time), e.Action, e.ActorID, e.OrgID, e.TargetType, e.TargetID, e.IP, e.UserAgent, e.RequestID,
		e.Outcome, e.Details, e.PrevHash, e.Hash)
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
	if f.BeforeSeq > 0 {
		where = append(where, "seq < "+arg(f.BeforeSeq))
	}
	query := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	query += " ORDER BY seq DESC LIMIT " + arg(limit)
	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

func (q queries) ScanAudit(ctx context.Context, fn func(*store.AuditEvent) error) error {
	const page = 1000
	var after int64
	for {
		rows, err := q.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, page)
		if err != nil {
			return fmt.Errorf("sqlstore: scan audit: %w", err)
		}
		n := 0
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return err
			}
			n++
			after = e.Seq
			if err := fn(e); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil || n < page {
			return err
		}
	}
}

func (q queries) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := q.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if err != nil {
		return 0, "", fmt.Errorf("sqlstore: audit head: %w", err)
	}
	return seq, hash, nil
}
