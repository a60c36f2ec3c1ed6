package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (q queries) SetMFAEnabled(ctx context.Context, userID string, enabled bool, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE users SET mfa_enabled = $1, updated_at = $2 WHERE id = $3`, enabled, ts(now), userID))
}

func (q queries) PutTOTP(ctx context.Context, t *store.TOTP) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO mfa_totp (user_id, secret_enc, confirmed, last_used_step, created_at) VALUES ($1, $2, FALSE, 0, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, confirmed = FALSE, last_used_step = 0,
		created_at = excluded.created_at, confirmed_at = NULL`, t.UserID, t.SecretEnc, ts(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put totp: %w", mapErr(err))
	}
	return nil
}

func (q queries) TOTPByUser(ctx context.Context, userID string) (*store.TOTP, error) {
	var t store.TOTP
	err := q.r.QueryRowContext(ctx, `SELECT user_id, secret_enc, confirmed, last_used_step, created_at, confirmed_at FROM mfa_totp WHERE user_id = $1`, userID).
		Scan(&t.UserID, &t.SecretEnc, &t.Confirmed, &t.LastUsedStep, timeDest{&t.CreatedAt}, nullTimeDest{&t.ConfirmedAt})
	if err != nil {
		return nil, one(err)
	}
	return &t, nil
}

func (q queries) ConfirmTOTP(ctx context.Context, userID string, step int64, now time.Time) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE mfa_totp SET confirmed = TRUE, confirmed_at = $1, last_used_step = $2
		WHERE user_id = $3 AND NOT confirmed AND last_used_step < $2`, ts(now), step, userID))
}

func (q queries) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE mfa_totp SET last_used_step = $1 WHERE user_id = $2 AND confirmed AND last_used_step < $1`,
		step, userID))
}

func (q queries) DeleteTOTP(ctx context.Context, userID string) error {
	return affected(q.w.ExecContext(ctx, `DELETE FROM mfa_totp WHERE user_id = $1`, userID))
}

func (q queries) ReplaceBackupCodes(ctx context.Context, userID string, hashes []string, now time.Time) error {
	if _, err := q.w.ExecContext(ctx, `DELETE FROM mfa_backup_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("sqlstore: backup codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := q.w.ExecContext(ctx, `INSERT INTO mfa_backup_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`,
			userID, h, ts(now)); err != nil {
			return fmt.Errorf("sqlstore: backup codes: %w", mapErr(err))
		}
	}
	return nil
}

func (q queries) UseBackupCode(ctx context.Context, userID, hash string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE mfa_backup_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
		ts(now), userID, hash))
}

func (q queries) CountBackupCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := q.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}

func (q queries) PutChannel(ctx context.Context, c *store.MFAChannel) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO mfa_channels (user_id, channel, address, confirmed, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, channel) DO UPDATE SET address = excluded.address, confirmed = excluded.confirmed, created_at = excluded.created_at`,
		c.UserID, c.Channel, c.Address, c.Confirmed, ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put channel: %w", mapErr(err))
	}
	return nil
}

