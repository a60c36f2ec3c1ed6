package api_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"pgregory.net/rapid"

	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// modelSession is what the test believes about one session.
type modelSession struct {
	id      string
	access  string
	refresh string   // the newest refresh token
	rotated []string // refresh tokens already used
	alive   bool
}

type propClient struct {
	base string
	http *http.Client
}

func (c *propClient) do(t *rapid.T, method, path string, body any, bearer string) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestSessionInvariantsProperty drives random sequences of login, refresh, reuse of a
// rotated token, logout and password change, and after every step checks: each session
// has at most one unused refresh token; a reused token killed its session; no revoked
// session refreshes or calls /v1.
func TestSessionInvariantsProperty(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		url := dbURL(t)
		srv := testserver.Start(t, url,
			testserver.With("GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", "1000000"),
			testserver.With("GATEHOUSE_LIMIT_IP_PER_MINUTE", "1000000"))
		db := testdb.Open(t, url)
		defer db.Close()
		c := &propClient{base: srv.URL, http: &http.Client{}}
		n := 0
		rapid.Check(t, func(t *rapid.T) {
			n++
			email := fmt.Sprintf("prop-%d-%d@example.com", n, seq.Add(1))
			pw := goodPassword
			if st, _ := c.do(t, "POST", "/v1/auth/register", map[string]any{"email": email, "password": pw}, ""); st != 201 {
				t.Fatalf("register: %d", st)
			}
			var sessions []*modelSession
			pick := func(t *rapid.T) *modelSession {
				return rapid.SampledFrom(sessions).Draw(t, "session")
			}
			t.Repeat(map[string]func(*rapid.T){
				"login": func(t *rapid.T) {
					st, body := c.do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": pw}, "")
					if st != 200 {
						t.Fatalf("login: %d %v", st, body)
					}
					sessions = append(sessions, &modelSession{id: body["session_id"].(string), access: body["access_token"].(string),
						refresh: body["refresh_token"].(string), alive: true})
				},
				"refresh": func(t *rapid.T) {
					if len(sessions) == 0 {
						t.Skip("no session")
					}
					s := pick(t)
					st, body := c.do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": s.refresh}, "")
					if !s.alive {
						if st != 401 || body["code"] != "invalid_token" {
							t.Fatalf("refresh of a dead session answered %d %v", st, body)
						}
						return
					}
					if st != 200 {
						t.Fatalf("refresh of a live session answered %d %v", st, body)
					}
					s.rotated = append(s.rotated, s.refresh)
					s.refresh, s.access = body["refresh_token"].(string), body["access_token"].(string)
				},
				"reuse": func(t *rapid.T) {
					var candidates []*modelSession
					for _, s := range sessions {
						if len(s.rotated) > 0 {
							candidates = append(candidates, s)
						}
					}
					if len(candidates) == 0 {
						t.Skip("nothing rotated yet")
					}
					s := rapid.SampledFrom(candidates).Draw(t, "reused")
					old := rapid.SampledFrom(s.rotated).Draw(t, "old token")
					st, body := c.do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": old}, "")
					want := "refresh_token_reused"
					if !s.alive {
						want = "invalid_token"
					}
					if st != 401 || body["code"] != want {
						t.Fatalf("reuse answered %d %v, want 401 %s", st, body, want)
					}
					s.alive = false
				},
				"logout": func(t *rapid.T) {
					if len(sessions) == 0 {
						t.Skip("no session")
					}
					s := pick(t)
					st, _ := c.do(t, "POST", "/v1/auth/logout", map[string]any{}, s.access)
					if (st == 204) != s.alive {
						t.Fatalf("logout answered %d for a session alive=%v", st, s.alive)
					}
					s.alive = false
				},
				"change password": func(t *rapid.T) {
					var live []*modelSession
					for _, s := range sessions {
						if s.alive {
							live = append(live, s)
						}
					}
					if len(live) == 0 {
						t.Skip("no live session")
					}
					s := rapid.SampledFrom(live).Draw(t, "changer")
					next := fmt.Sprintf("another good passphrase %d", rapid.IntRange(0, 1e6).Draw(t, "pw"))
					st, body := c.do(t, "POST", "/v1/me/password", map[string]any{"current_password": pw, "new_password": next}, s.access)
					if st != 204 {
						t.Fatalf("password change: %d %v", st, body)
					}
					pw = next
					for _, o := range sessions {
						if o != s {
							o.alive = false
						}
					}
				},
				"": func(t *rapid.T) { // invariants, checked after every step
					for _, s := range sessions {
						st, _ := c.do(t, "GET", "/v1/me", nil, s.access)
						if (st == 200) != s.alive {
							t.Fatalf("session %s alive=%v but /v1/me answered %d", s.id, s.alive, st)
						}
						unused := countUnused(t, db, s.id)
						if unused > 1 {
							t.Fatalf("session %s has %d unused refresh tokens", s.id, unused)
						}
						if !s.alive {
							if st, _ := c.do(t, "POST", "/v1/auth/token/refresh", map[string]any{"refresh_token": s.refresh}, ""); st != 401 {
								t.Fatalf("dead session %s refreshed: %d", s.id, st)
							}
						}
					}
				},
			})
		})
	})
}

func countUnused(t *rapid.T, db *sql.DB, sessionID string) int {
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1 AND used_at IS NULL`, sessionID).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}
