package api_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// orgUser is a verified user with a session.
type orgUser struct {
	email, id string
	tok       tokens
}

// verifiedUser registers, verifies the email and logs in.
func (e *env) verifiedUser(t *testing.T, prefix string) orgUser {
	t.Helper()
	email := uniqueEmail(prefix)
	id := e.register(t, email, goodPassword)
	tok := e.mail.WaitFor(t, email, "Verify").Token()
	e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": tok}, "").Expect(t, 200)
	return orgUser{email: email, id: id, tok: e.login(t, email, goodPassword)}
}

func (e *env) createOrg(t *testing.T, owner orgUser, slug string) string {
	t.Helper()
	r := e.c.Do(t, "POST", "/v1/orgs", map[string]any{"name": "Org " + slug, "slug": slug}, owner.tok.Access).Expect(t, 201)
	return r.Str("id")
}

// ownedOrg registers a verified user and has them create an organization whose slug is
// slugPrefix plus the end of their id (unique per test run).
func (e *env) ownedOrg(t *testing.T, userPrefix, slugPrefix string) (orgUser, string) {
	t.Helper()
	owner := e.verifiedUser(t, userPrefix)
	return owner, e.createOrg(t, owner, slugPrefix+"-"+owner.id[len(owner.id)-8:])
}

// join invites u to org with roles (by inviter) and accepts.
func (e *env) join(t *testing.T, inviter orgUser, orgID string, u orgUser, roles ...string) {
	t.Helper()
	e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": u.email, "roles": roles}, inviter.tok.Access).Expect(t, 201)
	tok := e.mail.WaitFor(t, u.email, "invited you").Token()
	e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": tok}, u.tok.Access).Expect(t, 200)
}

func claimsOf(t *testing.T, access string) map[string]any {
	t.Helper()
	parts := strings.Split(access, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(raw, &c)
	return c
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestOrganizationLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner := e.verifiedUser(t, "owner")
		slug := "acme-" + strings.TrimSuffix(strings.Split(owner.email, "-")[1], "@example.com")
		r := e.c.Do(t, "POST", "/v1/orgs", map[string]any{"name": "Acme", "slug": slug}, owner.tok.Access).Expect(t, 201)
		orgID := r.Str("id")
		if r.Str("name") != "Acme" || r.Str("slug") != slug || r.Str("created_at") == "" {
			t.Fatalf("created %s", r.Raw)
		}
		e.c.Do(t, "POST", "/v1/orgs", map[string]any{"name": "Other", "slug": slug}, owner.tok.Access).Expect(t, 409, "conflict")
		e.c.Do(t, "POST", "/v1/orgs", map[string]any{"name": "Bad", "slug": "Bad Slug"}, owner.tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "POST", "/v1/orgs", map[string]any{"name": "", "slug": "ok-slug"}, owner.tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "POST", "/v1/orgs", map[string]any{"name": "x", "slug": "y-slug"}, "").Expect(t, 401)

		list := e.c.Do(t, "GET", "/v1/orgs", nil, owner.tok.Access).Expect(t, 200)
		items := list.Body["items"].([]any)
		if len(items) != 1 || !slices.Equal(strs(items[0].(map[string]any)["roles"]), []string{"owner"}) {
			t.Fatalf("GET /v1/orgs = %s", list.Raw)
		}
		e.c.Do(t, "GET", "/v1/orgs/"+orgID, nil, owner.tok.Access).Expect(t, 200)
		p := e.c.Do(t, "PATCH", "/v1/orgs/"+orgID, map[string]any{"name": "Acme Inc"}, owner.tok.Access).Expect(t, 200)
		if p.Str("name") != "Acme Inc" || p.Str("slug") != slug {
			t.Fatalf("PATCH = %s", p.Raw)
		}

		// Members, roles, invitation.
		bob := e.verifiedUser(t, "bob")
		e.join(t, owner, orgID, bob, "member")
		members := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/members", nil, bob.tok.Access).Expect(t, 200)
		if n := len(members.Body["items"].([]any)); n != 2 {
			t.Fatalf("members = %s", members.Raw)
		}
		for _, it := range members.Body["items"].([]any) {
			m := it.(map[string]any)
			for _, k := range []string{"user_id", "email", "name", "roles", "joined_at"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("member lacks %s: %v", k, m)
				}
			}
		}
		// bob, a plain member, may read but not change anything.
		e.c.Do(t, "PATCH", "/v1/orgs/"+orgID, map[string]any{"name": "Bob's"}, bob.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/roles", nil, bob.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/audit", nil, bob.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID, nil, bob.tok.Access).Expect(t, 403, "forbidden")

		roles := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/roles", nil, owner.tok.Access).Expect(t, 200)
		if n := len(roles.Body["items"].([]any)); n != 3 {
			t.Fatalf("roles = %s", roles.Raw)
		}
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/roles/billing", map[string]any{"permissions": []string{"org:read", "app:invoices:write"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/roles/admin", map[string]any{"permissions": []string{"org:read"}}, owner.tok.Access).Expect(t, 409, "conflict")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/roles/owner", nil, owner.tok.Access).Expect(t, 409, "conflict")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/roles/Bad Name", map[string]any{"permissions": []string{}}, owner.tok.Access).Expect(t, 422)
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/roles/x", map[string]any{"permissions": []string{"root:all"}}, owner.tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/members/"+bob.id+"/roles", map[string]any{"roles": []string{"member", "billing"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/members/"+bob.id+"/roles", map[string]any{"roles": []string{"nope"}}, owner.tok.Access).Expect(t, 422)

		check := func(user, perm string) bool {
			r := e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/authz/check", map[string]any{"user_id": user, "permission": perm}, owner.tok.Access).Expect(t, 200)
			return r.Body["allowed"] == true
		}
		if !check(bob.id, "app:invoices:write") || check(bob.id, "members:invite") || !check(owner.id, "org:delete") {
			t.Fatal("authz check disagrees with roles")
		}
		stranger := e.verifiedUser(t, "stranger")
		if check(stranger.id, "org:read") {
			t.Fatal("a non-member holds org:read")
		}
		e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/authz/check", map[string]any{"user_id": bob.id, "permission": "bogus"}, owner.tok.Access).Expect(t, 422)

		// Org-scoped session: bob logs in to the org.
		scoped := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": bob.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 200)
		c := claimsOf(t, scoped.Str("access_token"))
		if c["org_id"] != orgID || !slices.Equal(strs(c["roles"]), []string{"member", "billing"}) ||
			!slices.Contains(strs(c["permissions"]), "app:invoices:write") || !slices.Contains(strs(c["permissions"]), "members:read") {
			t.Fatalf("scoped claims = %v", c)
		}
		// A role change reaches the token at the next refresh.
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/members/"+bob.id+"/roles", map[string]any{"roles": []string{"member"}}, owner.tok.Access).Expect(t, 200)
		ref := e.refresh(t, scoped.Str("refresh_token")).Expect(t, 200)
		if c := claimsOf(t, ref.Str("access_token")); slices.Contains(strs(c["permissions"]), "app:invoices:write") || c["org_id"] != orgID {
			t.Fatalf("after the role change, claims = %v", c)
		}
		// A non-member cannot scope a session to the org, at login or refresh.
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": stranger.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 403, "forbidden")
		e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": stranger.tok.Refresh, "org_id": orgID}, "").Expect(t, 403, "forbidden")
		e.refresh(t, stranger.tok.Refresh).Expect(t, 200) // the refused switch did not burn the token

		// Removal takes effect on the next refresh: the session continues unscoped.
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+bob.id, nil, owner.tok.Access).Expect(t, 204)
		after := e.refresh(t, ref.Str("refresh_token")).Expect(t, 200)
		if c := claimsOf(t, after.Str("access_token")); c["org_id"] != nil || c["roles"] != nil {
			t.Fatalf("a removed member's token still carries the org: %v", c)
		}
		e.c.Do(t, "GET", "/v1/orgs/"+orgID, nil, bob.tok.Access).Expect(t, 404, "not_found")

		// Invitations: list and revoke.
		carol := e.verifiedUser(t, "carol")
		inv := e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": carol.email, "roles": []string{"member"}}, owner.tok.Access).Expect(t, 201)
		if exp, _ := time.Parse(time.RFC3339, inv.Str("expires_at")); time.Until(exp) < 6*24*time.Hour {
			t.Fatalf("invitation expires at %s", inv.Str("expires_at"))
		}
		pending := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/invitations", nil, owner.tok.Access).Expect(t, 200)
		if len(pending.Body["items"].([]any)) != 1 {
			t.Fatalf("pending = %s", pending.Raw)
		}
		carolTok := e.mail.WaitFor(t, carol.email, "invited you").Token()
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/invitations/"+inv.Str("id"), nil, owner.tok.Access).Expect(t, 204)
		e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": carolTok}, carol.tok.Access).Expect(t, 400, "invalid_token")

		// A policy change and a role deleted, for the audit.
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": false, "session_ttl_seconds": 0, "password_min_length": 12}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/roles/billing", nil, owner.tok.Access).Expect(t, 204)

		// Org audit.
		aud := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/audit?limit=200", nil, owner.tok.Access).Expect(t, 200)
		var acts []string
		for _, it := range aud.Body["items"].([]any) {
			acts = append(acts, it.(map[string]any)["action"].(string))
		}
		for _, want := range []string{"org.created", "org.updated", "org.member.invited", "org.member.joined", "org.role.defined",
			"org.member.roles_changed", "org.member.removed", "org.invitation.revoked", "org.policy.changed", "org.role.deleted"} {
			if !slices.Contains(acts, want) {
				t.Errorf("org audit lacks %s: %v", want, acts)
			}
		}

		// Delete: everything under the org goes; audit stays.
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID, nil, owner.tok.Access).Expect(t, 204)
		e.c.Do(t, "GET", "/v1/orgs/"+orgID, nil, owner.tok.Access).Expect(t, 404)
		if n := len(e.c.Do(t, "GET", "/v1/orgs", nil, owner.tok.Access).Expect(t, 200).Body["items"].([]any)); n != 0 {
			t.Fatalf("%d orgs listed after deletion", n)
		}
		if evs, _ := e.srv.App.Store().ListAudit(t.Context(), storeFilterAction("org.created")); len(evs) == 0 {
			t.Fatal("audit rows went with the org")
		}
		if evs, _ := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{OrgID: orgID, Action: "org.deleted", Limit: 10}); len(evs) != 1 || evs[0].ActorID != owner.id {
			t.Fatalf("org.deleted events: %+v", evs)
		}
	})
}

func TestInvitationRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "iowner", "inv")
		admin := e.verifiedUser(t, "iadmin")
		e.join(t, owner, orgID, admin, "admin")

		// An admin cannot invite an owner; an owner can.
		target := e.verifiedUser(t, "itarget")
		e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": target.email, "roles": []string{"owner"}}, admin.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": target.email, "roles": []string{}}, admin.tok.Access).Expect(t, 422)
		e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": "bad", "roles": []string{"member"}}, admin.tok.Access).Expect(t, 422)

		// Wrong addressee, and unverified addressee, cannot accept.
		e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": target.email, "roles": []string{"member"}}, admin.tok.Access).Expect(t, 201)
		tok := e.mail.WaitFor(t, target.email, "invited you").Token()
		other := e.verifiedUser(t, "iother")
		e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": tok}, other.tok.Access).Expect(t, 403, "forbidden")
		unverifiedEmail := uniqueEmail("iunverified")
		e.register(t, unverifiedEmail, goodPassword)
		uv := e.login(t, unverifiedEmail, goodPassword)
		e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": unverifiedEmail, "roles": []string{"member"}}, admin.tok.Access).Expect(t, 201)
		uvTok := e.mail.WaitFor(t, unverifiedEmail, "invited you").Token()
		e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": uvTok}, uv.Access).Expect(t, 403, "forbidden")

		// The addressee accepts once.
		acc := e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": tok}, target.tok.Access).Expect(t, 200)
		if acc.Str("org_id") != orgID || !slices.Equal(strs(acc.Body["roles"]), []string{"member"}) {
			t.Fatalf("accept = %s", acc.Raw)
		}
		e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": tok}, target.tok.Access).Expect(t, 400, "invalid_token")
		e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": tok}, "").Expect(t, 401)
	})
}

func TestInvitationExpires(t *testing.T) {
	clock := testserver.NewClock()
	e := newEnv(t, testdbSQLite(t), testserver.WithApp(appClock(clock)), testserver.With("GATEHOUSE_REFRESH_IDLE_TTL", "720h"))
	owner := e.verifiedUser(t, "xowner")
	orgID := e.createOrg(t, owner, "exp-org")
	u := e.verifiedUser(t, "xuser")
	e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": u.email, "roles": []string{"member"}}, owner.tok.Access).Expect(t, 201)
	tok := e.mail.WaitFor(t, u.email, "invited you").Token()
	if n := len(e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/invitations", nil, owner.tok.Access).Expect(t, 200).Body["items"].([]any)); n != 1 {
		t.Fatalf("%d pending invitations, want 1", n)
	}
	clock.Advance(7*24*time.Hour + time.Minute)
	fresh := e.refresh(t, u.tok.Refresh).Expect(t, 200).Str("access_token")
	e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": tok}, fresh).Expect(t, 400, "invalid_token")
	// An expired invitation is no longer pending.
	ownerAccess := e.refresh(t, owner.tok.Refresh).Expect(t, 200).Str("access_token")
	if l := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/invitations", nil, ownerAccess).Expect(t, 200); len(l.Body["items"].([]any)) != 0 {
		t.Fatalf("expired invitations are listed: %s", l.Raw)
	}
}

func TestNoEscalationAndLastOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "eowner", "esc")
		admin := e.verifiedUser(t, "eadmin")
		member := e.verifiedUser(t, "emember")
		e.join(t, owner, orgID, admin, "admin")
		e.join(t, owner, orgID, member, "member")
		rolesURL := func(u orgUser) string { return "/v1/orgs/" + orgID + "/members/" + u.id + "/roles" }

		// A member cannot raise their own roles.
		e.c.Do(t, "PUT", rolesURL(member), map[string]any{"roles": []string{"admin"}}, member.tok.Access).Expect(t, 403, "forbidden")
		// An admin cannot make anyone an owner, nor touch the owner.
		e.c.Do(t, "PUT", rolesURL(member), map[string]any{"roles": []string{"owner"}}, admin.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "PUT", rolesURL(owner), map[string]any{"roles": []string{"member"}}, admin.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+owner.id, nil, admin.tok.Access).Expect(t, 403, "forbidden")
		// A custom role with org:delete is beyond an admin.
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/roles/deleter", map[string]any{"permissions": []string{"org:delete"}}, admin.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/roles/deleter", map[string]any{"permissions": []string{"org:delete"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "PUT", rolesURL(member), map[string]any{"roles": []string{"deleter"}}, admin.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/roles/deleter", nil, admin.tok.Access).Expect(t, 403, "forbidden")
		// An admin can grant what admins hold.
		e.c.Do(t, "PUT", rolesURL(member), map[string]any{"roles": []string{"admin"}}, admin.tok.Access).Expect(t, 200)
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID, nil, admin.tok.Access).Expect(t, 403, "forbidden")

		// The last owner can neither leave, be removed, nor be demoted.
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+owner.id, nil, owner.tok.Access).Expect(t, 409, "last_owner")
		e.c.Do(t, "PUT", rolesURL(owner), map[string]any{"roles": []string{"admin"}}, owner.tok.Access).Expect(t, 409, "last_owner")
		// With a second owner, the first may step down.
		e.c.Do(t, "PUT", rolesURL(admin), map[string]any{"roles": []string{"owner"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "PUT", rolesURL(owner), map[string]any{"roles": []string{"member"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+admin.id, nil, admin.tok.Access).Expect(t, 409, "last_owner")
		// Anyone may leave.
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+owner.id, nil, owner.tok.Access).Expect(t, 204)
		e.c.Do(t, "GET", "/v1/orgs/"+orgID, nil, owner.tok.Access).Expect(t, 404)
	})
}

