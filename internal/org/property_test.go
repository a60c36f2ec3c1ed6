package org_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

type noWake struct{}

func (noWake) Wake() {}

// universe is every permission the test looks at.
var universe = append(append([]string{}, org.BuiltinPermissions...), "app:a", "app:b")

// held computes, independently of the org package, what roles grant given the stored
// custom roles: the test's own reading of API.md.
func held(roles []string, custom map[string][]string) map[string]bool {
	out := map[string]bool{}
	for _, r := range roles {
		switch r {
		case "owner":
			for _, p := range universe {
				out[p] = true
			}
		case "admin":
			for _, p := range universe {
				if p != "org:delete" {
					out[p] = true
				}
			}
		case "member":
			out["org:read"], out["members:read"] = true, true
		default:
			for _, p := range custom[r] {
				out[p] = true
			}
		}
	}
	return out
}

// errField stands for any *org.FieldError in the model's expectations.
var errField = errors.New("a field error")

// orgModel is what the test believes one organization holds.
type orgModel struct {
	id      string
	members map[string][]string // user → roles
	custom  map[string][]string // custom role → sorted permissions
	// allowed is, per member, every permission that some actor permitted to grant it
	// gave them (at joining, at a role change, or by redefining a role they hold).
	allowed map[string]map[string]bool
}

// gate is the model's answer for actor doing something that needs perm ("" for none):
// nil, ErrNotFound for a non-member, ErrForbidden for a member without it.
func (m *orgModel) gate(actor, perm string) error {
	roles, ok := m.members[actor]
	if !ok {
		return org.ErrNotFound
	}
	if perm != "" && !held(roles, m.custom)[perm] {
		return org.ErrForbidden
	}
	return nil
}

// covers reports whether actor holds everything roles grant (custom roles as given),
// and the owner role if they include it: what granting them or acting on their holder takes.
func (m *orgModel) covers(actor string, roles []string, custom map[string][]string) bool {
	mine := m.members[actor]
	if slices.Contains(roles, "owner") && !slices.Contains(mine, "owner") {
		return false
	}
	has := held(mine, m.custom)
	for p := range held(roles, custom) {
		if !has[p] {
			return false
		}
	}
	return true
}

func (m *orgModel) owners() int {
	n := 0
	for _, roles := range m.members {
		if slices.Contains(roles, "owner") {
			n++
		}
	}
	return n
}

func (m *orgModel) roleExists(r string) bool {
	_, ok := m.custom[r]
	return org.IsBuiltinRole(r) || ok
}

func (m *orgModel) allow(user string, perms map[string]bool) {
	if m.allowed[user] == nil {
		m.allowed[user] = map[string]bool{}
	}
	maps.Copy(m.allowed[user], perms)
}

// invitation is one the test sent.
type invitation struct {
	id, org, target, inviter, token string
	roles                           []string
	pending                         bool
}

type world struct {
	s      store.Store
	svc    *org.Service
	users  []string
	emails map[string]string
	orgs   []*orgModel
	invs   []*invitation
}

func (w *world) org(id string) *orgModel {
	for _, m := range w.orgs {
		if m.id == id {
			return m
		}
	}
	return nil
}

// as is a caller whose session used a second factor: the orgs' policies do not require
// one, and the test is about roles.
func as(user string) org.Caller { return org.Caller{UserID: user, AMR: []string{"pwd", "otp", "mfa"}} }

