package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (q queries) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, status, public_jwk, private_enc, created_at, activated_at, retired_at, publish_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.KID, k.Alg, k.Status, string(k.PublicJWK), k.PrivateEnc, ts(k.CreatedAt), tsp(k.ActivatedAt), tsp(k.RetiredAt), tsp(k.PublishUntil))
	if err != nil {
		return fmt.Errorf("sqlstore: create signing key: %w", mapErr(err))
	}
	return nil
}

func (q queries) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT kid, alg, status, public_jwk, private_enc, created_at, activated_at, retired_at, publish_until
		FROM signing_keys ORDER BY created_at DESC, kid DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list signing keys: %w", err)
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var k store.SigningKey
		var pub string
		if err := rows.Scan(&k.KID, &k.Alg, &k.Status, &pub, &k.PrivateEnc, timeDest{&k.CreatedAt},
			nullTimeDest{&k.ActivatedAt}, nullTimeDest{&k.RetiredAt}, nullTimeDest{&k.PublishUntil}); err != nil {
			return nil, err
		}
		k.PublicJWK = []byte(pub)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (q queries) UpdateSigningKeyStatus(ctx context.Context, kid, from, to string, now time.Time, publishUntil *time.Time) error {
	var err error
	switch to {
	case store.KeyActive:
		err = affected(q.w.ExecContext(ctx, `UPDATE signing_keys SET status = $1, activated_at = $2 WHERE kid = $3 AND status = $4`,
			to, ts(now), kid, from))
	case store.KeyRetired:
		err = affected(q.w.ExecContext(ctx, `UPDATE signing_keys SET status = $1, retired_at = $2, publish_until = $3 WHERE kid = $4 AND status = $5`,
			to, ts(now), tsp(publishUntil), kid, from))
	default:
		return fmt.Errorf("sqlstore: cannot move a key to status %q", to)
	}
	if err == store.ErrNotFound {
		return store.ErrConflict
	}
	return err
}

func (q queries) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) error {
	_, err := q.w.ExecContext(ctx, `DELETE FROM signing_keys WHERE status = $1 AND publish_until < $2`, store.KeyRetired, ts(now))
	if err != nil {
		return fmt.Errorf("sqlstore: delete expired keys: %w", err)
	}
	return nil
}
