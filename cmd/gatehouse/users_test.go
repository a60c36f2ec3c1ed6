package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// The users commands on the database directly, on both backends: create (piped,
// generated or no password with a reset link), list and show as tables and as JSON,
// update, disable and enable, erase (with --yes only), and the refusals an operator can
// fix exit 2 with the way out.
func TestUsersCommands(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clearEnv(t)
			url := b.URL(t)
			t.Setenv("GATEHOUSE_DATABASE_URL", url)
			const pw = "correct horse battery staple"
			run := func(wantCode int, input string, args ...string) (string, string) {
				t.Helper()
				in := strings.NewReader(input)
				code, out, errOut := runCLIIn(t, in, args...)
				if code != wantCode {
					t.Fatalf("%v: exit %d, want %d; stdout %q, stderr %q", args, code, wantCode, out, errOut)
				}
				return out, errOut
			}
			decode := func(out string, v any) {
				t.Helper()
				if err := json.Unmarshal([]byte(out), v); err != nil {
					t.Fatalf("not JSON: %v: %q", err, out)
				}
			}
			run(0, pw+"\n", "admin", "create-user", "--admin", "ops@example.com")

			out, _ := run(0, pw+"\n", "admin", "users", "create", "--name", "Bob B", "--email-verified", "-o", "json", "Bob@example.com")
			var bob userJSON
			decode(out, &bob)
			if bob.Email != "Bob@example.com" || bob.Name != "Bob B" || !bob.EmailVerified || bob.Admin || bob.ID == "" {
				t.Fatalf("created: %+v", bob)
			}
			devNull, err := os.Open(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			defer devNull.Close()
			code, out, errOut := runCLIIn(t, devNull, "admin", "users", "create", "--send-reset", "carol@example.com")
			if code != 0 || strings.Contains(errOut, "password (shown once)") || !strings.Contains(out, "carol@example.com") {
				t.Fatalf("create --send-reset: %d %q %q", code, out, errOut)
			}
			if n := testdb.QueryInt(t, url, "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND subject LIKE '%eset%'", "carol@example.com"); n != 1 {
				t.Fatalf("reset emails queued for carol: %d, want 1", n)
			}
			if n := testdb.QueryInt(t, url, "SELECT COUNT(*) FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.email = $1", "carol@example.com"); n != 0 {
				t.Fatalf("carol has %d credential(s), want none until she sets a password", n)
			}
			code, out, errOut = runCLIIn(t, devNull, "admin", "users", "create", "dave@example.com")
			if code != 0 || !strings.Contains(errOut, "password (shown once): ") {
				t.Fatalf("create with a generated password: %d %q %q", code, out, errOut)
			}

			out, _ = run(0, "", "admin", "users", "list", "--query", "EXAMPLE", "--output", "json")
			var all []userJSON
			decode(out, &all)
			if len(all) != 4 || all[0].Email != "dave@example.com" || all[3].Email != "ops@example.com" {
				t.Fatalf("list: %+v", all)
			}
			out, _ = run(0, "", "admin", "users", "list", "--admin", "true")
			if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "ops@example.com") {
				t.Fatalf("list --admin true:\n%s", out)
			}
			out, _ = run(0, "", "admin", "users", "list", "--limit", "1", "-o", "json")
			decode(out, &all)
			if len(all) != 1 || all[0].Email != "dave@example.com" {
				t.Fatalf("list --limit 1: %+v", all)
			}
			out, _ = run(0, "", "admin", "users", "show", "BOB@example.com")
			for _, want := range []string{"email:", "Bob@example.com", "administrator:", "last sign-in:", "never"} {
				if !strings.Contains(out, want) {
					t.Fatalf("show: %q lacks %q", out, want)
				}
			}

			out, _ = run(0, "", "admin", "users", "update", bob.ID, "--name", "Robert", "--email", "robert@example.com", "-o", "json")
			var upd userJSON
			decode(out, &upd)
			if upd.Name != "Robert" || upd.Email != "robert@example.com" || upd.EmailVerified {
				t.Fatalf("update: %+v", upd)
			}
			run(0, "", "admin", "users", "update", "robert@example.com", "--email-verified=true")
			run(0, "", "admin", "users", "disable", "robert@example.com")
			out, _ = run(0, "", "admin", "users", "show", "robert@example.com", "-o", "json")
			decode(out, &upd)
			if !upd.Disabled || !upd.EmailVerified {
				t.Fatalf("after disable: %+v", upd)
			}
			run(0, "", "admin", "users", "enable", "robert@example.com")

			_, errOut = run(2, "", "admin", "users", "update", "ops@example.com", "--admin=false")
			if !strings.Contains(errOut, "administrator") {
				t.Fatalf("demoting the last administrator: %q", errOut)
			}
			_, errOut = run(2, "", "admin", "users", "update", "robert@example.com")
			if !strings.Contains(errOut, "nothing to change") {
				t.Fatalf("update without flags: %q", errOut)
			}
			run(2, "", "admin", "users", "update", "robert@example.com", "--email", "ops@example.com")
			run(2, "", "admin", "users", "list", "--disabled", "maybe")
			run(2, "", "admin", "users", "list", "--output", "yaml")
			run(2, "", "admin", "users", "create", "x@example.com") // no password, no --send-reset
			run(2, "", "admin", "users", "erase", "robert@example.com")
			out, _ = run(0, "", "admin", "users", "erase", "robert@example.com", "--yes")
			if !strings.Contains(out, bob.ID+": erased") {
				t.Fatalf("erase: %q", out)
			}
			if _, errOut = run(1, "", "admin", "users", "show", "robert@example.com"); !strings.Contains(errOut, "no such user") {
				t.Fatalf("show after erase: %q", errOut)
			}
			if n := testdb.QueryInt(t, url, "SELECT COUNT(*) FROM audit_events WHERE action = 'admin.user.erased' AND target_id = $1", bob.ID); n != 1 {
				t.Fatalf("erasure audit rows: %d", n)
			}
			if _, errOut = run(1, "", "admin", "users", "unlock", "ops@example.com"); !strings.Contains(errOut, "/unlock") {
				t.Fatalf("unlock: %q", errOut)
			}
			run(0, "", "audit", "verify")
		})
	}
}

