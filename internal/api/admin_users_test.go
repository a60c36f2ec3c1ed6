package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// Every admin user route, every method: 401 without a valid token, 403 for anyone but an
// administrator (and for an administrator's token scoped to an organization), before
// the body or the id are looked at; nothing the refused calls asked for happens.
func TestAdminUserRoutesRefuseEveryoneElse(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		user := e.verifiedUser(t, "plain")
		orgID := e.createOrg(t, e.admin, "adm-"+e.admin.id[len(e.admin.id)-8:])
		scoped := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": e.admin.email, "password": goodPassword, "org_id": orgID}, "").
			Expect(t, 200).Str("access_token")
		type route struct {
			method, path string
			body         any
		}
		routes := []route{{"GET", "/v1/admin/users", nil}, {"GET", "/v1/admin/users?q=x", nil},
			{"POST", "/v1/admin/users", map[string]any{"email": uniqueEmail("new"), "password": goodPassword}}}
		for _, id := range []string{user.id, uuid.NewString()} {
			base := "/v1/admin/users/" + id
			routes = append(routes, route{"GET", base, nil}, route{"PATCH", base, map[string]any{"disabled": true}},
				route{"DELETE", base, nil}, route{"POST", base + "/unlock", nil}, route{"POST", base + "/mfa/reset", nil},
				route{"GET", base + "/sessions", nil}, route{"DELETE", base + "/sessions", nil})
		}
		for _, r := range routes {
			e.c.Do(t, r.method, r.path, r.body, "").Expect(t, 401, "unauthorized")
			e.c.Do(t, r.method, r.path, r.body, user.tok.Access).Expect(t, 403, "forbidden")
			e.c.Do(t, r.method, r.path, r.body, scoped).Expect(t, 403, "forbidden")
		}
		u, err := e.srv.App.Store().UserByID(t.Context(), user.id)
		if err != nil || u.Disabled {
			t.Fatalf("after refused calls the user is %+v, %v", u, err)
		}
		e.c.Do(t, "GET", "/v1/me", nil, user.tok.Access).Expect(t, 200)
	})
}

