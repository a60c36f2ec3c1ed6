package store

import (
	"context"
	"time"
)

// Org is an organization (tenant) with its policy.
type Org struct {
	ID                string
	Name              string
	Slug              string
	RequireMFA        bool
	SessionTTLSeconds int
	PasswordMinLength int
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Member is a user's membership of an organization.
type Member struct {
	OrgID    string
	UserID   string
	Email    string // of the user, for listings
	Name     string
	Roles    []string
	JoinedAt time.Time
}

// MemberOrg is an organization seen from one of its members.
type MemberOrg struct {
	Org   Org
	Roles []string
}

// Role is a custom role of an organization (built-in roles are not stored).
type Role struct {
	OrgID       string
	Name        string
	Permissions []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Invitation to join an organization. Only the token's hash is stored.
type Invitation struct {
	ID         string
	OrgID      string
	Email      string
	Roles      []string
	TokenHash  string
	InvitedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
}

// Orgs stores organizations. Every query under an organization takes its id: nothing
// crosses tenants.
type Orgs interface {
	// CreateOrg inserts the org; ErrConflict on a taken slug.
	CreateOrg(ctx context.Context, o *Org) error
	OrgByID(ctx context.Context, id string) (*Org, error)
	// LockOrg takes the org's row lock until the transaction ends (PostgreSQL; SQLite
	// has one writer anyway), so owner counts and role changes cannot interleave.
	LockOrg(ctx context.Context, id string, now time.Time) error
	// UpdateOrg writes name, slug and policy; ErrConflict on a taken slug.
	UpdateOrg(ctx context.Context, o *Org) error
	// DeleteOrg removes the org with its members, roles and invitations.
	DeleteOrg(ctx context.Context, id string) error

	AddMember(ctx context.Context, m *Member) error
	// MemberOf returns the membership; ErrNotFound when the user is not a member.
	MemberOf(ctx context.Context, orgID, userID string) (*Member, error)
	// ListMembers returns members ordered by user id, after the given one.
	ListMembers(ctx context.Context, orgID, afterUserID string, limit int) ([]Member, error)
	// ListUserOrgs returns the user's organizations ordered by org id, after the given one.
	ListUserOrgs(ctx context.Context, userID, afterOrgID string, limit int) ([]MemberOrg, error)
	SetMemberRoles(ctx context.Context, orgID, userID string, roles []string) error
	RemoveMember(ctx context.Context, orgID, userID string) error
	// CountMembersWithRole counts members holding a role.
	CountMembersWithRole(ctx context.Context, orgID, role string) (int, error)

	ListRoles(ctx context.Context, orgID string) ([]Role, error)
	RoleByName(ctx context.Context, orgID, name string) (*Role, error)
	// PutRole creates or replaces a custom role.
	PutRole(ctx context.Context, r *Role) error
	// DeleteRole removes a custom role and takes it from every member.
	DeleteRole(ctx context.Context, orgID, name string) error

	// CreateInvitation stores inv and revokes pending invitations of the same address.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// ListInvitations returns pending invitations (not accepted, revoked or expired at
	// now) ordered by id, after the given one.
	ListInvitations(ctx context.Context, orgID, afterID string, now time.Time, limit int) ([]Invitation, error)
	// RevokeInvitation revokes a pending invitation; ErrNotFound otherwise.
	RevokeInvitation(ctx context.Context, orgID, id string, now time.Time) error
	// AcceptInvitation marks a pending, unexpired invitation accepted and returns it;
	// ErrNotFound otherwise.
	AcceptInvitation(ctx context.Context, tokenHash string, now time.Time) (*Invitation, error)
	// PeekInvitation returns a pending, unexpired invitation without using it.
	PeekInvitation(ctx context.Context, tokenHash string, now time.Time) (*Invitation, error)
}
