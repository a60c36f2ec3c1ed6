package org

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	// ErrNotFound: the organization (or something under it) does not exist, or the caller
	// is not a member; the two are deliberately indistinguishable.
	ErrNotFound = errors.New("org: not found")
	// ErrForbidden: a member lacking the permission, or a grant beyond the caller's own.
	ErrForbidden = errors.New("org: forbidden")
	// ErrSlugTaken: another organization has the slug.
	ErrSlugTaken = errors.New("org: slug taken")
	// ErrBuiltinRole: built-in roles cannot be changed or deleted.
	ErrBuiltinRole = errors.New("org: built-in roles are read-only")
	// ErrLastOwner: the change would leave the organization without an owner.
	ErrLastOwner = errors.New("org: last owner")
	// ErrRoleInUse: a custom role cannot be deleted while members hold it.
	ErrRoleInUse = errors.New("org: role is held by members")
	// ErrAlreadyMember: the user is already a member.
	ErrAlreadyMember = errors.New("org: already a member")
	// ErrInvalidInvitation: an invitation token that is unknown, used, revoked or expired.
	ErrInvalidInvitation = errors.New("org: invalid invitation")
	// ErrEmailMismatch: the invitation was sent to another (or an unverified) address.
	ErrEmailMismatch = errors.New("org: invitation is for another email address")
	// ErrMFAEnrollmentRequired: the org requires a second factor and the caller, a
	// member, has none (the same error as refusing to scope a session).
	ErrMFAEnrollmentRequired = session.ErrMFAEnrollmentRequired
	// ErrMFARequired: the org requires a second factor and the caller's session was
	// signed in without theirs.
	ErrMFARequired = session.ErrMFARequired
)

// Caller is who calls an operation on an organization: the user, the amr of their
// access token (which holds "mfa" when the session was signed in with a second factor),
// and the organization the token is scoped to, if any.
type Caller struct {
	UserID string
	AMR    []string
	// Scope is the org_id of an organization-scoped token: such a token acts in that
	// organization only, whatever else its user belongs to or owns.
	Scope string
}

// ErrOutOfScope: the caller's token is scoped to another organization (or the operation,
// such as creating an org, is not one a scoped token may do).
var ErrOutOfScope = errors.New("org: the token is scoped to another organization")

// within refuses a scoped caller acting on another organization than its own ("" names
// none: operations outside every organization).
func (c Caller) within(orgID string) error {
	if c.Scope != "" && c.Scope != orgID {
		return ErrOutOfScope
	}
	return nil
}

// WithMFA reports whether the caller's session was signed in with a second factor.
func (c Caller) WithMFA() bool { return slices.Contains(c.AMR, "mfa") }

// wrap names the operation on an unexpected error (a storage failure, say), so that a
// logged 500 says which step failed. nil and the errors callers act on (this package's,
// and the session's refusals of a scope) pass unchanged.
func wrap(op string, err error) error {
	var field *FieldError
	switch {
	case err == nil, errors.As(err, &field), session.IsRefusal(err),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden), errors.Is(err, ErrSlugTaken),
		errors.Is(err, ErrBuiltinRole), errors.Is(err, ErrLastOwner), errors.Is(err, ErrRoleInUse),
		errors.Is(err, ErrAlreadyMember), errors.Is(err, ErrInvalidInvitation), errors.Is(err, ErrEmailMismatch),
		errors.Is(err, ErrOutOfScope):
		return err
	}
	return fmt.Errorf("org: %s: %w", op, err)
}

// FieldError is an invalid input field.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return "org: " + e.Field + " " + e.Message }

// InvitationTTL is how long an invitation can be accepted.
const InvitationTTL = 7 * 24 * time.Hour

// Service runs organization operations.
type Service struct {
	// Audit records security events in the transaction of the change.
	Audit    *audit.Log
	Store    Store
	Composer *notify.Composer
	Outbox   interface{ Wake() }
	LinkBase string // base of emailed links
	Now      func() time.Time
	// CacheTTL bounds how long a member's resolved permissions are reused (≤ 5 s).
	CacheTTL time.Duration

	cacheOnce sync.Once
	members   *cache.Cache[memberKey, cached]
}

// Store is what the service uses outside transactions: the organization tables (lists,
// and the permission checks answered from the cache), a user's MFA flag (for the org's
// MFA policy) and the org's audit log; every change runs in a transaction.
type Store interface {
	store.Orgs
	userReader
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
	store.Transactor
}

// tx is what the permission checks, locks and lookups read, inside a transaction or
// (for the cached checks) outside one: the organization tables and a user's MFA flag.
type tx interface {
	store.Orgs
	userReader
}

// userReader loads a user.
type userReader interface {
	UserByID(ctx context.Context, id string) (*store.User, error)
}

type memberKey struct{ org, user string }

type cached struct {
	member     *store.Member // nil: not a member
	set        Set
	known      []string      // app permissions defined by the org's custom roles
	requireMFA bool          // the org's policy requires a second factor
	sessionTTL time.Duration // the org's session lifetime limit; 0 for none
}