// Users of org A try every org endpoint on org B by id, with valid and invalid input:
// 404 with nothing in it, and nothing changes. The owner of A naming B's invitation,
// member or role under A's own id finds nothing either.
func TestTenantIsolationMatrix(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		alice := e.verifiedUser(t, "alice")
		bob := e.verifiedUser(t, "bobiso")
		carol := e.verifiedUser(t, "caroliso")
		orgA := e.createOrg(t, alice, "iso-a-"+alice.id[len(alice.id)-8:]) // alice is an owner, just elsewhere
		orgB := e.createOrg(t, bob, "iso-b-"+bob.id[len(bob.id)-8:])
		e.c.Do(t, "PUT", "/v1/orgs/"+orgB+"/roles/secret", map[string]any{"permissions": []string{"app:x"}}, bob.tok.Access).Expect(t, 200)
		e.join(t, bob, orgB, carol, "member", "secret")
		inv := e.c.Do(t, "POST", "/v1/orgs/"+orgB+"/invitations", map[string]any{"email": uniqueEmail("x"), "roles": []string{"member"}}, bob.tok.Access).Expect(t, 201)
		before := e.c.Do(t, "GET", "/v1/orgs/"+orgB, nil, bob.tok.Access).Expect(t, 200)
		auditBefore := len(e.c.Do(t, "GET", "/v1/orgs/"+orgB+"/audit?limit=200", nil, bob.tok.Access).Expect(t, 200).Body["items"].([]any))
		b := "/v1/orgs/" + orgB
		ttl10 := map[string]any{"require_mfa": false, "session_ttl_seconds": 10, "password_min_length": 0}
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", b, nil},
			{"PATCH", b, map[string]any{"name": "pwned"}},
			{"DELETE", b, nil},
			{"GET", b + "/members", nil},
			{"POST", b + "/invitations", map[string]any{"email": alice.email, "roles": []string{"owner"}}},
			{"GET", b + "/invitations", nil},
			{"DELETE", b + "/invitations/" + inv.Str("id"), nil},
			{"PUT", b + "/members/" + alice.id + "/roles", map[string]any{"roles": []string{"owner"}}},
			{"PUT", b + "/members/" + bob.id + "/roles", map[string]any{"roles": []string{"member"}}},
			{"DELETE", b + "/members/" + bob.id, nil},
			{"DELETE", b + "/members/" + carol.id, nil},
			{"GET", b + "/roles", nil},
			{"PUT", b + "/roles/secret", map[string]any{"permissions": []string{"org:read"}}},
			{"DELETE", b + "/roles/secret", nil},
			{"PUT", b + "/roles/owner", map[string]any{"permissions": []string{}}},
			{"DELETE", b + "/roles/owner", nil},
			{"POST", b + "/authz/check", map[string]any{"user_id": bob.id, "permission": "org:read"}},
			{"GET", b + "/policy", nil},
			{"PUT", b + "/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}},
			{"GET", b + "/audit", nil},
			{"GET", "/v1/orgs/00000000-0000-7000-8000-000000000000", nil},
			{"GET", "/v1/orgs/not-a-uuid", nil},
			// Invalid input is still not found: membership is checked before anything else.
			{"GET", b + "/members?limit=999", nil},
			{"GET", b + "/invitations?limit=0", nil},
			{"GET", b + "/audit?limit=999", nil},
			{"GET", b + "/audit?cursor=not-a-cursor", nil},
			{"PATCH", b, map[string]any{"name": ""}},
			{"PATCH", b, map[string]any{"slug": "Bad Slug"}},
			{"PATCH", b, map[string]any{"bogus": true}},
			{"PATCH", b, "{not json"},
			{"POST", b + "/invitations", map[string]any{"email": "bad", "roles": []string{}}},
			{"POST", b + "/invitations", map[string]any{"email": alice.email, "roles": []string{"Bad Name"}}},
			{"PUT", b + "/members/" + bob.id + "/roles", map[string]any{"roles": []string{}}},
			{"PUT", b + "/members/" + carol.id + "/roles", map[string]any{"roles": []string{"nope"}}},
			{"PUT", b + "/roles/Bad%20Name", map[string]any{"permissions": []string{}}},
			{"PUT", b + "/roles/secret", map[string]any{"permissions": []string{"root:all"}}},
			{"PUT", b + "/roles/secret", map[string]any{}},
			{"POST", b + "/authz/check", map[string]any{"user_id": "nope", "permission": "bogus"}},
			{"PUT", b + "/policy", map[string]any{"require_mfa": true}},
			{"PUT", b + "/policy", ttl10},
		} {
			r := e.c.Do(t, c.method, c.path, c.body, alice.tok.Access)
			if r.Status != 404 || r.Code() != "not_found" || strings.Contains(string(r.Raw), orgB) || strings.Contains(string(r.Raw), "secret") {
				t.Errorf("%s %s %v as an outsider: %d %s", c.method, c.path, c.body, r.Status, r.Raw)
			}
		}
		// B is not among alice's organizations.
		for _, it := range e.c.Do(t, "GET", "/v1/orgs", nil, alice.tok.Access).Expect(t, 200).Body["items"].([]any) {
			if it.(map[string]any)["id"] == orgB {
				t.Fatal("GET /v1/orgs lists an org the caller is not in")
			}
		}

		// Alice, owner of A, names B's invitation, members and role under A's id.
		a := "/v1/orgs/" + orgA
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"DELETE", a + "/invitations/" + inv.Str("id"), nil},
			{"PUT", a + "/members/" + bob.id + "/roles", map[string]any{"roles": []string{"member"}}},
			{"PUT", a + "/members/" + carol.id + "/roles", map[string]any{"roles": []string{"member"}}},
			{"DELETE", a + "/members/" + bob.id, nil},
			{"DELETE", a + "/members/" + carol.id, nil},
			{"DELETE", a + "/roles/secret", nil},
		} {
			r := e.c.Do(t, c.method, c.path, c.body, alice.tok.Access)
			if r.Status != 404 || r.Code() != "not_found" || strings.Contains(string(r.Raw), orgB) {
				t.Errorf("%s %s by A's owner: %d %s", c.method, c.path, r.Status, r.Raw)
			}
		}
		// B's role does not exist in A: it can be neither granted nor invited with there.
		e.c.Do(t, "PUT", a+"/members/"+alice.id+"/roles", map[string]any{"roles": []string{"owner", "secret"}}, alice.tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "POST", a+"/invitations", map[string]any{"email": uniqueEmail("y"), "roles": []string{"secret"}}, alice.tok.Access).Expect(t, 422, "validation_failed")
		// B's members hold nothing in A.
		for _, u := range []orgUser{bob, carol} {
			if r := e.c.Do(t, "POST", a+"/authz/check", map[string]any{"user_id": u.id, "permission": "app:x"}, alice.tok.Access).Expect(t, 200); r.Body["allowed"] != false {
				t.Fatalf("B's member holds app:x in A: %s", r.Raw)
			}
		}
		if n := len(e.c.Do(t, "GET", a+"/members", nil, alice.tok.Access).Expect(t, 200).Body["items"].([]any)); n != 1 {
			t.Fatalf("A has %d members", n)
		}

		// Nothing changed in B.
		g := e.c.Do(t, "GET", b, nil, bob.tok.Access).Expect(t, 200)
		if g.Str("name") != before.Str("name") || g.Str("slug") != before.Str("slug") {
			t.Fatalf("an outsider changed the org: %s", g.Raw)
		}
		if got := e.memberRoles(t, orgB, bob, bob.id); !slices.Equal(got, []string{"owner"}) {
			t.Fatalf("bob holds %v in B", got)
		}
		if got := e.memberRoles(t, orgB, bob, carol.id); !slices.Equal(got, []string{"member", "secret"}) {
			t.Fatalf("carol holds %v in B", got)
		}
		if n := len(e.c.Do(t, "GET", b+"/members", nil, bob.tok.Access).Expect(t, 200).Body["items"].([]any)); n != 2 {
			t.Fatalf("B has %d members", n)
		}
		pending := e.c.Do(t, "GET", b+"/invitations", nil, bob.tok.Access).Expect(t, 200).Body["items"].([]any)
		if len(pending) != 1 || pending[0].(map[string]any)["id"] != inv.Str("id") {
			t.Fatal("the invitation was revoked or replaced by an outsider")
		}
		pol := e.c.Do(t, "GET", b+"/policy", nil, bob.tok.Access).Expect(t, 200)
		if pol.Body["require_mfa"] != false || pol.Body["session_ttl_seconds"] != float64(0) || pol.Body["password_min_length"] != float64(0) {
			t.Fatalf("an outsider changed the policy: %s", pol.Raw)
		}
		roles := e.c.Do(t, "GET", b+"/roles", nil, bob.tok.Access).Expect(t, 200).Body["items"].([]any)
		if len(roles) != 4 {
			t.Fatal("an outsider changed the roles")
		}
		for _, it := range roles {
			if r := it.(map[string]any); r["name"] == "secret" && !slices.Equal(strs(r["permissions"]), []string{"app:x"}) {
				t.Fatalf("an outsider changed the secret role: %v", r)
			}
		}
		if r := e.c.Do(t, "POST", b+"/authz/check", map[string]any{"user_id": carol.id, "permission": "app:x"}, bob.tok.Access).Expect(t, 200); r.Body["allowed"] != true {
			t.Fatal("carol lost app:x in B")
		}
		aud := e.c.Do(t, "GET", b+"/audit?limit=200", nil, bob.tok.Access).Expect(t, 200).Body["items"].([]any)
		if len(aud) != auditBefore {
			t.Fatalf("B's audit grew from %d to %d events during the outsider's attempts", auditBefore, len(aud))
		}
	})
}

func TestOrgPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "powner", "pol")
		def := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/policy", nil, owner.tok.Access).Expect(t, 200)
		if def.Body["require_mfa"] != false || def.Body["session_ttl_seconds"] != float64(0) || def.Body["password_min_length"] != float64(0) {
			t.Fatalf("default policy = %s", def.Raw)
		}
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": false, "session_ttl_seconds": 10, "password_min_length": 0}, owner.tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": false}, owner.tok.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": false, "session_ttl_seconds": 3600, "password_min_length": 20}, owner.tok.Access).Expect(t, 200)

		// session_ttl_seconds caps an org-scoped session.
		s := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": owner.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 200)
		sess, err := e.srv.App.Store().SessionByID(t.Context(), s.Str("session_id"))
		if err != nil || sess.ExpiresAt.Sub(sess.CreatedAt) != time.Hour {
			t.Fatalf("org session lifetime = %v (%v)", sess.ExpiresAt.Sub(sess.CreatedAt), err)
		}
		// password_min_length applies to members' password changes.
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": "nineteen chars okay"}, owner.tok.Access).Expect(t, 422, "weak_password")
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": "twenty characters ok"}, owner.tok.Access).Expect(t, 204)

		// require_mfa: a member without a second factor is told to enroll one.
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": owner.email, "password": "twenty characters ok", "org_id": orgID}, "").Expect(t, 403, "mfa_enrollment_required")
	})
}

// session_ttl_seconds counts from the session's start, whether the policy arrives while
// the session is scoped to the org (applied at its next refresh) or the session switches
// into the org later; a session already past the limit ends.
func TestOrgSessionLifetimeCountsFromSessionStart(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		clock := testserver.NewClock()
		e := newEnv(t, db(t), testserver.WithApp(appClock(clock)))
		owner, orgID := e.ownedOrg(t, "towner", "ttl")
		member := e.verifiedUser(t, "tmember")
		e.join(t, owner, orgID, member, "member")
		lifetime := func(sessionID string) time.Duration {
			t.Helper()
			sess, err := e.srv.App.Store().SessionByID(t.Context(), sessionID)
			if err != nil {
				t.Fatal(err)
			}
			return sess.ExpiresAt.Sub(sess.CreatedAt)
		}
		ownerRT := owner.tok.Refresh
		setTTL := func(seconds int) {
			t.Helper()
			r := e.refresh(t, ownerRT).Expect(t, 200)
			ownerRT = r.Str("refresh_token")
			e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": false, "session_ttl_seconds": seconds, "password_min_length": 0},
				r.Str("access_token")).Expect(t, 200)
		}

		// Scoped first, policy later: the next refresh in the org applies it from the start.
		scoped := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": member.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 200)
		clock.Advance(30 * time.Minute)
		setTTL(3600)
		rt := e.refresh(t, scoped.Str("refresh_token")).Expect(t, 200).Str("refresh_token")
		if d := lifetime(scoped.Str("session_id")); d != time.Hour {
			t.Fatalf("after a refresh in the org, the session lives %v, want 1h", d)
		}
		clock.Advance(31 * time.Minute) // 61 minutes after login
		e.refresh(t, rt).Expect(t, 401, "invalid_token")

		// Unscoped first, switch later: the limit still counts from the login.
		setTTL(0)
		plain := e.login(t, member.email, goodPassword)
		clock.Advance(50 * time.Minute)
		setTTL(3600)
		sw := e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": plain.Refresh, "org_id": orgID}, "").Expect(t, 200)
		if d := lifetime(plain.Session); d != time.Hour {
			t.Fatalf("after switching into the org, the session lives %v, want 1h", d)
		}
		clock.Advance(11 * time.Minute)
		e.refresh(t, sw.Str("refresh_token")).Expect(t, 401, "invalid_token")

		// Too old for the org: the switch is refused (403), and the refresh token, which
		// the refusal did not spend, goes on working unscoped.
		setTTL(0)
		older := e.login(t, member.email, goodPassword)
		clock.Advance(2 * time.Hour)
		setTTL(3600)
		e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": older.Refresh, "org_id": orgID}, "").Expect(t, 403, "forbidden")
		e.refresh(t, older.Refresh).Expect(t, 200)

		// Already older than the new limit: the refresh ends the session, and the end is stored.
		setTTL(0)
		old := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": member.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 200)
		clock.Advance(2 * time.Hour)
		setTTL(3600)
		e.refresh(t, old.Str("refresh_token")).Expect(t, 401, "invalid_token")
		if d := lifetime(old.Str("session_id")); d != time.Hour {
			t.Fatalf("an over-age session's end was not stored: lives %v", d)
		}
		e.refresh(t, old.Str("refresh_token")).Expect(t, 401, "invalid_token")
	})
}

// Refreshing with org_id of the session's own org after the user left it is a refused
// scope (403), not a silent drop; without org_id the session continues unscoped.
func TestRefreshWithCurrentOrgAfterRemoval(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "rowner", "rem")
		bob := e.verifiedUser(t, "rbob")
		e.join(t, owner, orgID, bob, "member")
		scoped := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": bob.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 200)
		// While a member, naming the current org is an ordinary refresh.
		rt := e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": scoped.Str("refresh_token"), "org_id": orgID}, "").Expect(t, 200).Str("refresh_token")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+bob.id, nil, owner.tok.Access).Expect(t, 204)
		e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": rt, "org_id": orgID}, "").Expect(t, 403, "forbidden")
		after := e.refresh(t, rt).Expect(t, 200) // the refused scope did not burn the token
		if c := claimsOf(t, after.Str("access_token")); c["org_id"] != nil {
			t.Fatalf("a removed member's token still carries the org: %v", c)
		}
	})
}

// A stranger's login naming an org they are not in (refused, or waiting for a second
// factor) is audited, but not into that org's log; a member's refused login is.
func TestStrangersDoNotWriteIntoOrgAudit(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "aowner", "aud")
		member := e.verifiedUser(t, "amember")
		e.join(t, owner, orgID, member, "member")
		stranger := e.verifiedUser(t, "astranger")
		mfaStranger := e.verifiedUser(t, "amfastranger")
		e.enrollTOTP(t, mfaStranger)

		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": stranger.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 403, "forbidden")
		e.startLogin(t, mfaStranger.email, map[string]any{"org_id": orgID})
		aud := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/audit?limit=200", nil, owner.tok.Access).Expect(t, 200)
		for _, it := range aud.Body["items"].([]any) {
			ev := it.(map[string]any)
			if ev["target_id"] == stranger.id || ev["target_id"] == mfaStranger.id || ev["actor_id"] == stranger.id || ev["actor_id"] == mfaStranger.id {
				t.Errorf("a stranger wrote into the org's audit: %v", ev)
			}
		}
		// The stranger's failure is still audited, outside the org.
		evs, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{SubjectID: stranger.id, Action: "user.login.failed", Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].OrgID != "" {
			t.Fatalf("the stranger's failed login: %+v, %v", evs, err)
		}

		// A member refused by the org's policy is the org's business.
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": member.email, "password": goodPassword, "org_id": orgID}, "").Expect(t, 403, "mfa_enrollment_required")
		evs, err = e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{SubjectID: member.id, OrgID: orgID, Action: "user.login.failed", Limit: 10})
		if err != nil || len(evs) != 1 {
			t.Fatalf("the member's refused login in the org's audit: %+v, %v", evs, err)
		}
	})
}

