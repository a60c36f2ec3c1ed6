package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const sessionColumns = `id, user_id, org_id, amr, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at, revoke_reason,
	kind, client_id, scopes, parent_id, auth_time`

func scanSession(row interface{ Scan(...any) error }) (*store.Session, error) {
	var s store.Session
	var amr, scopes string
	var authTime *time.Time
	err := row.Scan(&s.ID, &s.UserID, &s.OrgID, &amr, &s.IP, &s.UserAgent, timeDest{&s.CreatedAt},
		timeDest{&s.LastSeenAt}, timeDest{&s.ExpiresAt}, nullTimeDest{&s.RevokedAt}, &s.RevokeReason,
		&s.Kind, &s.ClientID, &scopes, &s.ParentID, nullTimeDest{&authTime})
	if err != nil {
		return nil, one(err)
	}
	s.AMR = splitList(amr)
	s.Scopes = strings.Fields(scopes)
	s.AuthTime = s.CreatedAt
	if authTime != nil {
		s.AuthTime = *authTime
	}
	return &s, nil
}

func (q queries) CreateSession(ctx context.Context, s *store.Session) error {
	kind := s.Kind
	if kind == "" {
		kind = store.SessionAPI
	}
	var authTime *time.Time
	if !s.AuthTime.IsZero() {
		authTime = &s.AuthTime
	}
	var cookieHash *string // NULL unless a browser session: the unique index skips NULLs
	if s.CookieHash != "" {
		cookieHash = &s.CookieHash
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO sessions (id, user_id, org_id, amr, ip, user_agent, created_at, last_seen_at, expires_at,
		kind, client_id, scopes, parent_id, auth_time, cookie_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		s.ID, s.UserID, s.OrgID, listValue(s.AMR), s.IP, s.UserAgent, ts(s.CreatedAt), ts(s.LastSeenAt), ts(s.ExpiresAt),
		kind, s.ClientID, strings.Join(s.Scopes, " "), s.ParentID, tsp(authTime), cookieHash)
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", mapErr(err))
	}
	return nil
}

func (q queries) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	return scanSession(q.readRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
}

func (q queries) ListSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND kind <> 'oauth' ORDER BY created_at DESC, id DESC`, userID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list sessions: %w", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

func (q queries) SetSessionOrg(ctx context.Context, id, orgID string, expiresAt time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE sessions SET org_id = $1, expires_at = $2 WHERE id = $3`, orgID, ts(expiresAt), id))
}

func (q queries) TouchSession(ctx context.Context, id string, now time.Time) error {
	_, err := q.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`, ts(now), id)
	if err != nil {
		return fmt.Errorf("sqlstore: touch session: %w", err)
	}
	return nil
}

func (q queries) RevokeSession(ctx context.Context, id, reason string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL`,
		ts(now), reason, id))
}

func (q queries) RevokeUserSessions(ctx context.Context, userID, exceptID, reason string, now time.Time) ([]string, error) {
	rows, err := q.w.QueryContext(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2
		WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL RETURNING id`, ts(now), reason, userID, exceptID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: revoke sessions: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (q queries) CreateRefreshToken(ctx context.Context, t *store.RefreshToken) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)`,
		t.Hash, t.SessionID, ts(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create refresh token: %w", mapErr(err))
	}
	return nil
}

func (q queries) RefreshTokenByHash(ctx context.Context, hash string) (*store.RefreshToken, error) {
	var t store.RefreshToken
	err := q.r.QueryRowContext(ctx, `SELECT hash, session_id, created_at, used_at FROM refresh_tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.SessionID, timeDest{&t.CreatedAt}, nullTimeDest{&t.UsedAt})
	if err != nil {
		return nil, one(err)
	}
	return &t, nil
}

func (q queries) UseRefreshToken(ctx context.Context, hash string, now time.Time) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL`, ts(now), hash))
}
