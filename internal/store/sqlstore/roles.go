package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (q queries) ListRoles(ctx context.Context, orgID string) ([]store.Role, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT org_id, name, permissions, created_at, updated_at FROM org_roles WHERE org_id = $1 ORDER BY name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list roles: %w", err)
	}
	defer rows.Close()
	var out []store.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func scanRole(row interface{ Scan(...any) error }) (*store.Role, error) {
	var r store.Role
	var perms string
	if err := row.Scan(&r.OrgID, &r.Name, &perms, timeDest{&r.CreatedAt}, timeDest{&r.UpdatedAt}); err != nil {
		return nil, one(err)
	}
	r.Permissions = splitList(perms)
	return &r, nil
}

func (q queries) RoleByName(ctx context.Context, orgID, name string) (*store.Role, error) {
	return scanRole(q.r.QueryRowContext(ctx, `SELECT org_id, name, permissions, created_at, updated_at FROM org_roles
		WHERE org_id = $1 AND name = $2`, orgID, name))
}

func (q queries) PutRole(ctx context.Context, r *store.Role) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO org_roles (org_id, name, permissions, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (org_id, name) DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at`,
		r.OrgID, r.Name, listValue(r.Permissions), ts(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put role: %w", mapErr(err))
	}
	return nil
}

func (q queries) DeleteRole(ctx context.Context, orgID, name string) error {
	if err := affected(q.w.ExecContext(ctx, `DELETE FROM org_roles WHERE org_id = $1 AND name = $2`, orgID, name)); err != nil {
		return err
	}
	// Take the role from every member that holds it.
	rows, err := q.w.QueryContext(ctx, `SELECT user_id, roles FROM org_members WHERE org_id = $1 AND (',' || roles || ',') LIKE $2 ESCAPE '\'`,
		orgID, wordPattern(name))
	if err != nil {
		return fmt.Errorf("sqlstore: delete role: %w", err)
	}
	type change struct{ user, roles string }
	var changes []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.user, &c.roles); err != nil {
			rows.Close()
			return err
		}
		changes = append(changes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range changes {
		var kept []string
		for _, r := range splitList(c.roles) {
			if r != name {
				kept = append(kept, r)
			}
		}
		if _, err := q.w.ExecContext(ctx, `UPDATE org_members SET roles = $1 WHERE org_id = $2 AND user_id = $3`,
			strings.Join(kept, ","), orgID, c.user); err != nil {
			return fmt.Errorf("sqlstore: delete role: %w", err)
		}
	}
	return nil
}

const invitationColumns = `id, org_id, email, roles, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at`

func scanInvitation(row interface{ Scan(...any) error }) (*store.Invitation, error) {
	var inv store.Invitation
	var roles string
	if err := row.Scan(&inv.ID, &inv.OrgID, &inv.Email, &roles, &inv.TokenHash, &inv.InvitedBy, timeDest{&inv.CreatedAt},
		timeDest{&inv.ExpiresAt}, nullTimeDest{&inv.AcceptedAt}, nullTimeDest{&inv.RevokedAt}); err != nil {
		return nil, one(err)
	}
	inv.Roles = splitList(roles)
	return &inv, nil
}

func (q queries) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	if _, err := q.w.ExecContext(ctx, `UPDATE org_invitations SET revoked_at = $1 WHERE org_id = $2 AND LOWER(email) = LOWER($3)
		AND accepted_at IS NULL AND revoked_at IS NULL`, ts(inv.CreatedAt), inv.OrgID, inv.Email); err != nil {
		return fmt.Errorf("sqlstore: void old invitations: %w", err)
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO org_invitations (`+invitationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)`,
		inv.ID, inv.OrgID, inv.Email, listValue(inv.Roles), inv.TokenHash, inv.InvitedBy, ts(inv.CreatedAt), ts(inv.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create invitation: %w", mapErr(err))
	}
	return nil
}

func (q queries) ListInvitations(ctx context.Context, orgID, after string, now time.Time, limit int) ([]store.Invitation, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+invitationColumns+` FROM org_invitations
		WHERE org_id = $1 AND id > $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 ORDER BY id LIMIT $4`,
		orgID, after, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list invitations: %w", err)
	}
	defer rows.Close()
	var out []store.Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *inv)
	}
	return out, rows.Err()
}

func (q queries) RevokeInvitation(ctx context.Context, orgID, id string, now time.Time) error {
	return affected(q.w.ExecContext(ctx, `UPDATE org_invitations SET revoked_at = $1 WHERE org_id = $2 AND id = $3
		AND accepted_at IS NULL AND revoked_at IS NULL`, ts(now), orgID, id))
}

func (q queries) AcceptInvitation(ctx context.Context, tokenHash string, now time.Time) (*store.Invitation, error) {
	return scanInvitation(q.w.QueryRowContext(ctx, `UPDATE org_invitations SET accepted_at = $1
		WHERE token_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		RETURNING `+invitationColumns, ts(now), tokenHash))
}

func (q queries) PeekInvitation(ctx context.Context, tokenHash string, now time.Time) (*store.Invitation, error) {
	return scanInvitation(q.r.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM org_invitations
		WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, tokenHash, ts(now)))
}
