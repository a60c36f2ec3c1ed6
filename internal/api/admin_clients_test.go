package api_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// adminEnv is a server whose bootstrap administrator is signed in (password only, no
// second factor enrolled).
type adminEnv struct {
	*mfaEnv
	admin orgUser
}

func newAdminEnv(t *testing.T, db string) *adminEnv {
	t.Helper()
	email := uniqueEmail("root")
	e := newMFAEnv(t, db, testserver.With("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", email),
		testserver.With("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", goodPassword))
	u, err := e.srv.App.Store().UserByEmail(t.Context(), email)
	if err != nil || !u.Admin {
		t.Fatalf("bootstrap administrator = %+v, %v", u, err)
	}
	return &adminEnv{mfaEnv: e, admin: orgUser{email: email, id: u.ID, tok: e.login(t, email, goodPassword)}}
}

// webClient is the body of a valid confidential client.
func webClient() map[string]any {
	return map[string]any{"name": "Billing", "redirect_uris": []string{"https://billing.example.com/cb?a=1,2"},
		"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "client_secret_basic"}
}

func keys(body map[string]any) []string {
	return slices.Sorted(maps.Keys(body))
}

// Every admin route, every method: 401 without a valid token, 403 for anyone but an
// administrator (and for an administrator's token scoped to an organization) — before
// the body or the id are looked at.
func TestAdminClientRoutesRefuseEveryoneElse(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		existing := e.c.Do(t, "POST", "/v1/admin/clients", webClient(), e.admin.tok.Access).Expect(t, 201).Str("client_id")
		user := e.verifiedUser(t, "plain")
		orgID := e.createOrg(t, e.admin, "adm-"+e.admin.id[len(e.admin.id)-8:])
		scoped := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": e.admin.email, "password": goodPassword, "org_id": orgID}, "").
			Expect(t, 200).Str("access_token")

		type route struct {
			method, path string
			body         any
		}
		var routes []route
		for _, id := range []string{existing, uuid.NewString()} {
			routes = append(routes,
				route{"GET", "/v1/admin/clients/" + id, nil},
				route{"PATCH", "/v1/admin/clients/" + id, map[string]any{"name": "x"}},
				route{"DELETE", "/v1/admin/clients/" + id, nil},
				route{"POST", "/v1/admin/clients/" + id + "/secret", nil})
		}
		routes = append(routes, route{"GET", "/v1/admin/clients", nil}, route{"POST", "/v1/admin/clients", webClient()},
			route{"POST", "/v1/admin/clients", map[string]any{"bogus": true}})
		for _, r := range routes {
			e.c.Do(t, r.method, r.path, r.body, "").Expect(t, 401, "unauthorized")
			e.c.Do(t, r.method, r.path, r.body, "not-a-token").Expect(t, 401, "unauthorized")
			e.c.Do(t, r.method, r.path, r.body, user.tok.Access).Expect(t, 403, "forbidden")
			e.c.Do(t, r.method, r.path, r.body, scoped).Expect(t, 403, "forbidden")
		}
		// Nothing the refused calls asked for happened.
		list := e.c.Do(t, "GET", "/v1/admin/clients", nil, e.admin.tok.Access).Expect(t, 200)
		if items := list.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "Billing" {
			t.Fatalf("clients after refused calls: %s", list.Raw)
		}
		// A demoted administrator is refused within the cache bound.
		if err := e.srv.App.Store().SetUserAdmin(t.Context(), e.admin.id, false, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(6 * time.Second)
		e.c.Do(t, "GET", "/v1/admin/clients", nil, e.admin.tok.Access).Expect(t, 403, "forbidden")
	})
}