func (q queries) Channels(ctx context.Context, userID string) ([]store.MFAChannel, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT user_id, channel, address, confirmed, created_at FROM mfa_channels WHERE user_id = $1 ORDER BY channel`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: channels: %w", err)
	}
	defer rows.Close()
	var out []store.MFAChannel
	for rows.Next() {
		var c store.MFAChannel
		if err := rows.Scan(&c.UserID, &c.Channel, &c.Address, &c.Confirmed, timeDest{&c.CreatedAt}); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (q queries) ConfirmChannel(ctx context.Context, userID, channel string) error {
	return affected(q.w.ExecContext(ctx, `UPDATE mfa_channels SET confirmed = TRUE WHERE user_id = $1 AND channel = $2`, userID, channel))
}

func (q queries) CreateCode(ctx context.Context, c *store.MFACode) error {
	if _, err := q.w.ExecContext(ctx, `UPDATE mfa_codes SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND channel = $4 AND bound_to = $5
		AND used_at IS NULL`, ts(c.CreatedAt), c.UserID, c.Purpose, c.Channel, c.BoundTo); err != nil {
		return fmt.Errorf("sqlstore: void codes: %w", err)
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO mfa_codes (id, user_id, purpose, channel, bound_to, address, code_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.ID, c.UserID, c.Purpose, c.Channel, c.BoundTo, c.Address, c.CodeHash, ts(c.CreatedAt), ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create code: %w", mapErr(err))
	}
	return nil
}

func (q queries) LatestCode(ctx context.Context, userID, purpose, channel, boundTo string, now time.Time) (*store.MFACode, error) {
	var c store.MFACode
	err := q.r.QueryRowContext(ctx, `SELECT id, user_id, purpose, channel, bound_to, address, code_hash, attempts, created_at, expires_at FROM mfa_codes
		WHERE user_id = $1 AND purpose = $2 AND channel = $3 AND bound_to = $4 AND used_at IS NULL AND expires_at > $5
		ORDER BY created_at DESC LIMIT 1`, userID, purpose, channel, boundTo, ts(now)).
		Scan(&c.ID, &c.UserID, &c.Purpose, &c.Channel, &c.BoundTo, &c.Address, &c.CodeHash, &c.Attempts, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt})
	if err != nil {
		return nil, one(err)
	}
	return &c, nil
}

func (q queries) FailCode(ctx context.Context, id string, max int, now time.Time) error {
	_, err := q.w.ExecContext(ctx, `UPDATE mfa_codes SET attempts = attempts + 1,
		used_at = CASE WHEN attempts + 1 >= $1 THEN $2 ELSE used_at END WHERE id = $3`, max, ts(now), id)
	return err
}

func (q queries) UseCode(ctx context.Context, id string, now time.Time) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE mfa_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, ts(now), id))
}

const challengeColumns = `id, token_hash, user_id, org_id, amr, ip, user_agent, failures, created_at, expires_at, used_at`

func (q queries) CreateChallenge(ctx context.Context, c *store.MFAChallenge) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO mfa_challenges (`+challengeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, NULL)`,
		c.ID, c.TokenHash, c.UserID, c.OrgID, listValue(c.AMR), c.IP, c.UserAgent, ts(c.CreatedAt), ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create challenge: %w", mapErr(err))
	}
	return nil
}

func (q queries) ChallengeByHash(ctx context.Context, hash string) (*store.MFAChallenge, error) {
	var c store.MFAChallenge
	var amr string
	err := q.r.QueryRowContext(ctx, `SELECT `+challengeColumns+` FROM mfa_challenges WHERE token_hash = $1`, hash).
		Scan(&c.ID, &c.TokenHash, &c.UserID, &c.OrgID, &amr, &c.IP, &c.UserAgent, &c.Failures, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt}, nullTimeDest{&c.UsedAt})
	if err != nil {
		return nil, one(err)
	}
	c.AMR = splitList(amr)
	return &c, nil
}

func (q queries) CountChallengeAttempt(ctx context.Context, id string, max int, now time.Time) (int, error) {
	var n int
	err := q.w.QueryRowContext(ctx, `UPDATE mfa_challenges SET failures = failures + 1
		WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3 RETURNING failures`, id, ts(now), max).Scan(&n)
	return n, one(err)
}

func (q queries) UseChallenge(ctx context.Context, id string, now time.Time) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE mfa_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, ts(now), id))
}

func (q queries) EndChallenges(ctx context.Context, userID string, now time.Time) error {
	if _, err := q.w.ExecContext(ctx, `UPDATE mfa_challenges SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`, ts(now), userID); err != nil {
		return fmt.Errorf("sqlstore: end challenges: %w", err)
	}
	return nil
}

func (q queries) AddWebAuthnCredential(ctx context.Context, c *store.WebAuthnCredential) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO webauthn_credentials (id, user_id, credential_id, name, data, sign_count, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.UserID, c.CredentialID, c.Name, string(c.Data), int64(c.SignCount), ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: add credential: %w", mapErr(err))
	}
	return nil
}

const credColumns = `id, user_id, credential_id, name, data, sign_count, created_at, last_used_at`

func scanCred(row interface{ Scan(...any) error }) (*store.WebAuthnCredential, error) {
	var c store.WebAuthnCredential
	var data string
	var count int64
	if err := row.Scan(&c.ID, &c.UserID, &c.CredentialID, &c.Name, &data, &count, timeDest{&c.CreatedAt}, nullTimeDest{&c.LastUsedAt}); err != nil {
		return nil, one(err)
	}
	c.Data, c.SignCount = []byte(data), uint32(count)
	return &c, nil
}

func (q queries) WebAuthnCredentials(ctx context.Context, userID string) ([]store.WebAuthnCredential, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+credColumns+` FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: credentials: %w", err)
	}
	defer rows.Close()
	var out []store.WebAuthnCredential
	for rows.Next() {
		c, err := scanCred(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (q queries) WebAuthnCredentialByCredID(ctx context.Context, credentialID string) (*store.WebAuthnCredential, error) {
	return scanCred(q.r.QueryRowContext(ctx, `SELECT `+credColumns+` FROM webauthn_credentials WHERE credential_id = $1`, credentialID))
}

func (q queries) UpdateWebAuthnCredential(ctx context.Context, id string, oldCount, newCount uint32, data []byte, now time.Time) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE webauthn_credentials SET sign_count = $1, data = $2, last_used_at = $3
		WHERE id = $4 AND sign_count = $5`, int64(newCount), string(data), ts(now), id, int64(oldCount)))
}

func (q queries) DeleteWebAuthnCredential(ctx context.Context, userID, id string) error {
	return affected(q.w.ExecContext(ctx, `DELETE FROM webauthn_credentials WHERE user_id = $1 AND id = $2`, userID, id))
}

func (q queries) CreateCeremony(ctx context.Context, c *store.WebAuthnCeremony) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO webauthn_ceremonies (id, kind, user_id, challenge_id, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.Kind, c.UserID, c.ChallengeID, string(c.Data), ts(c.CreatedAt), ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create ceremony: %w", mapErr(err))
	}
	return nil
}

func (q queries) TakeCeremony(ctx context.Context, id, kind string, now time.Time) (*store.WebAuthnCeremony, error) {
	var c store.WebAuthnCeremony
	var data string
	err := q.w.QueryRowContext(ctx, `DELETE FROM webauthn_ceremonies WHERE id = $1 AND kind = $2 AND expires_at > $3
		RETURNING id, kind, user_id, challenge_id, data, created_at, expires_at`, id, kind, ts(now)).
		Scan(&c.ID, &c.Kind, &c.UserID, &c.ChallengeID, &data, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt})
	if err != nil {
		return nil, one(err)
	}
	c.Data = []byte(data)
	return &c, nil
}

func (q queries) DeleteFactors(ctx context.Context, userID string) error {
	for _, stmt := range []string{`DELETE FROM mfa_totp WHERE user_id = $1`, `DELETE FROM mfa_backup_codes WHERE user_id = $1`,
		`DELETE FROM mfa_channels WHERE user_id = $1`, `DELETE FROM webauthn_credentials WHERE user_id = $1`,
		`UPDATE mfa_challenges SET used_at = created_at WHERE user_id = $1 AND used_at IS NULL`} {
		if _, err := q.w.ExecContext(ctx, stmt, userID); err != nil {
			return fmt.Errorf("sqlstore: delete factors: %w", err)
		}
	}
	return nil
}

// conflictIfNone maps "no row changed" of a conditional update to ErrConflict.
func conflictIfNone(res interface{ RowsAffected() (int64, error) }, err error) error {
	err = affected(res, err)
	if errors.Is(err, store.ErrNotFound) {
		return store.ErrConflict
	}
	return err
}