// From another system's export to a sign-in: convert a Keycloak realm export and a
// Firebase export (with the project's hash parameters in the environment), import both,
// and sign in on a server with the passwords those systems hashed; export, and importing
// the export again changes nothing.
func TestConvertImportSignIn(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clearEnv(t)
			url := b.URL(t)
			t.Setenv("GATEHOUSE_DATABASE_URL", url)
			t.Setenv("GATEHOUSE_IMPORT_FIREBASE_SIGNER_KEY", "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==")
			t.Setenv("GATEHOUSE_IMPORT_FIREBASE_SALT_SEPARATOR", "Bw==")
			t.Setenv("GATEHOUSE_IMPORT_FIREBASE_ROUNDS", "8")
			t.Setenv("GATEHOUSE_IMPORT_FIREBASE_MEM_COST", "14")
			dir := t.TempDir()
			for _, src := range []struct{ from, file string }{{"keycloak", "keycloak_realm.json"}, {"firebase", "firebase_users.json"}} {
				code, out, errOut := runCLI(t, "users", "convert", "--from", src.from, "../../internal/convert/testdata/"+src.file)
				if code != 1 || !strings.Contains(errOut, "left out") || !strings.Contains(errOut, "converted ") {
					t.Fatalf("convert %s: exit %d, stderr %q", src.from, code, errOut) // each fixture holds records that cannot be converted
				}
				path := dir + "/" + src.from + ".ndjson"
				if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
					t.Fatal(err)
				}
				code, out, errOut = runCLI(t, "users", "import", path)
				if code != 0 || !strings.Contains(out, "failed 0") {
					t.Fatalf("import %s: exit %d, %q %q", src.from, code, out, errOut)
				}
			}
			code, exported, errOut := runCLI(t, "users", "export")
			if code != 0 || !strings.Contains(errOut, "exported ") || !strings.Contains(exported, `"external_id":"keycloak:`) {
				t.Fatalf("export: %d %q", code, errOut)
			}
			path := dir + "/export.ndjson"
			if err := os.WriteFile(path, []byte(exported), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, _ := runCLI(t, "users", "import", "-o", "json", path)
			var res admin.ImportResult
			if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.Created+res.Updated+res.Failed != 0 || res.Skipped == 0 {
				t.Fatalf("re-import of the export: %d %q", code, out)
			}
			run2 := func(args ...string) {
				if code, _, errOut := runCLI(t, args...); code != 2 {
					t.Fatalf("%v: exit %d (%q), want 2", args, code, errOut)
				}
			}
			run2("users", "convert", "--from", "okta", "x.json")
			run2("users", "convert", "--from", "firebase")
			run2("users", "import", dir+"/missing.ndjson")

			srv := testserver.Start(t, url, testserver.With("GATEHOUSE_DATA_DIR", os.Getenv("GATEHOUSE_DATA_DIR")))
			c := apitest.New(t, srv.URL)
			for email, pw := range map[string]string{"alice@example.com": "keycloak-sha256-pw", "bruno@example.com": "keycloak-sha512-pw",
				"chen@example.com": "keycloak-argon2-pw", "user1@example.com": "user1password"} {
				c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": pw + "x"}, "").Expect(t, 401, "invalid_credentials")
				c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": pw}, "").Expect(t, 200)
			}
		})
	}
}

// gatehouse admin audit export: NDJSON oldest first, filters, bad times exit 2.
func TestAdminAuditExport(t *testing.T) {
	clearEnv(t)
	if code, _, errOut := runCLIIn(t, strings.NewReader("correct horse battery staple\n"), "admin", "create-user", "--admin", "ops@example.com"); code != 0 {
		t.Fatalf("create-user: %q", errOut)
	}
	if code, _, errOut := runCLIIn(t, strings.NewReader("correct horse battery staple\n"), "admin", "users", "create", "b@example.com"); code != 0 {
		t.Fatalf("create: %q", errOut)
	}
	code, out, errOut := runCLI(t, "admin", "audit", "export")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(errOut, "exported 2 event(s)") {
		t.Fatalf("export: %d %q %q", code, out, errOut)
	}
	var first, last map[string]any
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil ||
		first["seq"].(float64) != 1 || last["action"] != "admin.user.created" || last["hash"] == "" {
		t.Fatalf("first %v, last %v", first, last)
	}
	if code, out, errOut = runCLI(t, "admin", "audit", "export", "--action", "user.login.succeeded"); code != 0 || out != "" ||
		!strings.Contains(errOut, "exported 0 event(s)") {
		t.Fatalf("filtered: %d %q %q", code, out, errOut)
	}
	if code, _, _ = runCLI(t, "admin", "audit", "export", "--since", "yesterday"); code != 2 {
		t.Fatalf("a bad --since: exit %d, want 2", code)
	}
}