// An administrator with a second factor enrolled administers only from a session that
// used it.
func TestAdminWithSecondFactorNeedsItInTheSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		e.c.Do(t, "GET", "/v1/admin/clients", nil, e.admin.tok.Access).Expect(t, 200)
		secret, _ := e.enrollTOTP(t, e.admin) // this session stays, signed in with a password only
		e.clock.Advance(6 * time.Second)      // past the user cache
		r := e.c.Do(t, "GET", "/v1/admin/clients", nil, e.admin.tok.Access).Expect(t, 403, "forbidden")
		mustContain(t, r.Str("detail"), "second factor")
		e.c.Do(t, "POST", "/v1/admin/clients", webClient(), e.admin.tok.Access).Expect(t, 403, "forbidden")

		e.clock.Advance(30 * time.Second) // a TOTP step not used yet
		mfaToken, _ := e.startLogin(t, e.admin.email)
		tok := e.verify(t, mfaToken, "totp", rfc6238(t, secret, e.clock.Now())).Expect(t, 200).Str("access_token")
		e.c.Do(t, "GET", "/v1/admin/clients", nil, tok).Expect(t, 200)
		e.c.Do(t, "POST", "/v1/admin/clients", webClient(), tok).Expect(t, 201)
	})
}

// Create, read, list, change, rotate and delete: the Client shape of API.md exactly, the
// secret shown once (no-store) and stored hashed, each change audited with the admin as
// actor.
func TestAdminClientLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		st := e.srv.App.Store()
		body := webClient()
		body["post_logout_redirect_uris"] = []string{"https://billing.example.com/bye"}
		body["scopes"] = []string{"openid", "email"}
		body["first_party"] = true
		body["access_token_ttl_seconds"] = 600
		created := e.c.Do(t, "POST", "/v1/admin/clients", body, tok).Expect(t, 201)
		if cc := created.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control of the answer with the secret = %q", cc)
		}
		id, secret := created.Str("client_id"), created.Str("client_secret")
		if _, err := uuid.Parse(id); err != nil || len(secret) < 43 {
			t.Fatalf("created %s", created.Raw)
		}
		want := []string{"access_token_ttl_seconds", "client_id", "client_secret", "created_at", "first_party", "grant_types", "name",
			"post_logout_redirect_uris", "redirect_uris", "scopes", "token_endpoint_auth_method"}
		if got := keys(created.Body); !slices.Equal(got, want) {
			t.Fatalf("created client keys %v, want %v", got, want)
		}
		if created.Body["access_token_ttl_seconds"] != float64(600) || created.Body["first_party"] != true ||
			created.Str("token_endpoint_auth_method") != "client_secret_basic" || !slices.Equal(strs(created.Body["scopes"]), []string{"openid", "email"}) ||
			!slices.Equal(strs(created.Body["redirect_uris"]), []string{"https://billing.example.com/cb?a=1,2"}) {
			t.Fatalf("created %s", created.Raw)
		}
		stored, err := st.ClientByID(t.Context(), id)
		if err != nil || stored.SecretHash != token.Hash(secret) || strings.Contains(string(created.Raw), stored.SecretHash) {
			t.Fatalf("stored client %+v, %v", stored, err)
		}

		// Read: everything but the secret.
		got := e.c.Do(t, "GET", "/v1/admin/clients/"+id, nil, tok).Expect(t, 200)
		if _, shown := got.Body["client_secret"]; shown || strings.Contains(string(got.Raw), secret) {
			t.Fatalf("GET shows the secret: %s", got.Raw)
		}
		if got := keys(got.Body); !slices.Equal(got, slices.DeleteFunc(slices.Clone(want), func(k string) bool { return k == "client_secret" })) {
			t.Fatalf("client keys %v", got)
		}

		// A public client: no secret, defaults filled in, nothing to rotate.
		pub := e.c.Do(t, "POST", "/v1/admin/clients", map[string]any{"name": "CLI", "redirect_uris": []string{"http://127.0.0.1/cb", "com.example.cli:/cb"},
			"grant_types": []string{"authorization_code"}, "token_endpoint_auth_method": "none"}, tok).Expect(t, 201)
		if _, shown := pub.Body["client_secret"]; shown || pub.Body["access_token_ttl_seconds"] != nil ||
			!slices.Equal(strs(pub.Body["scopes"]), []string{"openid", "profile", "email", "offline_access"}) ||
			len(pub.Body["post_logout_redirect_uris"].([]any)) != 0 {
			t.Fatalf("public client %s", pub.Raw)
		}
		e.c.Do(t, "POST", "/v1/admin/clients/"+pub.Str("client_id")+"/secret", nil, tok).Expect(t, 409, "conflict")
		// A machine client needs no redirect URI.
		machine := e.c.Do(t, "POST", "/v1/admin/clients", map[string]any{"name": "Cron", "grant_types": []string{"client_credentials"}}, tok).Expect(t, 201)
		if machine.Str("client_secret") == "" || machine.Str("token_endpoint_auth_method") != "client_secret_basic" {
			t.Fatalf("machine client %s", machine.Raw)
		}

		// List, a page at a time, in client_id order.
		ids := []string{id, pub.Str("client_id"), machine.Str("client_id")}
		slices.Sort(ids)
		var listed []string
		cursor := ""
		for range 4 {
			page := e.c.Do(t, "GET", "/v1/admin/clients?limit=2"+cursor, nil, tok).Expect(t, 200)
			for _, it := range page.Body["items"].([]any) {
				if _, shown := it.(map[string]any)["client_secret"]; shown {
					t.Fatal("a listed client shows a secret")
				}
				listed = append(listed, it.(map[string]any)["client_id"].(string))
			}
			next, _ := page.Body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		if !slices.Equal(listed, ids) {
			t.Fatalf("listed %v, want %v", listed, ids)
		}

		// PATCH changes what it is sent, keeps the rest.
		patched := e.c.Do(t, "PATCH", "/v1/admin/clients/"+id, map[string]any{"name": "Billing v2", "access_token_ttl_seconds": 0,
			"redirect_uris": []string{"https://billing.example.com/cb", "https://billing.example.com/cb2"}}, tok).Expect(t, 200)
		if patched.Str("name") != "Billing v2" || patched.Body["access_token_ttl_seconds"] != nil || patched.Body["first_party"] != true ||
			len(patched.Body["redirect_uris"].([]any)) != 2 || !slices.Equal(strs(patched.Body["scopes"]), []string{"openid", "email"}) {
			t.Fatalf("patched %s", patched.Raw)
		}
		if _, shown := patched.Body["client_secret"]; shown {
			t.Fatal("PATCH shows the secret")
		}
		if again := e.c.Do(t, "GET", "/v1/admin/clients/"+id, nil, tok).Expect(t, 200); again.Str("name") != "Billing v2" {
			t.Fatalf("GET after PATCH %s", again.Raw)
		}

		// Rotation: a new secret, once; the stored hash is the new one's.
		rot := e.c.Do(t, "POST", "/v1/admin/clients/"+id+"/secret", nil, tok).Expect(t, 200)
		fresh := rot.Str("client_secret")
		if rot.Header.Get("Cache-Control") != "no-store" || fresh == "" || fresh == secret || !slices.Equal(keys(rot.Body), []string{"client_secret"}) {
			t.Fatalf("rotation %s (Cache-Control %q)", rot.Raw, rot.Header.Get("Cache-Control"))
		}
		stored, _ = st.ClientByID(t.Context(), id)
		if stored.SecretHash != token.Hash(fresh) || stored.SecretHash == token.Hash(secret) {
			t.Fatal("the stored secret hash is not the new secret's")
		}

		// Delete: its grants end, the client is gone.
		now := time.Now().UTC()
		grant := &store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: e.admin.id, AMR: []string{"pwd"}, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(time.Hour), Kind: store.SessionGrant, ClientID: id, Scopes: []string{"openid"}}
		if err := st.CreateSession(t.Context(), grant); err != nil {
			t.Fatal(err)
		}
		e.c.Do(t, "DELETE", "/v1/admin/clients/"+id, nil, tok).Expect(t, 204)
		if s, _ := st.SessionByID(t.Context(), grant.ID); s.RevokedAt == nil || s.RevokeReason != "client_deleted" {
			t.Fatalf("the deleted client's grant = %+v", s)
		}
		e.c.Do(t, "GET", "/v1/admin/clients/"+id, nil, tok).Expect(t, 404, "not_found")
		e.c.Do(t, "DELETE", "/v1/admin/clients/"+id, nil, tok).Expect(t, 404, "not_found")
		e.c.Do(t, "PATCH", "/v1/admin/clients/"+id, map[string]any{"name": "x"}, tok).Expect(t, 404, "not_found")
		e.c.Do(t, "POST", "/v1/admin/clients/"+id+"/secret", nil, tok).Expect(t, 404, "not_found")

		// Every change is audited with the administrator as actor, never with the secret.
		for _, action := range []audit.Action{audit.AdminClientCreated, audit.AdminClientUpdated, audit.AdminClientSecretRotated, audit.AdminClientDeleted} {
			evs, err := st.ListAudit(t.Context(), store.AuditFilter{Action: string(action), Limit: 50})
			evs = slices.DeleteFunc(evs, func(ev store.AuditEvent) bool { return ev.TargetID != id })
			if err != nil || len(evs) != 1 || evs[0].ActorID != e.admin.id || evs[0].TargetType != "client" || evs[0].RequestID == "" {
				t.Fatalf("%s events = %+v, %v", action, evs, err)
			}
			if strings.Contains(evs[0].Details, secret) || strings.Contains(evs[0].Details, fresh) {
				t.Fatalf("%s details carry a secret: %s", action, evs[0].Details)
			}
		}
	})
}

