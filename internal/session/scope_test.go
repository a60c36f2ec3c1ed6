package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// orgRules is a Scoper with a fixed answer per organization (the org package decides
// for real and has its own tests; here only what the session does with the answer counts).
type orgRules struct {
	mu   sync.Mutex
	orgs map[string]*session.OrgScope // absent: not a member
}

func (o *orgRules) ScopeSession(_ context.Context, _ store.Queries, _, orgID string, _ []string) (*session.OrgScope, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	sc, ok := o.orgs[orgID]
	if !ok {
		return nil, session.ErrNotMember
	}
	cp := *sc
	return &cp, nil
}

func (o *orgRules) set(orgID string, sc *session.OrgScope) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if sc == nil {
		delete(o.orgs, orgID)
		return
	}
	o.orgs[orgID] = sc
}

func scopedRig(t *testing.T) (*rig, *orgRules) {
	r := newRig(t)
	rules := &orgRules{orgs: map[string]*session.OrgScope{
		"org-a": {OrgID: "org-a", Roles: []string{"member"}, Permissions: []string{"docs:read"}},
	}}
	r.svc.Scoper = rules
	return r, rules
}

func TestStartWithoutAScoperRefusesEveryOrganization(t *testing.T) {
	r := newRig(t)
	if _, err := r.start(t, "org-a"); !errors.Is(err, session.ErrNotMember) {
		t.Fatalf("Start(org) without a Scoper = %v, want ErrNotMember", err)
	}
}

func TestScopedTokensCarryTheOrganization(t *testing.T) {
	r, _ := scopedRig(t)
	tok, err := r.start(t, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.access.Verify(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrgID != "org-a" || len(c.Roles) != 1 || c.Roles[0] != "member" || len(c.Permissions) != 1 {
		t.Fatalf("claims org=%q roles=%v permissions=%v", c.OrgID, c.Roles, c.Permissions)
	}
	if _, err := r.start(t, "org-b"); !errors.Is(err, session.ErrNotMember) {
		t.Fatalf("Start(org the user is not in) = %v, want ErrNotMember", err)
	}
}

// An organization's session lifetime shortens the session, counted from its start.
func TestOrganizationLifetimeShortensTheSession(t *testing.T) {
	r, rules := scopedRig(t)
	rules.set("org-a", &session.OrgScope{OrgID: "org-a", SessionTTL: 2 * time.Hour})
	tok, err := r.start(t, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := r.db.SessionByID(t.Context(), tok.SessionID)
	if want := r.clock.now().Add(2 * time.Hour); !sess.ExpiresAt.Equal(want) {
		t.Fatalf("scoped session ends at %v, want %v", sess.ExpiresAt, want)
	}
	r.clock.advance(time.Hour - time.Minute)
	if tok, err = r.svc.Refresh(t.Context(), tok.RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	r.clock.advance(time.Hour)
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, ""); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("refresh past the org's lifetime = %v, want ErrInvalidToken", err)
	}
}

// A session older than an organization's lifetime cannot switch into it, and the refused
// switch leaves its refresh token usable.
func TestSwitchingIntoAnOrganizationTooOldIsRefused(t *testing.T) {
	r, rules := scopedRig(t)
	rules.set("org-b", &session.OrgScope{OrgID: "org-b", SessionTTL: time.Hour})
	tok := r.mustStart(t)
	r.clock.advance(30 * time.Minute)
	tok, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	r.clock.advance(45 * time.Minute)
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "org-b"); !errors.Is(err, session.ErrTooOldForOrg) {
		t.Fatalf("switch into org-b after 75 min = %v, want ErrTooOldForOrg", err)
	}
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "org-a"); err != nil {
		t.Fatalf("the token after a refused switch: %v", err)
	}
}

func TestRefusedSwitchKeepsTheTokenValid(t *testing.T) {
	r, _ := scopedRig(t)
	tok := r.mustStart(t)
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "org-b"); !errors.Is(err, session.ErrNotMember) {
		t.Fatalf("switch into a foreign org = %v, want ErrNotMember", err)
	}
	next, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "org-a")
	if err != nil {
		t.Fatalf("the token after a refused switch: %v", err)
	}
	if c, _ := r.access.Verify(next.AccessToken); c == nil || c.OrgID != "org-a" {
		t.Fatalf("switched token claims = %+v", c)
	}
}

// Without org_id, a session whose user left its organization continues unscoped; with
// it, the refresh is refused.
func TestLeavingTheOrganizationUnscopesTheSession(t *testing.T) {
	r, rules := scopedRig(t)
	tok, err := r.start(t, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	rules.set("org-a", nil)
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "org-a"); !errors.Is(err, session.ErrNotMember) {
		t.Fatalf("refresh naming the org left = %v, want ErrNotMember", err)
	}
	next, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "")
	if err != nil {
		t.Fatalf("refresh without org_id: %v", err)
	}
	c, err := r.access.Verify(next.AccessToken)
	if err != nil || c.OrgID != "" || len(c.Permissions) != 0 {
		t.Fatalf("claims after leaving = %+v, %v; want unscoped", c, err)
	}
	sess, _ := r.db.SessionByID(t.Context(), tok.SessionID)
	if sess.OrgID != "" {
		t.Fatalf("stored session still scoped to %q", sess.OrgID)
	}
}

// Roles are read afresh on every refresh.
func TestRefreshReadsRolesAfresh(t *testing.T) {
	r, rules := scopedRig(t)
	tok, err := r.start(t, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	rules.set("org-a", &session.OrgScope{OrgID: "org-a", Roles: []string{"admin"}, Permissions: []string{"org:manage"}})
	next, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.access.Verify(next.AccessToken); c == nil || len(c.Roles) != 1 || c.Roles[0] != "admin" {
		t.Fatalf("claims after a role change = %+v", c)
	}
}