// expect checks an operation's outcome class against the model's.
func expect(t *rapid.T, what string, got, want error) {
	t.Helper()
	var fe *org.FieldError
	switch {
	case want == nil && got != nil:
		t.Fatalf("%s: refused with %v, but the model permits it", what, got)
	case want == errField && !errors.As(got, &fe):
		t.Fatalf("%s: got %v, want a field error", what, got)
	case want != nil && want != errField && !errors.Is(got, want):
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// verify compares the stored state of every org with the model and checks the
// invariants: an owner; no permission beyond what permitted actors granted; authz/check
// agrees with the stored roles; non-members get not-found from every read.
func (w *world) verify(t *rapid.T) {
	ctx := context.Background()
	for _, m := range w.orgs {
		ms, err := w.s.ListMembers(ctx, m.id, "", 100)
		if err != nil {
			t.Fatalf("ListMembers: %v", err)
		}
		members := map[string][]string{}
		for _, x := range ms {
			members[x.UserID] = x.Roles
		}
		if !maps.EqualFunc(members, m.members, slices.Equal) {
			t.Fatalf("org %s: stored members %v, model %v", m.id, members, m.members)
		}
		roles, err := w.s.ListRoles(ctx, m.id)
		if err != nil {
			t.Fatalf("ListRoles: %v", err)
		}
		custom := map[string][]string{}
		for _, r := range roles {
			custom[r.Name] = r.Permissions
		}
		if !maps.EqualFunc(custom, m.custom, slices.Equal) {
			t.Fatalf("org %s: stored roles %v, model %v", m.id, custom, m.custom)
		}
		invs, err := w.s.ListInvitations(ctx, m.id, "", time.Now(), 100)
		if err != nil {
			t.Fatalf("ListInvitations: %v", err)
		}
		var stored, want []string
		for _, inv := range invs {
			stored = append(stored, inv.ID)
		}
		for _, inv := range w.invs {
			if inv.org == m.id && inv.pending {
				want = append(want, inv.id)
			}
		}
		sort.Strings(stored)
		sort.Strings(want)
		if !slices.Equal(stored, want) {
			t.Fatalf("org %s: pending invitations %v, model %v", m.id, stored, want)
		}

		if m.owners() == 0 {
			t.Fatalf("org %s has no owner", m.id)
		}
		var checker string
		for u, roles := range m.members {
			for p := range held(roles, m.custom) {
				if !m.allowed[u][p] {
					t.Fatalf("org %s: %s holds %s (roles %v), which no permitted actor granted", m.id, u, p, roles)
				}
			}
			if slices.Contains(roles, "owner") {
				checker = u
			}
		}
		for _, u := range w.users {
			want := held(m.members[u], m.custom)
			for _, p := range universe {
				got, err := w.svc.Check(ctx, as(checker), m.id, u, p)
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if got != want[p] {
					t.Fatalf("org %s: Check(%s, %s) = %v; stored roles %v give %v", m.id, u, p, got, m.members[u], want[p])
				}
			}
			if _, member := m.members[u]; member {
				continue
			}
			c := as(u)
			for what, err := range map[string]error{
				"Enter":       w.svc.Enter(ctx, c, m.id),
				"Get":         second(w.svc.Get(ctx, c, m.id)),
				"Members":     second(w.svc.Members(ctx, c, m.id, "", 10)),
				"Roles":       second(w.svc.Roles(ctx, c, m.id)),
				"GetPolicy":   second(w.svc.GetPolicy(ctx, c, m.id)),
				"ListAudit":   second(w.svc.ListAudit(ctx, c, m.id, 0, 10)),
				"Invitations": second(w.svc.Invitations(ctx, c, m.id, "", 10)),
				"Check":       second(w.svc.Check(ctx, c, m.id, checker, "org:read")),
			} {
				if !errors.Is(err, org.ErrNotFound) {
					t.Fatalf("org %s: non-member %s: %s = %v, want not found", m.id, u, what, err)
				}
			}
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestMembershipInvariantsProperty applies random invitations, acceptances, role
// changes, removals, role definitions and deletions and revocations by random actors
// on two organizations. For every operation the model (the test's own reading of
// API.md) decides the outcome class: permitted operations must succeed, others must be
// refused with the right error (not found, forbidden, last owner, ...) and change
// nothing. After every step the stored state must equal the model, and the invariants
// of verify hold.
func TestMembershipInvariantsProperty(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			raw := testdb.Open(t, url)
			defer raw.Close()
			composer, _ := notify.NewComposer("Test")
			// The permission cache is on: every change must invalidate what it affects.
			svc := &org.Service{Store: db, Audit: testAudit, Composer: composer, Outbox: noWake{}, LinkBase: "http://x", Now: time.Now, CacheTTL: 5 * time.Second}
			n := 0
			rapid.Check(t, func(t *rapid.T) {
				n++
				ctx := context.Background()
				w := &world{s: db, svc: svc, emails: map[string]string{}}
				for i := 0; i < 5; i++ {
					u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: fmt.Sprintf("p%d-%d-%s@example.com", n, i, uuid.NewString()[:8]),
						EmailVerified: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
					if err := db.CreateUser(ctx, u); err != nil {
						t.Fatal(err)
					}
					w.users = append(w.users, u.ID)
					w.emails[u.ID] = u.Email
				}
				for i := 0; i < 2; i++ {
					o, err := svc.Create(ctx, org.Caller{UserID: w.users[i]}, "P", fmt.Sprintf("p-%d-%d-%s", n, i, uuid.NewString()[:8]))
					if err != nil {
						t.Fatal(err)
					}
					m := &orgModel{id: o.ID, members: map[string][]string{w.users[i]: {"owner"}}, custom: map[string][]string{},
						allowed: map[string]map[string]bool{}}
					m.allow(w.users[i], held([]string{"owner"}, nil))
					w.orgs = append(w.orgs, m)
				}
				roleNames := []string{"owner", "admin", "member", "r1", "r2"}
				drawRoles := func(t *rapid.T) []string {
					return rapid.SliceOfNDistinct(rapid.SampledFrom(roleNames), 1, 2, rapid.ID[string]).Draw(t, "roles")
				}
				user := func(t *rapid.T, label string) string { return rapid.SampledFrom(w.users).Draw(t, label) }
				orgOf := func(t *rapid.T) *orgModel { return rapid.SampledFrom(w.orgs).Draw(t, "org") }
				// Draws are biased towards what can succeed (a member acting, a non-member
				// invited, the addressee accepting a pending invitation), so that long
				// chains such as invite → accept → invite → demote → accept happen often.
				member := func(t *rapid.T, m *orgModel, label string) string {
					if rapid.IntRange(0, 3).Draw(t, label+" is a member") > 0 {
						return rapid.SampledFrom(slices.Sorted(maps.Keys(m.members))).Draw(t, label)
					}
					return user(t, label)
				}
				outsider := func(t *rapid.T, m *orgModel, label string) string {
					var out []string
					for _, u := range w.users {
						if _, ok := m.members[u]; !ok {
							out = append(out, u)
						}
					}
					if len(out) > 0 && rapid.Bool().Draw(t, label+" is an outsider") {
						return rapid.SampledFrom(out).Draw(t, label)
					}
					return user(t, label)
				}
				anInvitation := func(t *rapid.T) *invitation {
					var pending []*invitation
					for _, inv := range w.invs {
						if inv.pending {
							pending = append(pending, inv)
						}
					}
					if len(pending) > 0 && rapid.IntRange(0, 3).Draw(t, "a pending invitation") > 0 {
						return rapid.SampledFrom(pending).Draw(t, "invitation")
					}
					return rapid.SampledFrom(w.invs).Draw(t, "invitation")
				}

				t.Repeat(map[string]func(*rapid.T){
					"invite": func(t *rapid.T) {
						m := orgOf(t)
						a, target, roles := member(t, m, "actor"), outsider(t, m, "target"), drawRoles(t)
						want := m.gate(a, "members:invite")
						if want == nil {
							for _, r := range roles {
								if !m.roleExists(r) {
									want = errField
								}
							}
						}
						if want == nil && !m.covers(a, roles, m.custom) {
							want = org.ErrForbidden
						}
						inv, err := svc.Invite(ctx, as(a), m.id, w.emails[target], roles)
						expect(t, fmt.Sprintf("%s invites %s to %s with %v", a, target, m.id, roles), err, want)
						if err != nil {
							return
						}
						// The token went out by mail: read it from the outbox, as the mail server would.
						var body string
						if err := raw.QueryRow(`SELECT body_text FROM outbox WHERE recipient = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
							w.emails[target]).Scan(&body); err != nil {
							t.Fatalf("invitation mail: %v", err)
						}
						tok := tokenRE.FindStringSubmatch(body)
						if tok == nil {
							t.Fatalf("no token in %q", body)
						}
						for _, old := range w.invs { // a newer invitation voids the older
							if old.org == m.id && old.target == target {
								old.pending = false
							}
						}
						w.invs = append(w.invs, &invitation{id: inv.ID, org: m.id, target: target, inviter: a, token: tok[1],
							roles: roles, pending: true})
					},
					"accept": func(t *rapid.T) {
						if len(w.invs) == 0 {
							t.Skip("no invitation yet")
						}
						inv := anInvitation(t)
						u := inv.target
						if rapid.IntRange(0, 4).Draw(t, "the addressee accepts") == 0 {
							u = user(t, "acceptor")
						}
						m := w.org(inv.org)
						var granted []string
						for _, r := range inv.roles {
							if m.roleExists(r) {
								granted = append(granted, r)
							}
						}
						var want error
						_, member := m.members[u]
						switch {
						case !inv.pending:
							want = org.ErrInvalidInvitation
						case u != inv.target:
							want = org.ErrEmailMismatch
						case member:
							want = org.ErrAlreadyMember
						case len(granted) == 0, m.gate(inv.inviter, "members:invite") != nil, !m.covers(inv.inviter, granted, m.custom):
							want = org.ErrInvalidInvitation // the inviter could not grant this any more
						}
						got, err := svc.Accept(ctx, org.Caller{UserID: u}, inv.token)
						expect(t, fmt.Sprintf("%s accepts %s's invitation to %s with %v", u, inv.inviter, inv.org, inv.roles), err, want)
						if err != nil {
							return
						}
						if got.ID != inv.id || !slices.Equal(got.Roles, granted) {
							t.Fatalf("accepted %s with %v, want %s with %v", got.ID, got.Roles, inv.id, granted)
						}
						inv.pending = false
						m.members[u] = granted
						m.allowed[u] = nil
						m.allow(u, held(granted, m.custom))
					},
					"revoke invitation": func(t *rapid.T) {
						if len(w.invs) == 0 {
							t.Skip("no invitation yet")
						}
						m := orgOf(t)
						a, inv := member(t, m, "actor"), anInvitation(t)
						want := m.gate(a, "members:invite")
						if want == nil && (!inv.pending || inv.org != m.id) {
							want = org.ErrNotFound
						}
						err := svc.RevokeInvitation(ctx, as(a), m.id, inv.id)
						expect(t, fmt.Sprintf("%s revokes %s (of %s) in %s", a, inv.id, inv.org, m.id), err, want)
						if err == nil {
							inv.pending = false
						}
					},
					"set roles": func(t *rapid.T) {
						m := orgOf(t)
						a, target, roles := member(t, m, "actor"), member(t, m, "target"), drawRoles(t)
						want := m.gate(a, "members:update")
						current, member := m.members[target]
						if want == nil && !member {
							want = org.ErrNotFound
						}
						if want == nil {
							for _, r := range roles {
								if !m.roleExists(r) {
									want = errField
								}
							}
						}
						if want == nil && (!m.covers(a, roles, m.custom) || !m.covers(a, current, m.custom)) {
							want = org.ErrForbidden
						}
						if want == nil && slices.Contains(current, "owner") && !slices.Contains(roles, "owner") && m.owners() <= 1 {
							want = org.ErrLastOwner
						}
						_, err := svc.SetRoles(ctx, as(a), m.id, target, roles)
						expect(t, fmt.Sprintf("%s sets %s's roles in %s from %v to %v", a, target, m.id, current, roles), err, want)
						if err == nil {
							m.members[target] = roles
							m.allowed[target] = nil
							m.allow(target, held(roles, m.custom))
						}
					},
					"remove": func(t *rapid.T) {
						m := orgOf(t)
						a, target := member(t, m, "actor"), member(t, m, "target")
						need := "members:remove"
						if a == target {
							need = "" // leaving
						}
						want := m.gate(a, need)
						current, member := m.members[target]
						if want == nil && !member {
							want = org.ErrNotFound
						}
						if want == nil && !m.covers(a, current, m.custom) {
							want = org.ErrForbidden
						}
						if want == nil && slices.Contains(current, "owner") && m.owners() <= 1 {
							want = org.ErrLastOwner
						}
						err := svc.Remove(ctx, as(a), m.id, target)
						expect(t, fmt.Sprintf("%s removes %s (%v) from %s", a, target, current, m.id), err, want)
						if err == nil {
							delete(m.members, target)
							delete(m.allowed, target)
						}
					},
					"define role": func(t *rapid.T) {
						m := orgOf(t)
						a := member(t, m, "actor")
						name := rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "name")
						perms := rapid.SliceOfNDistinct(rapid.SampledFrom(universe), 0, 3, rapid.ID[string]).Draw(t, "perms")
						clean := slices.Sorted(slices.Values(perms))
						want := m.gate(a, "roles:manage")
						if want == nil && !m.covers(a, []string{name}, map[string][]string{name: clean}) {
							want = org.ErrForbidden
						}
						if want == nil && !m.covers(a, []string{name}, m.custom) { // what it granted before
							want = org.ErrForbidden
						}
						_, err := svc.PutRole(ctx, as(a), m.id, name, perms)
						expect(t, fmt.Sprintf("%s defines %s in %s as %v (was %v)", a, name, m.id, clean, m.custom[name]), err, want)
						if err != nil {
							return
						}
						m.custom[name] = clean
						for u, roles := range m.members {
							if slices.Contains(roles, name) {
								m.allow(u, held([]string{name}, m.custom))
							}
						}
					},
					"delete role": func(t *rapid.T) {
						m := orgOf(t)
						a := member(t, m, "actor")
						name := rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "name")
						want := m.gate(a, "roles:manage")
						if _, ok := m.custom[name]; want == nil && !ok {
							want = org.ErrNotFound
						}
						if want == nil && !m.covers(a, []string{name}, m.custom) {
							want = org.ErrForbidden
						}
						if want == nil {
							for _, roles := range m.members {
								if slices.Contains(roles, name) {
									want = org.ErrRoleInUse
								}
							}
						}
						err := svc.DeleteRole(ctx, as(a), m.id, name)
						expect(t, fmt.Sprintf("%s deletes %s (%v) in %s", a, name, m.custom[name], m.id), err, want)
						if err == nil {
							delete(m.custom, name)
						}
					},
					"": w.verify,
				})
			})
		})
	}
}
