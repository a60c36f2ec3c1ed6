package api_test

import (
	"strings"
	"testing"
)

// A token scoped to an organization acts in that organization only (API.md, "Which
// tokens the /v1 API accepts"): review finding, a token for org Y with role member
// renamed org X and deleted a role there, because its user owns X.
func TestScopedTokenActsInItsOrgOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		alice, orgX := e.ownedOrg(t, "scopeowner", "scope-x")
		bob, orgY := e.ownedOrg(t, "scopeother", "scope-y")
		e.c.Do(t, "PUT", "/v1/orgs/"+orgX+"/roles/keep", map[string]any{"permissions": []string{"app:x"}}, alice.tok.Access).Expect(t, 200)
		e.join(t, bob, orgY, alice, "member")
		inv := e.c.Do(t, "POST", "/v1/orgs/"+orgX+"/invitations", map[string]any{"email": uniqueEmail("inv"), "roles": []string{"member"}}, alice.tok.Access).Expect(t, 201)
		scoped := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": alice.email, "password": goodPassword, "org_id": orgY}, "").Expect(t, 200)
		tok := scoped.Str("access_token")
		if claimsOf(t, tok)["org_id"] != orgY {
			t.Fatalf("login with org_id gave claims %v", claimsOf(t, tok))
		}
		x := "/v1/orgs/" + orgX
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", x, nil},
			{"PATCH", x, map[string]any{"name": "renamed from Y"}},
			{"DELETE", x, nil},
			{"GET", x + "/members", nil},
			{"POST", x + "/invitations", map[string]any{"email": uniqueEmail("z"), "roles": []string{"member"}}},
			{"GET", x + "/invitations", nil},
			{"DELETE", x + "/invitations/" + inv.Str("id"), nil},
			{"PUT", x + "/members/" + alice.id + "/roles", map[string]any{"roles": []string{"owner"}}},
			{"DELETE", x + "/members/" + alice.id, nil}, // leaving X, too, is an act in X
			{"GET", x + "/roles", nil},
			{"PUT", x + "/roles/keep", map[string]any{"permissions": []string{"org:read"}}},
			{"DELETE", x + "/roles/keep", nil},
			{"POST", x + "/authz/check", map[string]any{"user_id": alice.id, "permission": "org:read"}},
			{"GET", x + "/policy", nil},
			{"PUT", x + "/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0, "password_min_length": 0}},
			{"GET", x + "/audit", nil},
			{"GET", "/v1/orgs/00000000-0000-7000-8000-000000000000", nil}, // no such org: the same answer
			{"POST", "/v1/orgs", map[string]any{"name": "New", "slug": "scope-new-" + alice.id[len(alice.id)-8:]}},
			{"POST", "/v1/invitations/accept", map[string]any{"token": strings.Repeat("a", 43)}},
		} {
			r := e.c.Do(t, c.method, c.path, c.body, tok)
			if r.Status != 403 || r.Code() != "forbidden" {
				t.Errorf("%s %s with a token scoped to Y: %d %s; want 403 forbidden", c.method, c.path, r.Status, r.Raw)
			}
		}
		// Its own org, and the user's own routes, work.
		e.c.Do(t, "GET", "/v1/orgs/"+orgY, nil, tok).Expect(t, 200)
		e.c.Do(t, "GET", "/v1/me", nil, tok).Expect(t, 200)
		e.c.Do(t, "GET", "/v1/me/sessions", nil, tok).Expect(t, 200)
		items := e.c.Do(t, "GET", "/v1/orgs", nil, tok).Expect(t, 200).Body["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["id"] != orgY {
			t.Fatalf("GET /v1/orgs with a token scoped to Y lists %v", items)
		}
		// Nothing changed in X; the unscoped token still acts there.
		if g := e.c.Do(t, "GET", x, nil, alice.tok.Access).Expect(t, 200); strings.Contains(g.Str("name"), "renamed") {
			t.Fatalf("X was renamed: %s", g.Raw)
		}
		roles := e.c.Do(t, "GET", x+"/roles", nil, alice.tok.Access).Expect(t, 200).Body["items"].([]any)
		if len(roles) != 4 {
			t.Fatalf("X has %d roles; the custom one was deleted", len(roles))
		}
		if n := len(e.c.Do(t, "GET", "/v1/orgs", nil, alice.tok.Access).Expect(t, 200).Body["items"].([]any)); n != 2 {
			t.Fatalf("the unscoped token lists %d orgs, want 2", n)
		}
		e.c.Do(t, "PATCH", x, map[string]any{"name": "Renamed by its owner"}, alice.tok.Access).Expect(t, 200)
	})
}
