package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (q queries) EnqueueMessage(ctx context.Context, m *store.Message) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO outbox (id, channel, recipient, subject, body_text, body_html, created_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		m.ID, m.Channel, m.Recipient, m.Subject, m.BodyText, m.BodyHTML, ts(m.CreatedAt), ts(m.NextAttemptAt))
	if err != nil {
		return fmt.Errorf("sqlstore: enqueue message: %w", mapErr(err))
	}
	return nil
}

// ClaimMessages pushes each due message's next attempt past the lease before returning
// it; a replica that reads the same row loses the conditional update and skips it.
func (q queries) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Message, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT id, channel, recipient, subject, body_text, body_html, created_at, next_attempt_at, attempts, last_error
		FROM outbox WHERE sent_at IS NULL AND NOT dead AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: due messages: %w", err)
	}
	var due []store.Message
	for rows.Next() {
		var m store.Message
		if err := rows.Scan(&m.ID, &m.Channel, &m.Recipient, &m.Subject, &m.BodyText, &m.BodyHTML,
			timeDest{&m.CreatedAt}, timeDest{&m.NextAttemptAt}, &m.Attempts, &m.LastError); err != nil {
			rows.Close()
			return nil, err
		}
		due = append(due, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	claimed := due[:0]
	for _, m := range due {
		until := now.Add(lease)
		err := affected(q.w.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND next_attempt_at = $3 AND sent_at IS NULL`,
			ts(until), m.ID, ts(m.NextAttemptAt)))
		if err == store.ErrNotFound {
			continue // another sender took it
		}
		if err != nil {
			return nil, fmt.Errorf("sqlstore: claim message: %w", err)
		}
		m.NextAttemptAt = until
		claimed = append(claimed, m)
	}
	return claimed, nil
}

// A message's subject and bodies may hold a code or a token: they are erased once the
// message is delivered or given up, so that no secret stays in the table in clear.

func (q queries) MarkMessageSent(ctx context.Context, id string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE outbox SET sent_at = $1, attempts = attempts + 1, subject = '', body_text = '', body_html = '', last_error = ''
		WHERE id = $2`, ts(now), id))
}

func (q queries) MarkMessageFailed(ctx context.Context, id, lastError string, next time.Time, dead bool) error {
	return affected(q.w.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, dead = $3,
		subject = CASE WHEN $3 THEN '' ELSE subject END,
		body_text = CASE WHEN $3 THEN '' ELSE body_text END,
		body_html = CASE WHEN $3 THEN '' ELSE body_html END
		WHERE id = $4`, lastError, ts(next), dead, id))
}

func (q queries) DeferMessage(ctx context.Context, id string, next time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND sent_at IS NULL`, ts(next), id))
}

func (q queries) MessageByID(ctx context.Context, id string) (*store.Message, error) {
	var m store.Message
	err := q.r.QueryRowContext(ctx, `SELECT id, channel, recipient, subject, body_text, body_html, created_at, next_attempt_at, attempts, last_error, sent_at, dead
		FROM outbox WHERE id = $1`, id).Scan(&m.ID, &m.Channel, &m.Recipient, &m.Subject, &m.BodyText, &m.BodyHTML,
		timeDest{&m.CreatedAt}, timeDest{&m.NextAttemptAt}, &m.Attempts, &m.LastError, nullTimeDest{&m.SentAt}, &m.Dead)
	if err != nil {
		return nil, one(err)
	}
	return &m, nil
}

func (q queries) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := q.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND NOT dead`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: outbox depth: %w", err)
	}
	return n, nil
}
