package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/hashvectors"
)

// importFile posts a user file and returns the answer.
func (e *adminEnv) importFile(t *testing.T, body string) *apitest.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.c.Base+"/v1/admin/users/import", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+e.admin.tok.Access)
	return e.c.Send(t, req)
}

func ndjson(t *testing.T, lines ...any) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		if s, ok := l.(string); ok {
			b.WriteString(s + "\n")
			continue
		}
		raw, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// One account per accepted hash format signs in with its known password (and not with
// a wrong one); the hash is replaced by argon2id at that first sign-in, audited; a bad
// line fails alone with its number and code; re-running the file changes nothing.
func TestAdminImportSignsInWithEveryHashFormat(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		var lines []any
		emails := map[string]string{}
		for i, v := range hashvectors.All {
			email := fmt.Sprintf("fmt%d-%s", i, uniqueEmail("imp"))
			emails[v.Name] = email
			lines = append(lines, map[string]any{"email": email, "email_verified": true, "password_hash": v.Hash,
				"external_id": "old:" + email, "name": v.Name, "created_at": "2021-03-05T16:48:09Z"})
		}
		plain := uniqueEmail("plain")
		lines = append(lines,
			map[string]any{"email": plain, "password": "imported plaintext password"},
			`{"email": "md5@example.com", "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99"}`,
			`{"email": "cost@example.com", "password_hash": "$2a$15$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}`,
			`{"email": "not json`,
			`{"email": "bad@"}`,
			`{"email": "both@example.com", "password": "x", "password_hash": "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}`,
			`{"email": "extra@example.com", "role": "admin"}`,
			``,
			`{"email": "nopassword@example.com", "id": "0190c3e4-3b1c-7d2a-9f3e-2b4c5d6e7f80"}`)
		file := ndjson(t, lines...)
		r := e.importFile(t, file).Expect(t, 200)
		var res admin.ImportResult
		r.Decode(t, &res)
		n := len(hashvectors.All)
		if res.Created != n+2 || res.Updated != 0 || res.Skipped != 0 || res.Failed != 6 {
			t.Fatalf("first import: %s", r.Raw)
		}
		wantCodes := map[int]string{n + 2: "unsupported_hash", n + 3: "hash_cost_out_of_range", n + 4: "invalid_line",
			n + 5: "validation_failed", n + 6: "validation_failed", n + 7: "invalid_line"}
		for _, le := range res.Errors {
			if wantCodes[le.Line] != le.Code {
				t.Errorf("line %d: %s (%s); want %q", le.Line, le.Code, le.Message, wantCodes[le.Line])
			}
		}

		again := e.importFile(t, file).Expect(t, 200)
		again.Decode(t, &res)
		if res.Created != 0 || res.Updated != 0 || res.Skipped != n+2 || res.Failed != 6 {
			t.Fatalf("re-import: %s", again.Raw)
		}

		st := e.srv.App.Store()
		for _, v := range hashvectors.All {
			email := emails[v.Name]
			e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": v.Password + "!"}, "").Expect(t, 401, "invalid_credentials")
			e.login(t, email, v.Password)
			u, err := st.UserByEmail(t.Context(), email)
			if err != nil || u.ExternalID != "old:"+email || !u.EmailVerified || u.CreatedAt.Year() != 2021 {
				t.Fatalf("%s: imported user %+v, %v", v.Name, u, err)
			}
			hash, imported, err := st.PasswordHashImported(t.Context(), u.ID)
			if err != nil || imported || !strings.HasPrefix(hash, "$argon2id$v=19$m=") || hash == v.Hash {
				t.Fatalf("%s: after sign-in the hash is %q (imported %v, %v); want Gatehouse's argon2id", v.Name, hash, imported, err)
			}
			e.login(t, email, v.Password) // the new hash signs in too
		}
		e.login(t, plain, "imported plaintext password")
		evs, err := st.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.UserPasswordUpgraded), Limit: 100})
		if err != nil || len(evs) != n {
			t.Fatalf("password upgrades audited: %d, %v; want %d", len(evs), err, n)
		}

		// After sign-in the user's own hash is never replaced by a re-import; an account
		// whose imported hash is untouched takes a changed one.
		again = e.importFile(t, file).Expect(t, 200)
		again.Decode(t, &res)
		if res.Updated != 0 || res.Skipped != n+2 {
			t.Fatalf("re-import after sign-ins: %s", again.Raw)
		}
		changed := ndjson(t, map[string]any{"email": "nopassword@example.com", "password_hash": hashvectors.All[0].Hash, "name": "Now named"})
		r = e.importFile(t, changed).Expect(t, 200)
		r.Decode(t, &res)
		if res.Updated != 1 {
			t.Fatalf("a changed line: %s", r.Raw)
		}
		e.login(t, "nopassword@example.com", hashvectors.All[0].Password)
		imported, err := st.ListAudit(t.Context(), store.AuditFilter{Action: string(admin.UserImported), Limit: 200})
		if err != nil || len(imported) != n+3 || imported[0].ActorID != e.admin.id || !strings.Contains(imported[0].Details, `"changed":["name","password"]`) {
			t.Fatalf("admin.user.imported events: %d, %v, newest %+v", len(imported), err, imported[0])
		}
		rep := e.srv.VerifyAudit(t, audit.VerifyOptions{})
		if !rep.OK() {
			t.Fatalf("audit: %+v", rep)
		}
	})
}

