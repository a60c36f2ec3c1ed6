package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// jsonList stores a list of strings (URIs may hold commas) as a JSON array.
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func parseJSONList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("sqlstore: bad list column: %w", err)
	}
	return l, nil
}

const clientColumns = `client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types,
	token_endpoint_auth_method, scopes, first_party, access_token_ttl_seconds, created_at, updated_at`

func scanClient(row interface{ Scan(...any) error }) (*store.Client, error) {
	var c store.Client
	var redirects, postLogout, grants, scopes string
	var ttl int64
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &postLogout, &grants, &c.AuthMethod, &scopes,
		&c.FirstParty, &ttl, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt})
	if err != nil {
		return nil, one(err)
	}
	c.AccessTokenTTL = time.Duration(ttl) * time.Second
	for _, f := range []struct {
		dst *[]string
		src string
	}{{&c.RedirectURIs, redirects}, {&c.PostLogoutRedirectURIs, postLogout}, {&c.GrantTypes, grants}, {&c.Scopes, scopes}} {
		if *f.dst, err = parseJSONList(f.src); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func (q queries) CreateClient(ctx context.Context, c *store.Client) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO oauth_clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.ID, c.Name, c.SecretHash, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs), jsonList(c.GrantTypes),
		c.AuthMethod, jsonList(c.Scopes), c.FirstParty, int64(c.AccessTokenTTL/time.Second), ts(c.CreatedAt), ts(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create client: %w", mapErr(err))
	}
	return nil
}

func (q queries) ClientByID(ctx context.Context, id string) (*store.Client, error) {
	return scanClient(q.readRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE client_id = $1`, id))
}

func (q queries) ListClients(ctx context.Context, after string, limit int) ([]store.Client, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE client_id > $1 ORDER BY client_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list clients: %w", err)
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (q queries) UpdateClient(ctx context.Context, c *store.Client) error {
	return affected(q.w.ExecContext(ctx, `UPDATE oauth_clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3,
		grant_types = $4, token_endpoint_auth_method = $5, scopes = $6, first_party = $7, access_token_ttl_seconds = $8, updated_at = $9
		WHERE client_id = $10`,
		c.Name, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs), jsonList(c.GrantTypes), c.AuthMethod,
		jsonList(c.Scopes), c.FirstParty, int64(c.AccessTokenTTL/time.Second), ts(c.UpdatedAt), c.ID))
}

func (q queries) SetClientSecret(ctx context.Context, id, secretHash string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE oauth_clients SET secret_hash = $1, updated_at = $2 WHERE client_id = $3`,
		secretHash, ts(now), id))
}

func (q queries) DeleteClient(ctx context.Context, id string) error {
	return affected(q.w.ExecContext(ctx, `DELETE FROM oauth_clients WHERE client_id = $1`, id))
}

const authRequestColumns = `id, client_id, redirect_uri, state, nonce, scopes, response_mode, code_challenge, code_challenge_method,
	prompt, max_age, login_hint, org_id, user_id, browser_session_id, auth_time, amr, code_hash, code_expires_at, code_used_at,
	grant_session_id, created_at, expires_at`

func scanAuthRequest(row interface{ Scan(...any) error }) (*store.AuthRequest, error) {
	var r store.AuthRequest
	var scopes, prompt, amr string
	var maxAge *int64
	var codeHash *string
	err := row.Scan(&r.ID, &r.ClientID, &r.RedirectURI, &r.State, &r.Nonce, &scopes, &r.ResponseMode, &r.CodeChallenge,
		&r.CodeChallengeMethod, &prompt, &maxAge, &r.LoginHint, &r.OrgID, &r.UserID, &r.BrowserSessionID, nullTimeDest{&r.AuthTime}, &amr,
		&codeHash, nullTimeDest{&r.CodeExpiresAt}, nullTimeDest{&r.CodeUsedAt}, &r.GrantSessionID,
		timeDest{&r.CreatedAt}, timeDest{&r.ExpiresAt})
	if err != nil {
		return nil, one(err)
	}
	r.MaxAge = maxAge
	if codeHash != nil {
		r.CodeHash = *codeHash
	}
	r.AMR = splitList(amr)
	if r.Scopes, err = parseJSONList(scopes); err != nil {
		return nil, err
	}
	if r.Prompt, err = parseJSONList(prompt); err != nil {
		return nil, err
	}
	return &r, nil
}

func (q queries) CreateAuthRequest(ctx context.Context, r *store.AuthRequest) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO oauth_auth_requests (id, client_id, redirect_uri, state, nonce, scopes, response_mode,
		code_challenge, code_challenge_method, prompt, max_age, login_hint, org_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.ID, r.ClientID, r.RedirectURI, r.State, r.Nonce, jsonList(r.Scopes), r.ResponseMode, r.CodeChallenge,
		r.CodeChallengeMethod, jsonList(r.Prompt), r.MaxAge, r.LoginHint, r.OrgID, ts(r.CreatedAt), ts(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create auth request: %w", mapErr(err))
	}
	return nil
}