// Invalid registrations are 422 validation_failed naming each field; malformed bodies
// 400; an id that cannot be a client 404.
func TestAdminClientValidation(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		with := func(k string, v any) map[string]any {
			b := webClient()
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
			return b
		}
		for _, tc := range []struct {
			body   map[string]any
			fields []string
		}{
			{with("name", ""), []string{"name"}},
			{with("name", strings.Repeat("n", 201)), []string{"name"}},
			{with("redirect_uris", nil), []string{"redirect_uris"}},
			{with("redirect_uris", []string{"http://billing.example.com/cb"}), []string{"redirect_uris"}},
			{with("redirect_uris", []string{"https://billing.example.com/cb#x"}), []string{"redirect_uris"}},
			{with("redirect_uris", []string{"https://*.example.com/cb"}), []string{"redirect_uris"}},
			{with("redirect_uris", []string{"/cb"}), []string{"redirect_uris"}},
			{with("redirect_uris", []string{"com.example.app:/cb"}), []string{"redirect_uris"}},
			{with("post_logout_redirect_uris", []string{"http://evil.example/"}), []string{"post_logout_redirect_uris"}},
			{with("grant_types", []string{}), []string{"grant_types"}},
			{with("grant_types", []string{"password"}), []string{"grant_types"}},
			{with("grant_types", []string{"refresh_token", "client_credentials"}), []string{"grant_types"}},
			{with("token_endpoint_auth_method", "private_key_jwt"), []string{"token_endpoint_auth_method"}},
			{map[string]any{"name": "x", "grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "none"}, []string{"grant_types"}},
			{with("scopes", []string{"openid", "admin"}), []string{"scopes"}},
			{with("scopes", []string{}), []string{"scopes"}},
			{with("access_token_ttl_seconds", 59), []string{"access_token_ttl_seconds"}},
			{with("access_token_ttl_seconds", 86401), []string{"access_token_ttl_seconds"}},
			{with("access_token_ttl_seconds", int64(1)<<62), []string{"access_token_ttl_seconds"}},
			{map[string]any{"name": "", "grant_types": []string{"implicit"}, "scopes": []string{"root"}}, []string{"name", "grant_types", "scopes"}},
		} {
			r := e.c.Do(t, "POST", "/v1/admin/clients", tc.body, tok).Expect(t, 422, "validation_failed")
			var p struct {
				Errors []struct{ Field, Message string }
			}
			r.Decode(t, &p)
			var fields []string
			for _, f := range p.Errors {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				b, _ := json.Marshal(tc.body)
				t.Errorf("POST %s: fields %v, want %v", b, fields, tc.fields)
			}
		}
		e.c.Do(t, "POST", "/v1/admin/clients", with("client_secret", "mine"), tok).Expect(t, 400, "bad_request")
		e.c.Do(t, "POST", "/v1/admin/clients", `{"name": "x", "grant_types": "authorization_code"}`, tok).Expect(t, 400, "bad_request")
		id := e.c.Do(t, "POST", "/v1/admin/clients", webClient(), tok).Expect(t, 201).Str("client_id")
		e.c.Do(t, "PATCH", "/v1/admin/clients/"+id, map[string]any{"grant_types": []string{"refresh_token"}}, tok).Expect(t, 422, "validation_failed")
		e.c.Do(t, "PATCH", "/v1/admin/clients/"+id, map[string]any{"token_endpoint_auth_method": "none"}, tok).Expect(t, 422, "validation_failed")
		e.c.Do(t, "PATCH", "/v1/admin/clients/"+id, map[string]any{"client_id": "other"}, tok).Expect(t, 400, "bad_request")
		if r := e.c.Do(t, "GET", "/v1/admin/clients/"+id, nil, tok).Expect(t, 200); r.Str("token_endpoint_auth_method") != "client_secret_basic" ||
			len(r.Body["grant_types"].([]any)) != 2 {
			t.Fatalf("refused patches changed the client: %s", r.Raw)
		}
		for _, bad := range []string{"not-a-uuid", strings.ToUpper(id), id + "x"} {
			e.c.Do(t, "GET", "/v1/admin/clients/"+bad, nil, tok).Expect(t, 404, "not_found")
		}
		e.c.Do(t, "GET", "/v1/admin/clients?limit=0", nil, tok).Expect(t, 422, "validation_failed")
	})
}