// The export is the import's format, password hashes included: importing it into
// another instance gives the same accounts, which sign in with the same passwords.
func TestAdminExportImportsElsewhere(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		u := e.verifiedUser(t, "mover")
		e.c.Do(t, "PATCH", "/v1/me", map[string]any{"name": "Mover"}, u.tok.Access).Expect(t, 200)
		r := e.c.Do(t, "GET", "/v1/admin/users/export", nil, e.admin.tok.Access).Expect(t, 200)
		if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("export headers: %v", r.Header)
		}
		lines := bytes.Split(bytes.TrimSpace(r.Raw), []byte("\n"))
		if len(lines) != 2 || !bytes.Contains(r.Raw, []byte(`"password_hash":"$argon2id$`)) || !bytes.Contains(lines[0], []byte(u.id)) {
			t.Fatalf("export:\n%s", r.Raw)
		}
		e.c.Do(t, "GET", "/v1/admin/users/export", nil, u.tok.Access).Expect(t, 403, "forbidden")

		other := newAdminEnv(t, db(t))
		res := other.importFile(t, string(r.Raw)).Expect(t, 200)
		if res.Body["created"] != float64(2) || res.Body["failed"] != float64(0) {
			t.Fatalf("import elsewhere: %s", res.Raw)
		}
		tok := other.login(t, u.email, goodPassword)
		me := other.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200)
		if me.Str("id") != u.id || me.Str("name") != "Mover" {
			t.Fatalf("the moved account: %s", me.Raw)
		}
	})
}

// The import route takes only administrators and only NDJSON; a body over the route's
// own limit is 413 before anything is read.
func TestAdminImportRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		user := e.verifiedUser(t, "plain")
		req, _ := http.NewRequestWithContext(t.Context(), "POST", e.c.Base+"/v1/admin/users/import", strings.NewReader(`{"email":"a@example.com"}`))
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+user.tok.Access)
		e.c.Send(t, req).Expect(t, 403, "forbidden")
		e.c.Do(t, "POST", "/v1/admin/users/import", map[string]any{"email": "a@example.com"}, e.admin.tok.Access).Expect(t, 415, "unsupported_media_type")
		req, _ = http.NewRequestWithContext(t.Context(), "POST", e.c.Base+"/v1/admin/users/import", strings.NewReader("x"))
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+e.admin.tok.Access)
		req.ContentLength = 1<<30 + 1
		resp, err := e.c.HTTP.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Fatalf("declared 1 GiB + 1: %d", resp.StatusCode)
			}
		}
		if _, err := e.srv.App.Store().UserByEmail(t.Context(), "a@example.com"); err == nil {
			t.Fatal("a refused import created an account")
		}
	})
}