// The list: newest first, q matches part of the email or the name whatever the case
// (and % or _ only as themselves), flags filter, bad parameters are 422, and paging
// while accounts are being created shows every earlier account exactly once.
func TestAdminListUsers(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		create := func(email, name string, extra map[string]any) string {
			body := map[string]any{"email": email, "name": name, "password": goodPassword}
			for k, v := range extra {
				body[k] = v
			}
			return e.c.Do(t, "POST", "/v1/admin/users", body, tok).Expect(t, 201).Str("id")
		}
		ada := create("ada_lovelace@example.com", "Ada Lovelace", map[string]any{"email_verified": true})
		grace := create("grace@navy.example.com", "Grace HOPPER", nil)
		pct := create("percent@example.com", "100% Sure", map[string]any{"admin": true})
		ids := func(path string) []string {
			r := e.c.Do(t, "GET", path, nil, tok).Expect(t, 200)
			var out []string
			for _, it := range r.Body["items"].([]any) {
				out = append(out, it.(map[string]any)["id"].(string))
			}
			return out
		}
		for path, want := range map[string][]string{
			"/v1/admin/users?q=hopper":                             {grace},
			"/v1/admin/users?q=NAVY":                               {grace},
			"/v1/admin/users?q=" + url.QueryEscape("a_l"):          {ada},
			"/v1/admin/users?q=" + url.QueryEscape("%"):            {pct},
			"/v1/admin/users?q=" + url.QueryEscape("_"):            {ada},
			"/v1/admin/users?q=nobody-has-this":                    nil,
			"/v1/admin/users?email_verified=false&q=example.com":   {pct, grace},
			"/v1/admin/users?admin=true":                           {pct, e.admin.id},
			"/v1/admin/users?admin=true&disabled=false&q=percent":  {pct},
			"/v1/admin/users?mfa_enabled=true":                     nil,
			"/v1/admin/users?email_verified=true&q=ada_lovelace@e": {ada},
		} {
			if got := ids(path); !slices.Equal(got, want) {
				t.Errorf("GET %s = %v, want %v (newest first)", path, got, want)
			}
		}
		for _, bad := range []string{"?disabled=yes", "?admin=1", "?limit=0", "?limit=201", "?cursor=nope", "?q=" + strings.Repeat("x", 201)} {
			e.c.Do(t, "GET", "/v1/admin/users"+bad, nil, tok).Expect(t, 422, "validation_failed")
		}
		one := e.c.Do(t, "GET", "/v1/admin/users?q=ada_", nil, tok).Expect(t, 200).Body["items"].([]any)[0].(map[string]any)
		if got := keys(one); !slices.Equal(got, []string{"admin", "created_at", "disabled", "email", "email_verified", "external_id", "id",
			"last_login_at", "locked_until", "mfa_enabled", "name", "updated_at"}) {
			t.Fatalf("AdminUser fields = %v", got)
		}

		// Page through two at a time while other requests create accounts.
		var before []string
		for i := range 7 {
			before = append(before, create(fmt.Sprintf("page%d-%s", i, uniqueEmail("p")), "", nil))
		}
		all := ids("/v1/admin/users?limit=200")
		var seen []string
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				create(fmt.Sprintf("during%d-%s", i, uniqueEmail("d")), "", nil)
			}
		})
		cursor := ""
		for {
			r := e.c.Do(t, "GET", "/v1/admin/users?limit=2&cursor="+cursor, nil, tok).Expect(t, 200)
			for _, it := range r.Body["items"].([]any) {
				seen = append(seen, it.(map[string]any)["id"].(string))
			}
			next, _ := r.Body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		close(stop)
		wg.Wait()
		// Accounts created meanwhile may come first (they are the newest); every account
		// that existed comes once, in order, and nothing comes twice.
		existed := slices.DeleteFunc(slices.Clone(seen), func(id string) bool { return !slices.Contains(all, id) })
		if !slices.Equal(existed, all) || !slices.Contains(seen, before[0]) {
			t.Fatalf("paged while creating: %v\nwant the accounts that existed, each once, newest first: %v", seen, all)
		}
		if !slices.IsSortedFunc(seen, func(a, b string) int { return strings.Compare(b, a) }) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
			t.Fatalf("pages not newest first, or an account twice: %v", seen)
		}
	})
}

// Creating accounts: with a password (it signs in), or with a reset link that sets one;
// neither is 422; a taken email 409 email_taken; a weak password 422; audited with the
// administrator as actor.
func TestAdminCreateUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		email := uniqueEmail("made")
		r := e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": email, "password": goodPassword, "name": "Made"}, tok).Expect(t, 201)
		if r.Body["email_verified"] != false || r.Body["admin"] != false || r.Body["disabled"] != false || r.Body["locked_until"] != nil {
			t.Fatalf("created: %s", r.Raw)
		}
		e.login(t, email, goodPassword)

		vouched := uniqueEmail("vouched")
		e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": vouched, "password": goodPassword, "email_verified": true}, tok).Expect(t, 201)
		e.login(t, vouched, goodPassword)

		e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": strings.ToUpper(email), "password": goodPassword}, tok).Expect(t, 409, "email_taken")
		e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": uniqueEmail("nopw")}, tok).Expect(t, 422, "validation_failed")
		e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": uniqueEmail("weak"), "password": "password"}, tok).Expect(t, 422, "weak_password")
		e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": "not-an-address", "password": goodPassword}, tok).Expect(t, 422, "validation_failed")
		e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": uniqueEmail("x"), "password": goodPassword, "bogus": 1}, tok).Expect(t, 400, "bad_request")

		invited := uniqueEmail("invited")
		id := e.c.Do(t, "POST", "/v1/admin/users", map[string]any{"email": invited, "send_reset": true, "email_verified": true}, tok).Expect(t, 201).Str("id")
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": invited, "password": goodPassword}, "").Expect(t, 401, "invalid_credentials")
		link := e.mail.WaitFor(t, invited, "Reset").Token()
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": link, "password": goodPassword}, "").Expect(t, 204)
		e.login(t, invited, goodPassword)

		evs, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{Action: string(audit.AdminUserCreated), SubjectID: id})
		if err != nil || len(evs) != 1 || evs[0].ActorID != e.admin.id {
			t.Fatalf("admin.user.created of %s: %+v, %v", id, evs, err)
		}
	})
}

