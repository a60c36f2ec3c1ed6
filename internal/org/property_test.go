package org_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
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

type world struct {
	s     store.Store
	svc   *org.Service
	orgID string
	users []string
}

func (w *world) snapshot(t *rapid.T) (members map[string][]string, custom map[string][]string) {
	ctx := context.Background()
	members = map[string][]string{}
	ms, err := w.s.ListMembers(ctx, w.orgID, "", 100)
	if err != nil {
		t.Fatalf("ListMembers: %v", err)
	}
	for _, m := range ms {
		members[m.UserID] = m.Roles
	}
	custom = map[string][]string{}
	roles, err := w.s.ListRoles(ctx, w.orgID)
	if err != nil {
		t.Fatalf("ListRoles: %v", err)
	}
	for _, r := range roles {
		custom[r.Name] = r.Permissions
	}
	return members, custom
}

// TestMembershipInvariantsProperty applies random invite+accept, role changes, removals,
// role definitions and deletions by random actors, and after each step checks: the org
// has an owner; every successful change was made by an actor holding everything it
// granted (and the permission it needed); authz checks agree with the stored roles;
// non-members see nothing.
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
			svc := &org.Service{Store: db, Composer: composer, Outbox: noWake{}, LinkBase: "http://x", Now: time.Now, CacheTTL: 5 * time.Second}
			n := 0
			rapid.Check(t, func(t *rapid.T) {
				n++
				ctx := context.Background()
				w := &world{s: db, svc: svc}
				for i := 0; i < 4; i++ {
					u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: fmt.Sprintf("p%d-%d-%s@example.com", n, i, uuid.NewString()[:8]),
						EmailVerified: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
					if err := db.CreateUser(ctx, u); err != nil {
						t.Fatal(err)
					}
					w.users = append(w.users, u.ID)
				}
				o, err := svc.Create(ctx, w.users[0], "P", fmt.Sprintf("p-%d-%s", n, uuid.NewString()[:8]))
				if err != nil {
					t.Fatal(err)
				}
				w.orgID = o.ID
				roleNames := []string{"owner", "admin", "member", "r1", "r2"}
				drawRoles := func(t *rapid.T) []string {
					return rapid.SliceOfNDistinct(rapid.SampledFrom(roleNames), 1, 2, rapid.ID[string]).Draw(t, "roles")
				}
				actor := func(t *rapid.T) string { return rapid.SampledFrom(w.users).Draw(t, "actor") }
				// permitted: the actor was a member holding need and everything grant grants.
				permitted := func(actorID, need string, grant map[string]bool, grantsOwner bool, members, custom map[string][]string) bool {
					roles, ok := members[actorID]
					if !ok {
						return false
					}
					has := held(roles, custom)
					if need != "" && !has[need] {
						return false
					}
					if grantsOwner && !slices.Contains(roles, "owner") {
						return false
					}
					for p := range grant {
						if !has[p] {
							return false
						}
					}
					return true
				}
				t.Repeat(map[string]func(*rapid.T){
					"invite and accept": func(t *rapid.T) {
						a, target, roles := actor(t), rapid.SampledFrom(w.users).Draw(t, "target"), drawRoles(t)
						members, custom := w.snapshot(t)
						u, _ := db.UserByID(ctx, target)
						inv, err := svc.Invite(ctx, org.Caller{UserID: a}, w.orgID, u.Email, roles)
						if err != nil {
							return
						}
						if !permitted(a, "members:invite", held(roles, custom), slices.Contains(roles, "owner"), members, custom) {
							t.Fatalf("%s invited with %v without holding it", a, roles)
						}
						// The token went out by mail: read it from the outbox, as the mail server would.
						var body string
						if err := raw.QueryRow(`SELECT body_text FROM outbox WHERE recipient = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, u.Email).Scan(&body); err != nil {
							t.Fatalf("invitation mail: %v", err)
						}
						m := tokenRE.FindStringSubmatch(body)
						if m == nil {
							t.Fatalf("no token in %q", body)
						}
						_, member := members[target]
						acc, err := svc.Accept(ctx, target, m[1])
						switch {
						case member && !errors.Is(err, org.ErrAlreadyMember):
							t.Fatalf("a member accepted again: %v", err)
						case !member && err != nil:
							t.Fatalf("Accept: %v", err)
						case !member && acc.ID != inv.ID:
							t.Fatalf("accepted %s, want %s", acc.ID, inv.ID)
						}
					},
					"set roles": func(t *rapid.T) {
						a, target, roles := actor(t), rapid.SampledFrom(w.users).Draw(t, "target"), drawRoles(t)
						members, custom := w.snapshot(t)
						_, err := svc.SetRoles(ctx, org.Caller{UserID: a}, w.orgID, target, roles)
						if err != nil {
							return
						}
						grant := held(roles, custom)
						for p := range held(members[target], custom) {
							grant[p] = true // acting on someone needs everything they hold too
						}
						if !permitted(a, "members:update", grant, slices.Contains(roles, "owner") || slices.Contains(members[target], "owner"), members, custom) {
							t.Fatalf("%s set %s's roles to %v without holding them", a, target, roles)
						}
					},
					"remove": func(t *rapid.T) {
						a, target := actor(t), rapid.SampledFrom(w.users).Draw(t, "target")
						members, custom := w.snapshot(t)
						err := svc.Remove(ctx, org.Caller{UserID: a}, w.orgID, target)
						if err != nil {
							return
						}
						need := "members:remove"
						if a == target {
							need = ""
						}
						if !permitted(a, need, held(members[target], custom), slices.Contains(members[target], "owner"), members, custom) {
							t.Fatalf("%s removed %s without the right", a, target)
						}
					},
					"define role": func(t *rapid.T) {
						a := actor(t)
						name := rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "name")
						perms := rapid.SliceOfNDistinct(rapid.SampledFrom(universe), 0, 3, rapid.ID[string]).Draw(t, "perms")
						members, custom := w.snapshot(t)
						if _, err := svc.PutRole(ctx, org.Caller{UserID: a}, w.orgID, name, perms); err != nil {
							return
						}
						grant := held([]string{name}, map[string][]string{name: perms})
						for p := range held([]string{name}, custom) {
							grant[p] = true
						}
						if !permitted(a, "roles:manage", grant, false, members, custom) {
							t.Fatalf("%s defined %s as %v without holding it", a, name, perms)
						}
					},
					"delete role": func(t *rapid.T) {
						a := actor(t)
						name := rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "name")
						members, custom := w.snapshot(t)
						if err := svc.DeleteRole(ctx, org.Caller{UserID: a}, w.orgID, name); err != nil {
							return
						}
						if !permitted(a, "roles:manage", held([]string{name}, custom), false, members, custom) {
							t.Fatalf("%s deleted %s without holding it", a, name)
						}
					},
					"": func(t *rapid.T) {
						members, custom := w.snapshot(t)
						owners := 0
						for _, roles := range members {
							if slices.Contains(roles, "owner") {
								owners++
							}
						}
						if owners == 0 {
							t.Fatal("the organization has no owner")
						}
						var checker string
						for id, roles := range members {
							if held(roles, custom)["members:read"] {
								checker = id
								break
							}
						}
						for _, u := range w.users {
							want := held(members[u], custom)
							for _, p := range universe {
								if checker == "" {
									break
								}
								got, err := svc.Check(ctx, org.Caller{UserID: checker}, w.orgID, u, p)
								if err != nil {
									t.Fatalf("Check: %v", err)
								}
								if got != want[p] {
									t.Fatalf("Check(%s, %s) = %v; stored roles %v give %v", u, p, got, members[u], want[p])
								}
							}
							if _, member := members[u]; !member {
								if _, err := svc.Get(ctx, org.Caller{UserID: u}, w.orgID); !errors.Is(err, org.ErrNotFound) {
									t.Fatalf("a non-member reads the org: %v", err)
								}
								if _, err := svc.Members(ctx, org.Caller{UserID: u}, w.orgID, "", 10); !errors.Is(err, org.ErrNotFound) {
									t.Fatalf("a non-member lists members: %v", err)
								}
							}
						}
					},
				})
			})
		})
	}
}