// access resolves the caller's membership and permissions in the org, through the
// cache (see package cache for its invalidation rule).
func (s *Service) access(ctx context.Context, orgID, userID string) (cached, error) {
	return s.cache().Load(memberKey{orgID, userID}, func() (cached, error) {
		return s.load(ctx, s.Store, orgID, userID)
	})
}

func (s *Service) cache() *cache.Cache[memberKey, cached] {
	s.cacheOnce.Do(func() { s.members = cache.New[memberKey, cached](s.CacheTTL, s.Now) })
	return s.members
}

// load reads a membership, the org's custom roles and its MFA policy through q.
func (s *Service) load(ctx context.Context, q store.Orgs, orgID, userID string) (cached, error) {
	m, err := q.MemberOf(ctx, orgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return cached{}, nil
	}
	if err != nil {
		return cached{}, err
	}
	o, err := q.OrgByID(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return cached{}, nil
	}
	if err != nil {
		return cached{}, err
	}
	roles, err := q.ListRoles(ctx, orgID)
	if err != nil {
		return cached{}, err
	}
	custom := make(map[string][]string, len(roles))
	var known []string
	for _, r := range roles {
		custom[r.Name] = r.Permissions
		known = append(known, r.Permissions...)
	}
	return cached{member: m, set: resolve(m.Roles, custom), known: known, requireMFA: o.RequireMFA,
		sessionTTL: time.Duration(o.SessionTTLSeconds) * time.Second}, nil
}

// forget drops cached permissions of one member, or of the whole org when userID is "".
func (s *Service) forget(orgID, userID string) {
	if userID != "" {
		s.cache().Forget(memberKey{orgID, userID})
		return
	}
	s.cache().ForgetIf(func(k memberKey) bool { return k.org == orgID })
}

// Enter admits the caller to the org at all: a caller whose token is not scoped to
// another org (ErrOutOfScope), a member (ErrNotFound otherwise) who meets its MFA policy. The API calls it before reading a request's input, so that a
// non-member gets not-found whatever they send.
func (s *Service) Enter(ctx context.Context, caller Caller, orgID string) error {
	_, err := s.require(ctx, orgID, caller, "")
	return wrap("enter", err)
}

// require returns the caller's access if they are admitted to the org (see admit) and
// hold perm (when not empty).
func (s *Service) require(ctx context.Context, orgID string, caller Caller, perm string) (cached, error) {
	if err := caller.within(orgID); err != nil {
		return cached{}, err
	}
	c, err := s.access(ctx, orgID, caller.UserID)
	if err != nil {
		return cached{}, err
	}
	return c, s.admit(ctx, s.Store, c, caller, perm)
}

// requireTx is require without the cache, inside a transaction that changes membership
// or roles: decisions that grant or take away power are made on current data.
func (s *Service) requireTx(ctx context.Context, q tx, orgID string, caller Caller, perm string) (cached, error) {
	if err := caller.within(orgID); err != nil {
		return cached{}, err
	}
	c, err := s.load(ctx, q, orgID, caller.UserID)
	if err != nil {
		return cached{}, err
	}
	return c, s.admit(ctx, q, c, caller, perm)
}

// admit decides, in this order: a non-member gets ErrNotFound; a member of an org that
// requires a second factor, calling without one, gets ErrMFAEnrollmentRequired (none
// enrolled) or ErrMFARequired; a member lacking perm gets ErrForbidden.
func (s *Service) admit(ctx context.Context, q userReader, c cached, caller Caller, perm string) error {
	if c.member == nil {
		return ErrNotFound
	}
	if c.requireMFA {
		if err := withMFA(ctx, q, caller); err != nil {
			return err
		}
	}
	return c.permits(perm)
}

// withMFA refuses a caller whose session did not use a second factor:
// ErrMFAEnrollmentRequired when they have none, ErrMFARequired otherwise.
func withMFA(ctx context.Context, q userReader, caller Caller) error {
	if caller.WithMFA() {
		return nil
	}
	u, err := q.UserByID(ctx, caller.UserID)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return ErrMFAEnrollmentRequired
	}
	return ErrMFARequired
}

// member reads another user's membership (the target of an operation) on current data:
// ErrNotFound when they are not a member.
func (s *Service) member(ctx context.Context, q store.Orgs, orgID, userID string) (cached, error) {
	c, err := s.load(ctx, q, orgID, userID)
	if err != nil {
		return cached{}, err
	}
	return c, c.permits("")
}

// permits checks membership and, when perm is not empty, the permission.
func (c cached) permits(perm string) error {
	if c.member == nil {
		return ErrNotFound
	}
	if perm != "" && !c.set.Has(perm) {
		return ErrForbidden
	}
	return nil
}

// lock takes the org's row lock for the transaction; ErrNotFound when it is gone.
func (s *Service) lock(ctx context.Context, q store.Orgs, orgID string) error {
	if err := q.LockOrg(ctx, orgID, s.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	return nil
}
