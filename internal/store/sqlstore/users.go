package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const userColumns = `id, email, email_verified, name, mfa_enabled, disabled, is_admin, created_at, updated_at, last_login_at,
	COALESCE(external_id, '')`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.Name, &u.MFAEnabled, &u.Disabled, &u.Admin,
		timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt}, nullTimeDest{&u.LastLoginAt}, &u.ExternalID)
	if err != nil {
		return nil, one(err)
	}
	return &u, nil
}

func (q queries) CreateUser(ctx context.Context, u *store.User) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO users (id, email, email_lower, email_verified, name, mfa_enabled, disabled, is_admin, created_at, updated_at,
		external_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.Email, strings.ToLower(u.Email), u.EmailVerified, u.Name, u.MFAEnabled, u.Disabled, u.Admin, ts(u.CreatedAt), ts(u.UpdatedAt),
		nullString(u.ExternalID))
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
	return q.setPassword(ctx, userID, hash, false, now)
}

func (q queries) SetImportedPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	return q.setPassword(ctx, userID, hash, true, now)
}

func (q queries) setPassword(ctx context.Context, userID, hash string, imported bool, now time.Time) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO credentials (user_id, kind, secret, created_at, updated_at, imported) VALUES ($1, 'password', $2, $3, $3, $4)
		ON CONFLICT (user_id, kind) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at, imported = excluded.imported`,
		userID, hash, ts(now), imported)
	if err != nil {
		return fmt.Errorf("sqlstore: set password: %w", mapErr(err))
	}
	return nil
}

func (q queries) PasswordHashImported(ctx context.Context, userID string) (string, bool, error) {
	var h string
	var imported bool
	err := q.r.QueryRowContext(ctx, `SELECT secret, imported FROM credentials WHERE user_id = $1 AND kind = 'password'`, userID).Scan(&h, &imported)
	return h, imported, one(err)
}

func (q queries) UserByExternalID(ctx context.Context, externalID string) (*store.User, error) {
	return scanUser(q.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE external_id = $1`, externalID))
}

func (q queries) SetUserExternalID(ctx context.Context, id, externalID string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE users SET external_id = $1, updated_at = $2 WHERE id = $3`, nullString(externalID), ts(now), id))
}

func (q queries) ExportUsers(ctx context.Context, before string, limit int) ([]store.ExportedUser, error) {
	query := `SELECT u.id, u.email, u.email_verified, u.name, u.mfa_enabled, u.disabled, u.is_admin, u.created_at, u.updated_at,
		u.last_login_at, COALESCE(u.external_id, ''), COALESCE(c.secret, '')
		FROM users u LEFT JOIN credentials c ON c.user_id = u.id AND c.kind = 'password'`
	args := []any{limit}
	if before != "" {
		query += ` WHERE u.id < $2`
		args = append(args, before)
	}
	rows, err := q.r.QueryContext(ctx, query+` ORDER BY u.id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: export users: %w", err)
	}
	defer rows.Close()
	var out []store.ExportedUser
	for rows.Next() {
		var e store.ExportedUser
		u := &e.User
		if err := rows.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.Name, &u.MFAEnabled, &u.Disabled, &u.Admin,
			timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt}, nullTimeDest{&u.LastLoginAt}, &u.ExternalID, &e.PasswordHash); err != nil {
			return nil, fmt.Errorf("sqlstore: export users: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (q queries) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	err := q.r.QueryRowContext(ctx, `SELECT secret FROM credentials WHERE user_id = $1 AND kind = 'password'`, userID).Scan(&h)
	return h, one(err)
}

func (q queries) ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Query != "" {
		p := arg("%" + likeEscape(strings.ToLower(f.Query)) + "%")
		where = append(where, fmt.Sprintf(`(email_lower LIKE %s ESCAPE '\' OR lower(name) LIKE %s ESCAPE '\')`, p, p))
	}
	for col, v := range map[string]*bool{"disabled": f.Disabled, "email_verified": f.EmailVerified, "mfa_enabled": f.MFAEnabled, "is_admin": f.Admin} {
		if v != nil {
			where = append(where, col+" = "+arg(*v))
		}
	}
	if f.Before != "" {
		where = append(where, "id < "+arg(f.Before))
	}
	query := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ` + arg(f.Limit)
	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list users: %w", err)
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// likeEscape makes s match itself in a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (q queries) SetUserEmail(ctx context.Context, id, email string, verified bool, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE users SET email = $1, email_lower = $2, email_verified = $3, updated_at = $4 WHERE id = $5`,
		email, strings.ToLower(email), verified, ts(now), id))
}