// Changing accounts: a new email is unverified and voids links sent to the old one, a
// taken one is 409 conflict; disabling ends the user's sessions at once; the last
// enabled administrator can be neither demoted nor disabled (409 last_admin).
func TestAdminUpdateUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		u := e.verifiedUser(t, "upd")
		other := e.verifiedUser(t, "other")
		path := "/v1/admin/users/" + u.id

		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": u.email}, "").Expect(t, 202)
		oldLink := e.mail.WaitFor(t, u.email, "Reset").Token()
		moved := uniqueEmail("moved")
		r := e.c.Do(t, "PATCH", path, map[string]any{"email": moved, "name": "  Renamed  "}, tok).Expect(t, 200)
		if r.Str("email") != moved || r.Body["email_verified"] != false || r.Str("name") != "Renamed" {
			t.Fatalf("after the change: %s", r.Raw)
		}
		e.c.Do(t, "POST", "/v1/auth/password/reset", map[string]any{"token": oldLink, "password": "another " + goodPassword}, "").
			Expect(t, 400, "invalid_token")
		e.c.Do(t, "PATCH", path, map[string]any{"email": strings.ToUpper(other.email)}, tok).Expect(t, 409, "conflict")
		e.c.Do(t, "PATCH", path, map[string]any{"email": "nope"}, tok).Expect(t, 422, "validation_failed")
		e.c.Do(t, "PATCH", path, map[string]any{"disabled": "yes"}, tok).Expect(t, 400, "bad_request")
		e.c.Do(t, "PATCH", "/v1/admin/users/"+uuid.NewString(), map[string]any{"name": "x"}, tok).Expect(t, 404, "not_found")
		if r := e.c.Do(t, "PATCH", path, map[string]any{"email_verified": true}, tok).Expect(t, 200); r.Body["email_verified"] != true {
			t.Fatalf("verify: %s", r.Raw)
		}

		e.c.Do(t, "GET", "/v1/me", nil, other.tok.Access).Expect(t, 200)
		if r := e.c.Do(t, "PATCH", "/v1/admin/users/"+other.id, map[string]any{"disabled": true}, tok).Expect(t, 200); r.Body["disabled"] != true {
			t.Fatalf("disable: %s", r.Raw)
		}
		e.c.Do(t, "GET", "/v1/me", nil, other.tok.Access).Expect(t, 401) // at once on this replica
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": other.email, "password": goodPassword}, "").Expect(t, 403, "account_disabled")
		e.c.Do(t, "PATCH", "/v1/admin/users/"+other.id, map[string]any{"disabled": false}, tok).Expect(t, 200)
		e.login(t, other.email, goodPassword)

		self := "/v1/admin/users/" + e.admin.id
		e.c.Do(t, "PATCH", self, map[string]any{"admin": false}, tok).Expect(t, 409, "last_admin")
		e.c.Do(t, "PATCH", self, map[string]any{"disabled": true}, tok).Expect(t, 409, "last_admin")
		e.c.Do(t, "DELETE", self, nil, tok).Expect(t, 409, "last_admin")
		e.c.Do(t, "PATCH", path, map[string]any{"admin": true}, tok).Expect(t, 200)
		e.c.Do(t, "PATCH", self, map[string]any{"admin": false}, tok).Expect(t, 200)
		if n, _ := e.srv.App.Store().CountAdmins(t.Context()); n != 1 {
			t.Fatalf("administrators = %d, want 1", n)
		}

		evs, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{Action: string(admin.UserUpdated), SubjectID: u.id})
		if err != nil || len(evs) != 3 || evs[0].ActorID != e.admin.id {
			t.Fatalf("admin.user.updated of %s: %+v, %v", u.id, evs, err)
		}
	})
}

