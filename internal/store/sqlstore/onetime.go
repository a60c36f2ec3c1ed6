package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (q queries) CreateOneTimeToken(ctx context.Context, t *store.OneTimeToken) error {
	// A newer token voids the older ones of its kind: they count as used.
	if _, err := q.w.ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $1 WHERE user_id = $2 AND kind = $3 AND used_at IS NULL`,
		ts(t.CreatedAt), t.UserID, t.Kind); err != nil {
		return fmt.Errorf("sqlstore: void old tokens: %w", err)
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO one_time_tokens (hash, kind, user_id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.Hash, t.Kind, t.UserID, t.Email, ts(t.CreatedAt), ts(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create one-time token: %w", mapErr(err))
	}
	return nil
}

func (q queries) ConsumeOneTimeToken(ctx context.Context, hash, kind string, now time.Time) (*store.OneTimeToken, error) {
	var t store.OneTimeToken
	err := q.w.QueryRowContext(ctx, `UPDATE one_time_tokens SET used_at = $1
		WHERE hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1
		RETURNING hash, kind, user_id, email, created_at, expires_at, used_at`, ts(now), hash, kind).
		Scan(&t.Hash, &t.Kind, &t.UserID, &t.Email, timeDest{&t.CreatedAt}, timeDest{&t.ExpiresAt}, nullTimeDest{&t.UsedAt})
	if err != nil {
		return nil, one(err)
	}
	return &t, nil
}

func (q queries) PeekOneTimeToken(ctx context.Context, hash, kind string, now time.Time) (*store.OneTimeToken, error) {
	var t store.OneTimeToken
	err := q.r.QueryRowContext(ctx, `SELECT hash, kind, user_id, email, created_at, expires_at, used_at FROM one_time_tokens
		WHERE hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3`, hash, kind, ts(now)).
		Scan(&t.Hash, &t.Kind, &t.UserID, &t.Email, timeDest{&t.CreatedAt}, timeDest{&t.ExpiresAt}, nullTimeDest{&t.UsedAt})
	if err != nil {
		return nil, one(err)
	}
	return &t, nil
}

func (q queries) VoidOneTimeTokens(ctx context.Context, userID string, now time.Time) (int, error) {
	res, err := q.w.ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`, ts(now), userID)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: void one-time tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
