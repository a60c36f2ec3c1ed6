package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// clearEnv hides any GATEHOUSE_* variables of the developer's shell from a test.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GATEHOUSE_") && !strings.HasPrefix(k, "GATEHOUSE_TEST_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("GATEHOUSE_DATA_DIR", t.TempDir())
	t.Setenv("GATEHOUSE_DATABASE_URL", testdb.SQLiteURL(t))
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadInvocationsExit2WithOneLine(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"unknown flag", nil, []string{"serve", "--bogus"}, []string{"unknown flag: --bogus"}},
		{"unknown command", nil, []string{"nonsense"}, []string{"unknown command"}},
		{"bad address", map[string]string{"GATEHOUSE_HTTP_ADDR": "nonsense"}, []string{"serve"}, []string{"GATEHOUSE_HTTP_ADDR"}},
		{"bad flag value", nil, []string{"migrate", "status", "--log-level", "loud"}, []string{"--log-level"}},
		{"production with nothing set", map[string]string{"GATEHOUSE_ENV": "production", "GATEHOUSE_DATABASE_URL": ""}, []string{"serve"},
			[]string{"GATEHOUSE_MASTER_KEY", "GATEHOUSE_ISSUER", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_SMTP_URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCLI(t, tc.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("stderr is not one line: %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"migrate", "up", "--help"},
		{"migrate", "status", "--help"}, {"audit", "--help"}, {"audit", "verify", "--help"}, {"config", "--help"}, {"config", "reference", "--help"}, {"config", "check", "--help"}, {"admin", "--help"}, {"admin", "user", "--help"}, {"admin", "user", "disable", "--help"}, {"admin", "user", "mfa-reset", "--help"}, {"admin", "users", "--help"}, {"admin", "users", "list", "--help"}, {"admin", "users", "show", "--help"}, {"admin", "users", "create", "--help"}, {"admin", "users", "update", "--help"}, {"admin", "users", "erase", "--help"}, {"admin", "users", "enable", "--help"}, {"admin", "users", "unlock", "--help"}, {"users", "--help"}, {"admin", "audit", "--help"}, {"admin", "audit", "export", "--help"}, {"users", "import", "--help"}, {"users", "export", "--help"}, {"users", "convert", "--help"}, {"admin", "create-user", "--help"}, {"clients", "--help"}, {"clients", "create", "--help"}, {"clients", "list", "--help"}, {"clients", "delete", "--help"}, {"clients", "rotate-secret", "--help"}, {"keys", "--help"}, {"keys", "list", "--help"}, {"keys", "rotate", "--help"}, {"version", "--help"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "gatehouse ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestMigrateUpAndStatus(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("GATEHOUSE_DATABASE_URL", b.URL(t))
			code, out, stderr := runCLI(t, "migrate", "status")
			if code != 0 || !strings.Contains(out, "pending") {
				t.Fatalf("status before: %d %q %q", code, out, stderr)
			}
			if code, out, _ = runCLI(t, "migrate", "up"); code != 0 || !strings.Contains(out, "applied") {
				t.Fatalf("up: %d %q", code, out)
			}
			if code, out, _ = runCLI(t, "migrate", "up"); code != 0 || !strings.Contains(out, "applied 0 migration") {
				t.Fatalf("second up: %d %q", code, out)
			}
			code, out, _ = runCLI(t, "migrate", "status")
			if code != 0 || strings.Contains(out, "pending") || !strings.Contains(out, "DIALECT  "+b.Name) || strings.Contains(out, "CURRENT  0") {
				t.Fatalf("status after: %d %q", code, out)
			}
		})
	}
}

// The built binary starts with no configuration, serves, and exits 0 on SIGTERM.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--http-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				addr <- line.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the binary did not start serving")
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	if st, err := os.Stat(filepath.Join(dir, "data", "gatehouse.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("database file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0", err)
	}
}

// A row edited (or deleted) behind the service's back is reported by `audit verify`.
func TestAuditVerifyReportsTampering(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clearEnv(t)
			url := b.URL(t)
			t.Setenv("GATEHOUSE_DATABASE_URL", url)
			srv := testserver.Start(t, url, testserver.With("GATEHOUSE_DATA_DIR", os.Getenv("GATEHOUSE_DATA_DIR")))
			c := apitest.New(t, srv.URL)
			for i := 0; i < 3; i++ {
				c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": fmt.Sprintf("audit%d@example.com", i), "password": "correct horse battery"}, "").Expect(t, 201)
			}
			srv.Stop(t)
			code, out, _ := runCLI(t, "audit", "verify")
			if code != 0 || !strings.Contains(out, "intact") {
				t.Fatalf("verify on an intact log: %d %q", code, out)
			}
			// The service logged a checkpoint on its way down; cutting the newest event
			// is noticed against it.
			cp := lastCheckpoint(t, srv.Logs.String())
			if code, out, _ = runCLI(t, "audit", "verify", "--checkpoint", cp); code != 0 || !strings.Contains(out, "reaches checkpoint") {
				t.Fatalf("verify --checkpoint %s: %d %q", cp, code, out)
			}
			if code, _, _ = runCLI(t, "audit", "verify", "--checkpoint", "12:nothex"); code != 2 {
				t.Fatalf("a malformed checkpoint: exit %d, want 2", code)
			}
			testdb.Exec(t, url, `DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)`)
			if code, out, _ = runCLI(t, "audit", "verify", "--checkpoint", cp); code != 1 || !strings.Contains(out, "cut from the end") {
				t.Fatalf("verify --checkpoint after the tail was cut: %d %q", code, out)
			}
			// Someone rewrites where event 3 came from.
			testdb.Exec(t, url, `UPDATE audit_events SET ip = '10.6.6.6' WHERE seq = 3`)
			code, out, _ = runCLI(t, "audit", "verify")
			if code != 1 || !strings.Contains(out, "event 3") || !strings.Contains(out, "changed") {
				t.Fatalf("verify after an edit: %d %q", code, out)
			}
			// Someone deletes event 2 instead (after restoring nothing: the first break wins).
			testdb.Exec(t, url, `DELETE FROM audit_events WHERE seq = 2`)
			code, out, _ = runCLI(t, "audit", "verify")
			if code != 1 || !strings.Contains(out, "event 2 is missing") {
				t.Fatalf("verify after a deletion: %d %q", code, out)
			}
		})
	}
}