// The OpenAPI document describes every admin client route, with its 401 and 403.
func TestAdminClientRoutesAreDocumented(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	doc := e.c.Do(t, "GET", "/openapi.json", nil, "").Expect(t, 200)
	var d struct {
		Paths map[string]map[string]struct {
			Responses map[string]any
			Security  []map[string][]string
		}
	}
	doc.Decode(t, &d)
	for path, methods := range map[string][]string{
		"/v1/admin/clients":                    {"get", "post"},
		"/v1/admin/clients/{client_id}":        {"get", "patch", "delete"},
		"/v1/admin/clients/{client_id}/secret": {"post"},
	} {
		for _, m := range methods {
			op, ok := d.Paths[path][m]
			if !ok {
				t.Errorf("%s %s is not documented", m, path)
				continue
			}
			if op.Responses["401"] == nil || op.Responses["403"] == nil || len(op.Security) == 0 {
				t.Errorf("%s %s: responses %v, security %v", m, path, slices.Sorted(maps.Keys(op.Responses)), op.Security)
			}
		}
	}
}

// A rotated secret stops working at the token endpoint at once (the provider's client
// cache is told), the new one works, and a deleted client's does not.
func TestRotatedClientSecretStopsAtTheTokenEndpoint(t *testing.T) {
	e := newAdminEnv(t, testdbSQLite(t))
	tok := e.admin.tok.Access
	disc := e.c.Do(t, "GET", "/.well-known/openid-configuration", nil, "").Expect(t, 200)
	tokenURL := disc.Str("token_endpoint")
	if !strings.HasPrefix(tokenURL, e.srv.URL) {
		t.Fatalf("token_endpoint %q", tokenURL)
	}
	created := e.c.Do(t, "POST", "/v1/admin/clients", map[string]any{"name": "Cron", "grant_types": []string{"client_credentials"}}, tok).Expect(t, 201)
	id, old := created.Str("client_id"), created.Str("client_secret")
	grant := func(secret string) int {
		req := mustRequest(t, "POST", tokenURL, "grant_type=client_credentials", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		return e.c.Send(t, req).Status
	}
	if st := grant(old); st != 200 {
		t.Fatalf("client_credentials with the secret: %d", st)
	}
	fresh := e.c.Do(t, "POST", "/v1/admin/clients/"+id+"/secret", nil, tok).Expect(t, 200).Str("client_secret")
	if st := grant(old); st != 401 {
		t.Fatalf("client_credentials with the rotated-out secret: %d, want 401", st)
	}
	if st := grant(fresh); st != 200 {
		t.Fatalf("client_credentials with the new secret: %d", st)
	}
	e.c.Do(t, "DELETE", "/v1/admin/clients/"+id, nil, tok).Expect(t, 204)
	if st := grant(fresh); st != 401 {
		t.Fatalf("client_credentials of a deleted client: %d, want 401", st)
	}
}
