package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const userColumns = `id, email, email_verified, name, mfa_enabled, disabled, is_admin, created_at, updated_at, last_login_at`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.Name, &u.MFAEnabled, &u.Disabled, &u.Admin,
		timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt}, nullTimeDest{&u.LastLoginAt})
	if err != nil {
		return nil, one(err)
	}
	return &u, nil
}

func (q queries) CreateUser(ctx context.Context, u *store.User) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO users (id, email, email_lower, email_verified, name, mfa_enabled, disabled, is_admin, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, u.Email, strings.ToLower(u.Email), u.EmailVerified, u.Name, u.MFAEnabled, u.Disabled, u.Admin, ts(u.CreatedAt), ts(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create user: %w", mapErr(err))
	}
	return nil
}

func (q queries) UserByID(ctx context.Context, id string) (*store.User, error) {
	return scanUser(q.readRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

func (q queries) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	return scanUser(q.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_lower = $1`, strings.ToLower(email)))
}

func (q queries) UpdateUserName(ctx context.Context, id, name string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE users SET name = $1, updated_at = $2 WHERE id = $3`, name, ts(now), id))
}

func (q queries) SetEmailVerified(ctx context.Context, id string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE users SET email_verified = TRUE, updated_at = $1 WHERE id = $2`, ts(now), id))
}

func (q queries) SetLastLogin(ctx context.Context, id string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, ts(now), id))
}

func (q queries) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3`, disabled, ts(now), id))
}

func (q queries) CountAdmins(ctx context.Context) (int, error) {
	var n int
	if err := q.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE is_admin AND NOT disabled`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count admins: %w", err)
	}
	return n, nil
}

func (q queries) SetUserAdmin(ctx context.Context, id string, admin bool, now time.Time) error {
	err := affected(q.w.ExecContext(ctx, `UPDATE users SET is_admin = $1, updated_at = $2 WHERE id = $3 AND is_admin <> $1`,
		admin, ts(now), id))
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Nothing changed: the user is unknown, or already has the flag.
	if _, err := q.UserByID(ctx, id); err != nil {
		return err
	}
	return store.ErrConflict
}

func (q queries) SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO credentials (user_id, kind, secret, created_at, updated_at) VALUES ($1, 'password', $2, $3, $3)
		ON CONFLICT (user_id, kind) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at`, userID, hash, ts(now))
	if err != nil {
		return fmt.Errorf("sqlstore: set password: %w", mapErr(err))
	}
	return nil
}

func (q queries) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	err := q.r.QueryRowContext(ctx, `SELECT secret FROM credentials WHERE user_id = $1 AND kind = 'password'`, userID).Scan(&h)
	return h, one(err)
}