func (q queries) EraseUser(ctx context.Context, id string, addresses []string, name string, now time.Time) error {
	// The audit rows first: their details are matched against the addresses as JSON
	// strings hold them.
	match := []string{"actor_id = $2", "target_id = $2"}
	args := []any{ts(now), id}
	var lowered []string
	for _, a := range addresses {
		if a == "" {
			continue
		}
		a = strings.ToLower(a)
		lowered = append(lowered, a)
		quoted, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("sqlstore: erase user: %w", err)
		}
		args = append(args, "%"+likeEscape(string(quoted[1:len(quoted)-1]))+"%")
		match = append(match, fmt.Sprintf(`lower(details) LIKE $%d ESCAPE '\'`, len(args)))
	}
	if _, err := q.w.ExecContext(ctx, `UPDATE audit_events SET ip = '', user_agent = '', details = '{}', erased_at = $1
		WHERE erased_at IS NULL AND (`+strings.Join(match, " OR ")+`)`, args...); err != nil {
		return fmt.Errorf("sqlstore: erase user's audit fields: %w", err)
	}
	for _, a := range lowered {
		for _, del := range []string{
			`DELETE FROM outbox WHERE lower(recipient) = $1`,
			`DELETE FROM org_invitations WHERE lower(email) = $1`,
			`DELETE FROM oauth_auth_requests WHERE lower(login_hint) = $1`,
		} {
			if _, err := q.w.ExecContext(ctx, del, a); err != nil {
				return fmt.Errorf("sqlstore: erase user: %w", err)
			}
		}
	}
	mentions := lowered
	if n := strings.ToLower(strings.TrimSpace(name)); utf8.RuneCountInString(n) >= 5 {
		mentions = append(slices.Clone(lowered), n)
	}
	for _, m := range mentions {
		p := "%" + likeEscape(m) + "%"
		if _, err := q.w.ExecContext(ctx, `DELETE FROM outbox WHERE sent_at IS NULL AND (lower(subject) LIKE $1 ESCAPE '\'
			OR lower(body_text) LIKE $1 ESCAPE '\' OR lower(body_html) LIKE $1 ESCAPE '\')`, p); err != nil {
			return fmt.Errorf("sqlstore: erase user: %w", err)
		}
	}
	// Rows that name the user without a foreign key (short-lived ones); the rest go with
	// the user by ON DELETE CASCADE.
	for _, del := range []string{
		`DELETE FROM oauth_auth_requests WHERE user_id = $1`,
		`DELETE FROM webauthn_ceremonies WHERE user_id = $1`,
	} {
		if _, err := q.w.ExecContext(ctx, del, id); err != nil {
			return fmt.Errorf("sqlstore: erase user: %w", err)
		}
	}
	return affected(q.w.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id))
}

func (q queries) LockAdmins(ctx context.Context) ([]string, error) {
	query := `SELECT id FROM users WHERE is_admin AND NOT disabled ORDER BY id`
	if q.dialect == Postgres {
		query += ` FOR UPDATE` // SQLite's write transactions hold the whole database already
	}
	rows, err := q.w.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock admins: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: lock admins: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (q queries) ImportCandidates(ctx context.Context, ids, externalIDs, emails []string) ([]store.ImportCandidate, error) {
	// One SELECT per key, joined by UNION: each is an index lookup, where one SELECT with
	// the three IN lists joined by OR may be planned as a scan of the whole table.
	var arms []string
	var args []any
	in := func(col string, vals []string, lower bool) {
		if len(vals) == 0 {
			return
		}
		ph := make([]string, len(vals))
		for i, v := range vals {
			if lower {
				v = strings.ToLower(v)
			}
			args = append(args, v)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		arms = append(arms, `SELECT u.id, u.email, u.email_verified, u.name, u.mfa_enabled, u.disabled, u.is_admin, u.created_at,
		u.updated_at, u.last_login_at, COALESCE(u.external_id, ''), COALESCE(c.secret, ''), COALESCE(c.imported, FALSE)
		FROM users u LEFT JOIN credentials c ON c.user_id = u.id AND c.kind = 'password' WHERE `+col+` IN (`+strings.Join(ph, ", ")+`)`)
	}
	in("u.id", ids, false)
	in("u.external_id", externalIDs, false)
	in("u.email_lower", emails, true)
	if len(arms) == 0 {
		return nil, nil
	}
	rows, err := q.w.QueryContext(ctx, strings.Join(arms, " UNION "), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: import candidates: %w", err)
	}
	defer rows.Close()
	var out []store.ImportCandidate
	for rows.Next() {
		var c store.ImportCandidate
		u := &c.User
		if err := rows.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.Name, &u.MFAEnabled, &u.Disabled, &u.Admin, timeDest{&u.CreatedAt},
			timeDest{&u.UpdatedAt}, nullTimeDest{&u.LastLoginAt}, &u.ExternalID, &c.PasswordHash, &c.PasswordImported); err != nil {
			return nil, fmt.Errorf("sqlstore: import candidates: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (q queries) CreateUsers(ctx context.Context, users []store.User) error {
	err := q.insertMany(ctx, `INSERT INTO users (id, email, email_lower, email_verified, name, mfa_enabled, disabled, is_admin,
		created_at, updated_at, external_id) VALUES `, len(users), 11,
		func(offset int) string { return placeholders(offset, 11) },
		func(i int) []any {
			u := &users[i]
			return []any{u.ID, u.Email, strings.ToLower(u.Email), u.EmailVerified, u.Name, u.MFAEnabled, u.Disabled, u.Admin,
				ts(u.CreatedAt), ts(u.UpdatedAt), nullString(u.ExternalID)}
		})
	if err != nil {
		return fmt.Errorf("sqlstore: create users: %w", err)
	}
	return nil
}

func (q queries) SetImportedPasswordHashes(ctx context.Context, hashes map[string]string, now time.Time) error {
	ids := slices.Sorted(maps.Keys(hashes))
	err := q.insertMany(ctx, `INSERT INTO credentials (user_id, secret, created_at, kind, updated_at, imported) VALUES `, len(ids), 3,
		func(p int) string { return fmt.Sprintf("($%d, $%d, $%d, 'password', $%d, TRUE)", p+1, p+2, p+3, p+3) },
		func(i int) []any { return []any{ids[i], hashes[ids[i]], ts(now)} })
	if err != nil {
		return fmt.Errorf("sqlstore: set imported passwords: %w", err)
	}
	return nil
}