// memberRoles returns a member's roles as the org lists them (nil when not a member).
func (e *env) memberRoles(t *testing.T, orgID string, by orgUser, userID string) []string {
	t.Helper()
	r := e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/members?limit=200", nil, by.tok.Access).Expect(t, 200)
	for _, it := range r.Body["items"].([]any) {
		if m := it.(map[string]any); m["user_id"] == userID {
			return strs(m["roles"])
		}
	}
	return nil
}

// A custom role still held by members cannot be deleted (409): nobody loses power
// silently. Once nobody holds it, it goes (204), and the deletion is audited.
func TestDeleteRoleHeldByMembers(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "downer", "del")
		bob := e.verifiedUser(t, "dbob")
		e.join(t, owner, orgID, bob, "member")
		base := "/v1/orgs/" + orgID
		e.c.Do(t, "PUT", base+"/roles/billing", map[string]any{"permissions": []string{"app:invoices:write"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "PUT", base+"/members/"+bob.id+"/roles", map[string]any{"roles": []string{"member", "billing"}}, owner.tok.Access).Expect(t, 200)

		e.c.Do(t, "DELETE", base+"/roles/billing", nil, owner.tok.Access).Expect(t, 409, "conflict")
		if got := e.memberRoles(t, orgID, owner, bob.id); !slices.Equal(got, []string{"member", "billing"}) {
			t.Fatalf("after a refused deletion bob holds %v", got)
		}
		if r := e.c.Do(t, "POST", base+"/authz/check", map[string]any{"user_id": bob.id, "permission": "app:invoices:write"}, owner.tok.Access).Expect(t, 200); r.Body["allowed"] != true {
			t.Fatal("a refused deletion took the role's permission away")
		}

		e.c.Do(t, "PUT", base+"/members/"+bob.id+"/roles", map[string]any{"roles": []string{"member"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "DELETE", base+"/roles/billing", nil, owner.tok.Access).Expect(t, 204)
		roles := e.c.Do(t, "GET", base+"/roles", nil, owner.tok.Access).Expect(t, 200)
		for _, it := range roles.Body["items"].([]any) {
			if it.(map[string]any)["name"] == "billing" {
				t.Fatalf("the deleted role is listed: %s", roles.Raw)
			}
		}
		e.c.Do(t, "DELETE", base+"/roles/billing", nil, owner.tok.Access).Expect(t, 404, "not_found")
		evs, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{OrgID: orgID, Action: "org.role.deleted", Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].TargetID != "billing" {
			t.Fatalf("org.role.deleted events: %+v, %v", evs, err)
		}
	})
}

// invite sends an invitation from inviter and returns the emailed token (of this
// invitation, not of an earlier one to the same address).
func (e *env) invite(t *testing.T, inviter orgUser, orgID string, u orgUser, roles ...string) string {
	t.Helper()
	before := len(e.mail.Matching(u.email, "invited you"))
	e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": u.email, "roles": roles}, inviter.tok.Access).Expect(t, 201)
	return e.mail.WaitNth(t, u.email, "invited you", before+1).Token()
}

// An invitation grants at acceptance only what its inviter still could: an inviter
// demoted or removed since, or a role redefined beyond them, voids it (400
// invalid_token); roles deleted since are not granted, and when none is left the
// invitation is void too (never a silent fall-back to member).
func TestInvitationAuthorityAtAccept(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "aaowner", "acc")
		base := "/v1/orgs/" + orgID
		admin := e.verifiedUser(t, "aaadmin")
		e.join(t, owner, orgID, admin, "admin")
		setRoles := func(u orgUser, roles ...string) {
			t.Helper()
			e.c.Do(t, "PUT", base+"/members/"+u.id+"/roles", map[string]any{"roles": roles}, owner.tok.Access).Expect(t, 200)
		}
		accept := func(u orgUser, tok string) *apitest.Response {
			t.Helper()
			return e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": tok}, u.tok.Access)
		}
		notMember := func(u orgUser) {
			t.Helper()
			e.c.Do(t, "GET", base, nil, u.tok.Access).Expect(t, 404, "not_found")
		}

		// Demoted after inviting: the invitation cannot make an admin any more.
		x := e.verifiedUser(t, "aax")
		tokX := e.invite(t, admin, orgID, x, "admin")
		setRoles(admin, "member")
		accept(x, tokX).Expect(t, 400, "invalid_token")
		notMember(x)
		setRoles(admin, "admin")
		accept(x, tokX).Expect(t, 200) // the inviter holds it again: the invitation was left pending

		// A role redefined beyond the inviter.
		e.c.Do(t, "PUT", base+"/roles/reader", map[string]any{"permissions": []string{"org:read"}}, owner.tok.Access).Expect(t, 200)
		y := e.verifiedUser(t, "aay")
		tokY := e.invite(t, admin, orgID, y, "reader")
		e.c.Do(t, "PUT", base+"/roles/reader", map[string]any{"permissions": []string{"org:read", "org:delete"}}, owner.tok.Access).Expect(t, 200)
		accept(y, tokY).Expect(t, 400, "invalid_token")
		notMember(y)

		// An inviter who left.
		v := e.verifiedUser(t, "aav")
		tokV := e.invite(t, admin, orgID, v, "member")
		e.c.Do(t, "DELETE", base+"/members/"+admin.id, nil, owner.tok.Access).Expect(t, 204)
		accept(v, tokV).Expect(t, 400, "invalid_token")
		notMember(v)

		// Every invited role deleted: void, not member.
		e.c.Do(t, "PUT", base+"/roles/gone", map[string]any{"permissions": []string{"org:read"}}, owner.tok.Access).Expect(t, 200)
		z := e.verifiedUser(t, "aaz")
		tokZ := e.invite(t, owner, orgID, z, "gone")
		e.c.Do(t, "DELETE", base+"/roles/gone", nil, owner.tok.Access).Expect(t, 204)
		accept(z, tokZ).Expect(t, 400, "invalid_token")
		notMember(z)

		// Some deleted: the rest is granted.
		e.c.Do(t, "PUT", base+"/roles/gone", map[string]any{"permissions": []string{"org:read"}}, owner.tok.Access).Expect(t, 200)
		w := e.verifiedUser(t, "aaw")
		tokW := e.invite(t, owner, orgID, w, "member", "gone")
		e.c.Do(t, "DELETE", base+"/roles/gone", nil, owner.tok.Access).Expect(t, 204)
		if acc := accept(w, tokW).Expect(t, 200); !slices.Equal(strs(acc.Body["roles"]), []string{"member"}) {
			t.Fatalf("accept = %s", acc.Raw)
		}
		if got := e.memberRoles(t, orgID, owner, w.id); !slices.Equal(got, []string{"member"}) {
			t.Fatalf("w holds %v", got)
		}
	})
}