// lastCheckpoint returns SEQ:HASH of the last "audit checkpoint" line of a JSON log.
func lastCheckpoint(t *testing.T, logs string) string {
	t.Helper()
	cp := ""
	for _, line := range strings.Split(logs, "\n") {
		var rec struct {
			Msg  string `json:"msg"`
			Seq  int64  `json:"seq"`
			Hash string `json:"hash"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "audit checkpoint" {
			cp = fmt.Sprintf("%d:%s", rec.Seq, rec.Hash)
		}
	}
	if cp == "" {
		t.Fatalf("no audit checkpoint in the log:\n%s", logs)
	}
	return cp
}

func TestAdminUserCommands(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clearEnv(t)
			url := b.URL(t)
			t.Setenv("GATEHOUSE_DATABASE_URL", url)
			srv := testserver.Start(t, url, testserver.With("GATEHOUSE_DATA_DIR", os.Getenv("GATEHOUSE_DATA_DIR")),
				testserver.With("GATEHOUSE_SESSION_CACHE_TTL", "0s"))
			c := apitest.New(t, srv.URL)
			c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": "ops@example.com", "password": "correct horse battery"}, "").Expect(t, 201)
			tok := c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": "ops@example.com", "password": "correct horse battery"}, "").Expect(t, 200)

			code, out, errOut := runCLI(t, "admin", "user", "disable", "OPS@example.com")
			if code != 0 || !strings.Contains(out, "disabled, 1 session(s) ended") {
				t.Fatalf("disable: %d %q %q", code, out, errOut)
			}
			c.Do(t, "GET", "/v1/me", nil, tok.Str("access_token")).Expect(t, 401)
			c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": "ops@example.com", "password": "correct horse battery"}, "").Expect(t, 403, "account_disabled")
			if code, out, _ = runCLI(t, "admin", "user", "enable", "ops@example.com"); code != 0 {
				t.Fatalf("enable: %d %q", code, out)
			}
			c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": "ops@example.com", "password": "correct horse battery"}, "").Expect(t, 200)
			if code, out, _ = runCLI(t, "admin", "user", "mfa-reset", "ops@example.com"); code != 0 || !strings.Contains(out, "removed") {
				t.Fatalf("mfa-reset: %d %q", code, out)
			}
			if code, _, errOut = runCLI(t, "admin", "user", "disable", "nobody@example.com"); code != 1 || !strings.Contains(errOut, "no such user") {
				t.Fatalf("unknown user: %d %q", code, errOut)
			}
			if code, _, _ = runCLI(t, "admin", "user", "disable"); code != 2 {
				t.Fatalf("missing argument: exit %d, want 2", code)
			}
		})
	}
}

func TestKeysListAndRotate(t *testing.T) {
	clearEnv(t)
	code, out, errOut := runCLI(t, "keys", "list")
	if code != 0 || strings.Count(out, "RS256") != 2 || !strings.Contains(out, "active") || !strings.Contains(out, "next") {
		t.Fatalf("keys list: %d %q %q", code, out, errOut)
	}
	if code, out, _ = runCLI(t, "keys", "rotate"); code != 0 || !strings.Contains(out, "rotated") {
		t.Fatalf("keys rotate: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "keys", "list")
	if code != 0 || strings.Count(out, "RS256") != 3 || !strings.Contains(out, "retired") {
		t.Fatalf("after rotation: %d %q", code, out)
	}
}