func (q queries) AuthRequestByID(ctx context.Context, id string) (*store.AuthRequest, error) {
	return scanAuthRequest(q.readRow(ctx, `SELECT `+authRequestColumns+` FROM oauth_auth_requests WHERE id = $1`, id))
}

func (q queries) AuthRequestByCode(ctx context.Context, codeHash string) (*store.AuthRequest, error) {
	return scanAuthRequest(q.readRow(ctx, `SELECT `+authRequestColumns+` FROM oauth_auth_requests WHERE code_hash = $1`, codeHash))
}

func (q queries) CompleteAuthRequest(ctx context.Context, id, userID, browserSessionID string, authTime time.Time, amr []string) error {
	return affected(q.w.ExecContext(ctx, `UPDATE oauth_auth_requests SET user_id = $1, browser_session_id = $2, auth_time = $3, amr = $4
		WHERE id = $5 AND code_hash IS NULL`, userID, browserSessionID, ts(authTime), listValue(amr), id))
}

func (q queries) SetAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE oauth_auth_requests SET code_hash = $1, code_expires_at = $2
		WHERE id = $3 AND code_hash IS NULL AND user_id <> ''`, codeHash, ts(expiresAt), id))
}

func (q queries) UseAuthCode(ctx context.Context, id string, now time.Time) error {
	return conflictIfNone(q.w.ExecContext(ctx, `UPDATE oauth_auth_requests SET code_used_at = $1
		WHERE id = $2 AND code_used_at IS NULL`, ts(now), id))
}

func (q queries) SetAuthRequestGrant(ctx context.Context, id, sessionID string) error {
	return affected(q.w.ExecContext(ctx, `UPDATE oauth_auth_requests SET grant_session_id = $1 WHERE id = $2`, sessionID, id))
}

func (q queries) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := q.w.ExecContext(ctx, `DELETE FROM oauth_auth_requests WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("sqlstore: delete auth request: %w", err)
	}
	return nil
}

func (q queries) SaveConsent(ctx context.Context, c *store.Consent) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
		c.UserID, c.ClientID, jsonList(c.Scopes), ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: save consent: %w", mapErr(err))
	}
	return nil
}

func scanConsent(row interface{ Scan(...any) error }) (*store.Consent, error) {
	var c store.Consent
	var scopes string
	if err := row.Scan(&c.UserID, &c.ClientID, &scopes, timeDest{&c.CreatedAt}); err != nil {
		return nil, one(err)
	}
	var err error
	c.Scopes, err = parseJSONList(scopes)
	return &c, err
}

func (q queries) ConsentFor(ctx context.Context, userID, clientID string) (*store.Consent, error) {
	return scanConsent(q.readRow(ctx, `SELECT user_id, client_id, scopes, created_at FROM oauth_consents
		WHERE user_id = $1 AND client_id = $2`, userID, clientID))
}

func (q queries) ListConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT user_id, client_id, scopes, created_at FROM oauth_consents
		WHERE user_id = $1 ORDER BY created_at DESC, client_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list consents: %w", err)
	}
	defer rows.Close()
	var out []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (q queries) DeleteConsent(ctx context.Context, userID, clientID string) error {
	return affected(q.w.ExecContext(ctx, `DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID))
}

func (q queries) SessionByCookie(ctx context.Context, cookieHash string) (*store.Session, error) {
	return scanSession(q.readRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE cookie_hash = $1`, cookieHash))
}

func (q queries) ListGrants(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND kind = 'oauth' AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC`, userID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list grants: %w", err)
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

func (q queries) RevokeGrants(ctx context.Context, f store.GrantFilter, reason string, now time.Time) ([]string, error) {
	where := []string{"kind = 'oauth'", "revoked_at IS NULL"}
	args := []any{ts(now), reason}
	for _, c := range []struct{ col, val string }{{"user_id", f.UserID}, {"client_id", f.ClientID}, {"parent_id", f.ParentID}} {
		if c.val != "" {
			args = append(args, c.val)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
		}
	}
	if len(args) == 2 {
		return nil, fmt.Errorf("sqlstore: revoke grants: no filter")
	}
	if f.KeepOffline {
		where = append(where, "(' ' || scopes || ' ') NOT LIKE '% offline_access %'")
	}
	rows, err := q.w.QueryContext(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE `+strings.Join(where, " AND ")+` RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: revoke grants: %w", err)
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