// Two requests that each demote one of two administrators: one wins, and the other is
// refused (409 last_admin when both got past the administrator check, 403 when the first
// had already demoted its caller); one administrator remains. The service-level race is
// TestConcurrentDemotions in internal/admin.
func TestAdminConcurrentDemotionsKeepOneAdministrator(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		second := e.verifiedUser(t, "second")
		e.c.Do(t, "PATCH", "/v1/admin/users/"+second.id, map[string]any{"admin": true}, e.admin.tok.Access).Expect(t, 200)
		secondTok := e.login(t, second.email, goodPassword).Access
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, c := range []struct{ tok, target string }{{e.admin.tok.Access, second.id}, {secondTok, e.admin.id}} {
			wg.Go(func() {
				statuses[i] = e.c.Do(t, "PATCH", "/v1/admin/users/"+c.target, map[string]any{"admin": false}, c.tok).Status
			})
		}
		wg.Wait()
		slices.Sort(statuses)
		n, _ := e.srv.App.Store().CountAdmins(t.Context())
		if n != 1 || statuses[0] != 200 || (statuses[1] != 403 && statuses[1] != 409) {
			t.Fatalf("statuses %v, administrators %d; want one 200, one refusal and one administrator left", statuses, n)
		}
	})
}

// Erasing a user leaves none of their email, name, password hash, second factors or
// sessions in any table, keeps their id in the audit log, and the chain still verifies.
// The last owner of an organization is not erased (409 last_owner).
func TestAdminEraseUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		dbURL := db(t)
		e := newAdminEnv(t, dbURL)
		tok := e.admin.tok.Access
		u := e.verifiedUser(t, "erase")
		name := "Zebulon Erasable-" + u.id[:8]
		e.c.Do(t, "PATCH", "/v1/me", map[string]any{"name": name}, u.tok.Access).Expect(t, 200)
		e.enrollTOTP(t, u)
		orgID := e.createOrg(t, e.admin, "er-"+u.id[len(u.id)-8:])
		e.join(t, e.admin, orgID, u, "member")
		owned := e.createOrg(t, u, "own-"+u.id[len(u.id)-8:])
		e.c.Do(t, "POST", "/v1/orgs/"+owned+"/invitations", map[string]any{"email": uniqueEmail("guest"), "roles": []string{"member"}}, u.tok.Access).
			Expect(t, 201)
		e.c.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": u.email, "roles": []string{"admin"}}, tok).Expect(t, 201)
		hash, err := e.srv.App.Store().PasswordHash(t.Context(), u.id)
		if err != nil {
			t.Fatal(err)
		}

		// The scan sees the user's data where it is before the erasure.
		before := strings.Join(testdb.Find(t, dbURL, u.email, name, hash), "\n")
		for _, where := range []string{"users.email: ", "users.name: ", "credentials.secret: ", "outbox.recipient: ", "org_invitations.email: ",
			"audit_events.details: " + u.email} {
			mustContain(t, before, where)
		}

		e.c.Do(t, "DELETE", "/v1/admin/users/"+u.id, nil, tok).Expect(t, 409, "last_owner")
		e.c.Do(t, "DELETE", "/v1/orgs/"+owned, nil, u.tok.Access).Expect(t, 204)
		e.c.Do(t, "DELETE", "/v1/admin/users/"+u.id, nil, tok).Expect(t, 204)

		e.c.Do(t, "GET", "/v1/admin/users/"+u.id, nil, tok).Expect(t, 404, "not_found")
		e.c.Do(t, "DELETE", "/v1/admin/users/"+u.id, nil, tok).Expect(t, 404, "not_found")
		e.c.Do(t, "GET", "/v1/me", nil, u.tok.Access).Expect(t, 401)
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "").Expect(t, 401, "invalid_credentials")
		rep := e.srv.VerifyAudit(t, audit.VerifyOptions{})
		if !rep.OK() {
			t.Fatalf("audit chain after erasure: %+v", rep)
		}
		if left := testdb.Find(t, dbURL, u.email, name, hash); len(left) > 0 {
			t.Fatalf("left behind after erasure: %v", left)
		}
		for _, table := range []string{"sessions", "mfa_totp", "mfa_backup_codes", "credentials", "org_members", "one_time_tokens"} {
			if n := testdb.QueryInt(t, dbURL, "SELECT COUNT(*) FROM "+table+" WHERE user_id = $1", u.id); n != 0 {
				t.Errorf("%s still has %d row(s) of the user", table, n)
			}
		}
		evs, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{SubjectID: u.id})
		if err != nil || len(evs) < 3 || evs[0].Action != string(admin.UserErased) || evs[0].ActorID != e.admin.id {
			t.Fatalf("audit rows of the erased user: %+v, %v", evs, err)
		}
	})
}

