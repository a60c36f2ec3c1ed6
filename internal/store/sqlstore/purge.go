package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// purgeQueries delete one bounded batch of each kind: a subquery picks at most $2 keys,
// so a large backlog is removed in short transactions that hold few locks.
var purgeQueries = map[store.Expired]string{
	store.ExpiredCeremonies:    `DELETE FROM webauthn_ceremonies WHERE id IN (SELECT id FROM webauthn_ceremonies WHERE expires_at < $1 LIMIT $2)`,
	store.ExpiredChallenges:    `DELETE FROM mfa_challenges WHERE id IN (SELECT id FROM mfa_challenges WHERE expires_at < $1 LIMIT $2)`,
	store.ExpiredCodes:         `DELETE FROM mfa_codes WHERE id IN (SELECT id FROM mfa_codes WHERE expires_at < $1 LIMIT $2)`,
	store.ExpiredOneTimeTokens: `DELETE FROM one_time_tokens WHERE hash IN (SELECT hash FROM one_time_tokens WHERE expires_at < $1 LIMIT $2)`,
	store.EndedSessions: `DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
		WHERE (revoked_at IS NOT NULL AND revoked_at < $1) OR expires_at < $1 LIMIT $2)`,
	store.ExpiredAuthRequests: `DELETE FROM oauth_auth_requests WHERE id IN (SELECT id FROM oauth_auth_requests WHERE expires_at < $1 LIMIT $2)`,
}

func (q queries) PurgeExpired(ctx context.Context, kind store.Expired, cutoff time.Time, limit int) (int, error) {
	query, ok := purgeQueries[kind]
	if !ok {
		return 0, fmt.Errorf("sqlstore: purge: unknown kind %q", kind)
	}
	res, err := q.w.ExecContext(ctx, query, ts(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
