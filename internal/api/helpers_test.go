package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/smtptest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// env is a running Gatehouse with a real mail server.
type env struct {
	srv  *testserver.Server
	c    *apitest.Client
	mail *smtptest.Server
}

// eachBackend runs fn against SQLite and, when configured, PostgreSQL.
// eachBackend runs fn against SQLite and PostgreSQL, side by side: each has its own
// server and database, and while one waits on its disk the other runs.
func eachBackend(t *testing.T, fn func(t *testing.T, dbURL func(testing.TB) string)) {
	t.Parallel() // each test has its own servers and databases (see TestMain)
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.URL)
		})
	}
}

func newEnv(t *testing.T, dbURL string, opts ...testserver.Option) *env {
	t.Helper()
	mail := smtptest.Start(t)
	opts = append([]testserver.Option{testserver.With("GATEHOUSE_SMTP_URL", mail.URL)}, opts...)
	srv := testserver.Start(t, dbURL, opts...)
	c := apitest.New(t, srv.URL)
	checkContract(t, c)
	return &env{srv: srv, c: c, mail: mail}
}

var seq atomic.Int64

// uniqueEmail returns a fresh address.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d@example.com", prefix, seq.Add(1))
}

const goodPassword = "correct horse battery staple"

// firstFactor is the body of a route that may add the first second factor: it needs the
// current password.
var firstFactor = map[string]any{"current_password": goodPassword}

// register creates an account and returns its id.
func (e *env) register(t *testing.T, email, pw string) string {
	t.Helper()
	r := e.c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": email, "password": pw, "name": "Test User"}, "").Expect(t, 201)
	return r.Body["user"].(map[string]any)["id"].(string)
}

type tokens struct {
	Access, Refresh, Session string
}

func (e *env) login(t *testing.T, email, pw string) tokens {
	t.Helper()
	r := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": pw}, "").Expect(t, 200)
	if r.Str("token_type") != "Bearer" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login response %s / Cache-Control %q", r.Raw, r.Header.Get("Cache-Control"))
	}
	return tokens{Access: r.Str("access_token"), Refresh: r.Str("refresh_token"), Session: r.Str("session_id")}
}

func (e *env) refresh(t *testing.T, rt string) *apitest.Response {
	t.Helper()
	return e.c.Do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": rt}, "")
}

// newUser registers and logs in a fresh user.
func (e *env) newUser(t *testing.T, prefix string) (email, id string, tok tokens) {
	t.Helper()
	email = uniqueEmail(prefix)
	id = e.register(t, email, goodPassword)
	return email, id, e.login(t, email, goodPassword)
}

// auditActions returns the caller's audit actions, newest first.
func (e *env) auditActions(t *testing.T, access string) []string {
	t.Helper()
	r := e.c.Do(t, "GET", "/v1/me/audit?limit=200", nil, access).Expect(t, 200)
	var out []string
	for _, it := range r.Body["items"].([]any) {
		out = append(out, it.(map[string]any)["action"].(string))
	}
	return out
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}

func testdbSQLite(t *testing.T) string { return testdb.SQLiteURL(t) }

func appClock(c *testserver.Clock) app.Option { return app.WithClock(c.Now) }

func mustRequest(t *testing.T, method, url, body, ctype string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	return req
}

func storeFilterAction(action string) store.AuditFilter {
	return store.AuditFilter{Action: action, Limit: 100}
}