// Unlock clears the sign-in throttling an administrator sees as locked_until; MFA reset
// removes every factor; the sessions are listed and revoked; each is audited.
func TestAdminUnlockResetAndSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		u := e.verifiedUser(t, "locked")
		path := "/v1/admin/users/" + u.id
		for range 5 {
			e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": "wrong " + goodPassword}, "").Expect(t, 401)
		}
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "").Expect(t, 429, "rate_limited")
		r := e.c.Do(t, "GET", path, nil, tok).Expect(t, 200)
		if until, err := time.Parse(time.RFC3339Nano, r.Str("locked_until")); err != nil || !until.After(e.clock.Now()) {
			t.Fatalf("locked_until = %q, %v", r.Str("locked_until"), err)
		}
		e.c.Do(t, "POST", path+"/unlock", nil, tok).Expect(t, 204)
		if r := e.c.Do(t, "GET", path, nil, tok).Expect(t, 200); r.Body["locked_until"] != nil {
			t.Fatalf("after unlock: %s", r.Raw)
		}
		e.login(t, u.email, goodPassword)

		e.enrollTOTP(t, u)
		if r := e.c.Do(t, "GET", path, nil, tok).Expect(t, 200); r.Body["mfa_enabled"] != true {
			t.Fatalf("after enrolling: %s", r.Raw)
		}
		e.c.Do(t, "POST", path+"/mfa/reset", nil, tok).Expect(t, 204)
		if r := e.c.Do(t, "GET", path, nil, tok).Expect(t, 200); r.Body["mfa_enabled"] != false {
			t.Fatalf("after the reset: %s", r.Raw)
		}
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "").Expect(t, 200)

		list := e.c.Do(t, "GET", path+"/sessions", nil, tok).Expect(t, 200).Body["items"].([]any)
		if len(list) < 2 {
			t.Fatalf("sessions: %v", list)
		}
		e.c.Do(t, "DELETE", path+"/sessions", nil, tok).Expect(t, 204)
		e.c.Do(t, "GET", "/v1/me", nil, u.tok.Access).Expect(t, 401)
		if list := e.c.Do(t, "GET", path+"/sessions", nil, tok).Expect(t, 200).Body["items"].([]any); len(list) != 0 {
			t.Fatalf("sessions after revoking: %v", list)
		}
		e.c.Do(t, "GET", "/v1/admin/users/"+uuid.NewString()+"/sessions", nil, tok).Expect(t, 404)
		e.c.Do(t, "POST", "/v1/admin/users/"+uuid.NewString()+"/unlock", nil, tok).Expect(t, 404)
		e.c.Do(t, "POST", "/v1/admin/users/not-an-id/mfa/reset", nil, tok).Expect(t, 404)

		for _, action := range []audit.Action{admin.UserUnlocked, admin.UserSessionsEnded} {
			evs, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{Action: string(action), SubjectID: u.id})
			if err != nil || len(evs) != 1 || evs[0].ActorID != e.admin.id {
				t.Fatalf("%s: %+v, %v", action, evs, err)
			}
		}
	})
}
