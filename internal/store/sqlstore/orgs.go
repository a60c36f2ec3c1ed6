package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const orgColumns = `id, name, slug, require_mfa, session_ttl_seconds, password_min_length, created_at, updated_at`

func scanOrg(row interface{ Scan(...any) error }, extra ...any) (*store.Org, error) {
	var o store.Org
	dest := append([]any{&o.ID, &o.Name, &o.Slug, &o.RequireMFA, &o.SessionTTLSeconds, &o.PasswordMinLength,
		timeDest{&o.CreatedAt}, timeDest{&o.UpdatedAt}}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, one(err)
	}
	return &o, nil
}

func (q queries) CreateOrg(ctx context.Context, o *store.Org) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO orgs (`+orgColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		o.ID, o.Name, o.Slug, o.RequireMFA, o.SessionTTLSeconds, o.PasswordMinLength, ts(o.CreatedAt), ts(o.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create org: %w", mapErr(err))
	}
	return nil
}

func (q queries) OrgByID(ctx context.Context, id string) (*store.Org, error) {
	return scanOrg(q.r.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = $1`, id))
}

func (q queries) LockOrg(ctx context.Context, id string, now time.Time) error {
	// A write to the row is the portable lock: PostgreSQL holds the row lock to commit.
	return affected(q.w.ExecContext(ctx, `UPDATE orgs SET updated_at = $1 WHERE id = $2`, ts(now), id))
}

func (q queries) UpdateOrg(ctx context.Context, o *store.Org) error {
	return affected(q.w.ExecContext(ctx, `UPDATE orgs SET name = $1, slug = $2, require_mfa = $3, session_ttl_seconds = $4,
		password_min_length = $5, updated_at = $6 WHERE id = $7`,
		o.Name, o.Slug, o.RequireMFA, o.SessionTTLSeconds, o.PasswordMinLength, ts(o.UpdatedAt), o.ID))
}

func (q queries) DeleteOrg(ctx context.Context, id string) error {
	// Children go explicitly rather than by cascade, so SQLite without foreign keys
	// enforcement (an external tool) cannot leave orphans either.
	for _, stmt := range []string{`DELETE FROM org_invitations WHERE org_id = $1`, `DELETE FROM org_roles WHERE org_id = $1`,
		`DELETE FROM org_members WHERE org_id = $1`} {
		if _, err := q.w.ExecContext(ctx, stmt, id); err != nil {
			return fmt.Errorf("sqlstore: delete org: %w", err)
		}
	}
	return affected(q.w.ExecContext(ctx, `DELETE FROM orgs WHERE id = $1`, id))
}

func (q queries) AddMember(ctx context.Context, m *store.Member) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, roles, joined_at) VALUES ($1, $2, $3, $4)`,
		m.OrgID, m.UserID, listValue(m.Roles), ts(m.JoinedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: add member: %w", mapErr(err))
	}
	return nil
}

const memberColumns = `m.org_id, m.user_id, u.email, u.name, m.roles, m.joined_at`

func scanMember(row interface{ Scan(...any) error }) (*store.Member, error) {
	var m store.Member
	var roles string
	if err := row.Scan(&m.OrgID, &m.UserID, &m.Email, &m.Name, &roles, timeDest{&m.JoinedAt}); err != nil {
		return nil, one(err)
	}
	m.Roles = splitList(roles)
	return &m, nil
}

func (q queries) MemberOf(ctx context.Context, orgID, userID string) (*store.Member, error) {
	return scanMember(q.readRow(ctx, `SELECT `+memberColumns+` FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.user_id = $2`, orgID, userID))
}

func (q queries) ListMembers(ctx context.Context, orgID, after string, limit int) ([]store.Member, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+memberColumns+` FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list members: %w", err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

func (q queries) ListUserOrgs(ctx context.Context, userID, after string, limit int) ([]store.MemberOrg, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT o.id, o.name, o.slug, o.require_mfa, o.session_ttl_seconds, o.password_min_length,
		o.created_at, o.updated_at, m.roles FROM org_members m JOIN orgs o ON o.id = m.org_id
		WHERE m.user_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3`, userID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list user orgs: %w", err)
	}
	defer rows.Close()
	var out []store.MemberOrg
	for rows.Next() {
		var roles string
		o, err := scanOrg(rows, &roles)
		if err != nil {
			return nil, err
		}
		out = append(out, store.MemberOrg{Org: *o, Roles: splitList(roles)})
	}
	return out, rows.Err()
}

func (q queries) SetMemberRoles(ctx context.Context, orgID, userID string, roles []string) error {
	return affected(q.w.ExecContext(ctx, `UPDATE org_members SET roles = $1 WHERE org_id = $2 AND user_id = $3`,
		listValue(roles), orgID, userID))
}

func (q queries) RemoveMember(ctx context.Context, orgID, userID string) error {
	return affected(q.w.ExecContext(ctx, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID))
}

func (q queries) CountMembersWithRole(ctx context.Context, orgID, role string) (int, error) {
	// Roles are stored comma-joined; match the whole word with delimiters on both sides.
	var n int
	err := q.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND (',' || roles || ',') LIKE $2 ESCAPE '\'`,
		orgID, wordPattern(role)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count members: %w", err)
	}
	return n, nil
}

// wordPattern is the LIKE pattern of one whole item of a comma-joined list, with LIKE's
// wildcards escaped: role names may contain "_", which would otherwise match any character.
func wordPattern(item string) string {
	return "%," + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(item) + ",%"
}