// require_mfa holds on every endpoint of the org, not only when scoping a session: a
// member whose token was not signed in with a second factor is refused (403
// mfa_enrollment_required without one, 403 forbidden telling them to sign in with it
// otherwise), non-members still get 404, and authz/check applies the rule to its caller.
func TestOrgRequireMFAOnEveryEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newMFAEnv(t, db(t))
		owner := e.verifiedUser(t, "mowner")
		secret, _ := e.enrollTOTP(t, owner) // owner.tok stays a password-only session
		orgID := e.createOrg(t, owner, "mfa-"+owner.id[len(owner.id)-8:])
		admin := e.verifiedUser(t, "madmin") // no second factor
		e.join(t, owner, orgID, admin, "admin")
		bystander := e.verifiedUser(t, "mbystander")
		e.join(t, owner, orgID, bystander, "member")
		stranger := e.verifiedUser(t, "mstranger")
		base := "/v1/orgs/" + orgID
		e.c.Do(t, "PUT", base+"/roles/custom", map[string]any{"permissions": []string{"app:x"}}, owner.tok.Access).Expect(t, 200)
		inv := e.c.Do(t, "POST", base+"/invitations", map[string]any{"email": uniqueEmail("m"), "roles": []string{"member"}}, owner.tok.Access).Expect(t, 201)
		e.c.Do(t, "PUT", base+"/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}, owner.tok.Access).Expect(t, 200)

		e.clock.Advance(30 * time.Second) // a fresh TOTP step
		mfaToken, _ := e.startLogin(t, owner.email)
		strong := e.verify(t, mfaToken, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 200).Str("access_token")

		endpoints := []struct {
			method, path string
			body         any
		}{
			{"GET", base, nil},
			{"PATCH", base, map[string]any{"name": "weak"}},
			{"DELETE", base, nil},
			{"GET", base + "/members", nil},
			{"POST", base + "/invitations", map[string]any{"email": uniqueEmail("n"), "roles": []string{"member"}}},
			{"GET", base + "/invitations", nil},
			{"DELETE", base + "/invitations/" + inv.Str("id"), nil},
			{"PUT", base + "/members/" + admin.id + "/roles", map[string]any{"roles": []string{"member"}}},
			{"DELETE", base + "/members/" + bystander.id, nil}, // leaving is another matter: TestLeavingNeedsNoSecondFactor
			{"GET", base + "/roles", nil},
			{"PUT", base + "/roles/custom", map[string]any{"permissions": []string{"org:read"}}},
			{"DELETE", base + "/roles/custom", nil},
			{"POST", base + "/authz/check", map[string]any{"user_id": admin.id, "permission": "org:read"}},
			{"GET", base + "/policy", nil},
			{"PUT", base + "/policy", map[string]any{"require_mfa": false, "session_ttl_seconds": 0, "password_min_length": 0}},
			{"GET", base + "/audit", nil},
			{"GET", base + "/members?limit=999", nil},
			{"PATCH", base, map[string]any{"name": ""}},
		}
		for _, c := range endpoints {
			// Enrolled, but this session was signed in with the password only.
			r := e.c.Do(t, c.method, c.path, c.body, owner.tok.Access)
			if r.Status != 403 || r.Code() != "forbidden" || !strings.Contains(r.Str("detail"), "second factor") {
				t.Errorf("%s %s, password-only owner: %d %s", c.method, c.path, r.Status, r.Raw)
			}
			// No second factor at all.
			r = e.c.Do(t, c.method, c.path, c.body, admin.tok.Access)
			if r.Status != 403 || r.Code() != "mfa_enrollment_required" {
				t.Errorf("%s %s, admin without a second factor: %d %s", c.method, c.path, r.Status, r.Raw)
			}
			// Not a member: not found, whatever the policy.
			r = e.c.Do(t, c.method, c.path, c.body, stranger.tok.Access)
			if r.Status != 404 || r.Code() != "not_found" {
				t.Errorf("%s %s, stranger: %d %s", c.method, c.path, r.Status, r.Raw)
			}
		}

		// Nothing changed, as the session signed in with the second factor sees.
		if g := e.c.Do(t, "GET", base, nil, strong).Expect(t, 200); g.Str("name") == "weak" {
			t.Fatal("a password-only session renamed the org")
		}
		if pol := e.c.Do(t, "GET", base+"/policy", nil, strong).Expect(t, 200); pol.Body["require_mfa"] != true {
			t.Fatalf("a password-only session turned the policy off: %s", pol.Raw)
		}
		if got := e.memberRoles(t, orgID, orgUser{tok: tokens{Access: strong}}, admin.id); !slices.Equal(got, []string{"admin"}) {
			t.Fatalf("admin holds %v", got)
		}
		if n := len(e.c.Do(t, "GET", base+"/invitations", nil, strong).Expect(t, 200).Body["items"].([]any)); n != 1 {
			t.Fatalf("%d pending invitations, want 1", n)
		}
		// With the second factor, the owner may do everything, including answering checks
		// about a member who has none.
		if r := e.c.Do(t, "POST", base+"/authz/check", map[string]any{"user_id": admin.id, "permission": "members:update"}, strong).Expect(t, 200); r.Body["allowed"] != true {
			t.Fatalf("authz/check = %s", r.Raw)
		}
		e.c.Do(t, "GET", base+"/audit", nil, strong).Expect(t, 200)
		e.c.Do(t, "PUT", base+"/policy", map[string]any{"require_mfa": false, "session_ttl_seconds": 0, "password_min_length": 0}, strong).Expect(t, 200)
		// Off again: the password-only sessions are members like any other.
		e.c.Do(t, "GET", base+"/members", nil, admin.tok.Access).Expect(t, 200)
		e.c.Do(t, "GET", base+"/members", nil, owner.tok.Access).Expect(t, 200)
	})
}

// PATCH changes the slug, and refuses one another organization has.
func TestOrgSlugChange(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner := e.verifiedUser(t, "sowner")
		suffix := owner.id[len(owner.id)-8:]
		orgID := e.createOrg(t, owner, "slug-a-"+suffix)
		e.createOrg(t, owner, "slug-b-"+suffix)
		e.c.Do(t, "PATCH", "/v1/orgs/"+orgID, map[string]any{"slug": "slug-b-" + suffix}, owner.tok.Access).Expect(t, 409, "conflict")
		if g := e.c.Do(t, "GET", "/v1/orgs/"+orgID, nil, owner.tok.Access).Expect(t, 200); g.Str("slug") != "slug-a-"+suffix {
			t.Fatalf("a refused slug change took effect: %s", g.Raw)
		}
		p := e.c.Do(t, "PATCH", "/v1/orgs/"+orgID, map[string]any{"slug": "slug-c-" + suffix}, owner.tok.Access).Expect(t, 200)
		if p.Str("slug") != "slug-c-"+suffix || p.Str("name") != "Org slug-a-"+suffix {
			t.Fatalf("PATCH slug = %s", p.Raw)
		}
		if g := e.c.Do(t, "GET", "/v1/orgs/"+orgID, nil, owner.tok.Access).Expect(t, 200); g.Str("slug") != "slug-c-"+suffix {
			t.Fatalf("after the change: %s", g.Raw)
		}
		// The old slug is free again.
		e.createOrg(t, owner, "slug-a-"+suffix)
	})
}

// Members lacking the permission of a row get 403 (and change nothing); a custom role
// grants what it lists, audit:read included; a member cannot accept a second invitation
// to the same org (409).
func TestOrgPermissionRows(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "prowner", "rows")
		base := "/v1/orgs/" + orgID
		member := e.verifiedUser(t, "prmember")
		e.join(t, owner, orgID, member, "member")
		e.c.Do(t, "PUT", base+"/roles/apponly", map[string]any{"permissions": []string{"app:x"}}, owner.tok.Access).Expect(t, 200)
		e.c.Do(t, "PUT", base+"/roles/auditor", map[string]any{"permissions": []string{"audit:read"}}, owner.tok.Access).Expect(t, 200)
		apponly := e.verifiedUser(t, "prapponly") // holds app:x, not even org:read
		e.join(t, owner, orgID, apponly, "apponly")
		auditor := e.verifiedUser(t, "prauditor")
		e.join(t, owner, orgID, auditor, "member", "auditor")
		inv := e.c.Do(t, "POST", base+"/invitations", map[string]any{"email": uniqueEmail("pending"), "roles": []string{"member"}}, owner.tok.Access).Expect(t, 201)

		for _, c := range []struct {
			who          orgUser
			method, path string
			body         any
		}{
			{member, "PUT", base + "/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}},
			{apponly, "GET", base + "/policy", nil},
			{member, "POST", base + "/invitations", map[string]any{"email": uniqueEmail("z"), "roles": []string{"member"}}},
			{member, "GET", base + "/invitations", nil},
			{member, "DELETE", base + "/invitations/" + inv.Str("id"), nil},
			{member, "DELETE", base + "/members/" + auditor.id, nil},
			{apponly, "POST", base + "/authz/check", map[string]any{"user_id": member.id, "permission": "org:read"}},
			{apponly, "GET", base + "/members", nil},
			{apponly, "GET", base, nil},
			{member, "GET", base + "/audit", nil},
		} {
			r := e.c.Do(t, c.method, c.path, c.body, c.who.tok.Access)
			if r.Status != 403 || r.Code() != "forbidden" {
				t.Errorf("%s %s by %s: %d %s", c.method, c.path, c.who.email, r.Status, r.Raw)
			}
		}
		// Nothing changed.
		if pol := e.c.Do(t, "GET", base+"/policy", nil, owner.tok.Access).Expect(t, 200); pol.Body["require_mfa"] != false {
			t.Fatalf("policy = %s", pol.Raw)
		}
		pending := e.c.Do(t, "GET", base+"/invitations", nil, owner.tok.Access).Expect(t, 200).Body["items"].([]any)
		if len(pending) != 1 || pending[0].(map[string]any)["id"] != inv.Str("id") {
			t.Fatalf("pending invitations = %v", pending)
		}
		if got := e.memberRoles(t, orgID, owner, auditor.id); !slices.Equal(got, []string{"member", "auditor"}) {
			t.Fatalf("auditor holds %v", got)
		}

		// audit:read through a custom role.
		aud := e.c.Do(t, "GET", base+"/audit?limit=200", nil, auditor.tok.Access).Expect(t, 200)
		if len(aud.Body["items"].([]any)) == 0 {
			t.Fatal("the auditor sees no events")
		}
		// The apponly member holds app:x, which authz/check confirms to someone allowed to ask.
		if r := e.c.Do(t, "POST", base+"/authz/check", map[string]any{"user_id": apponly.id, "permission": "app:x"}, member.tok.Access).Expect(t, 200); r.Body["allowed"] != true {
			t.Fatalf("authz/check = %s", r.Raw)
		}

		// A member accepting another invitation to the same org.
		second := e.invite(t, owner, orgID, member, "admin")
		e.c.Do(t, "POST", "/v1/invitations/accept", map[string]any{"token": second}, member.tok.Access).Expect(t, 409, "conflict")
		if got := e.memberRoles(t, orgID, owner, member.id); !slices.Equal(got, []string{"member"}) {
			t.Fatalf("after a refused second acceptance the member holds %v", got)
		}
	})
}

// A member without a second factor can still leave an organization that requires one;
// everything else there stays closed to them.
func TestLeavingNeedsNoSecondFactor(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		owner, orgID := e.ownedOrg(t, "lowner", "leave")
		member := e.verifiedUser(t, "lmember")
		e.join(t, owner, orgID, member, "member")
		stranger := e.verifiedUser(t, "lstranger")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}, owner.tok.Access).Expect(t, 200)

		e.c.Do(t, "GET", "/v1/orgs/"+orgID+"/members", nil, member.tok.Access).Expect(t, 403, "mfa_enrollment_required")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+stranger.id, nil, stranger.tok.Access).Expect(t, 404, "not_found")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+owner.id, nil, member.tok.Access).Expect(t, 403, "mfa_enrollment_required")
		e.c.Do(t, "DELETE", "/v1/orgs/"+orgID+"/members/"+member.id, nil, member.tok.Access).Expect(t, 204)
		e.c.Do(t, "GET", "/v1/orgs/"+orgID, nil, member.tok.Access).Expect(t, 404, "not_found")
	})
}
