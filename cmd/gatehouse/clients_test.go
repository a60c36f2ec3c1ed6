package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// runCLIIn runs the command line with in as standard input.
func runCLIIn(t *testing.T, in io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runWithInput(args, in, &out, &errb)
	return code, out.String(), errb.String()
}

// An administrator created from the command line signs in and administers; the password
// comes from a pipe, or is generated and printed once.
func TestAdminCreateUser(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clearEnv(t)
			url := b.URL(t)
			t.Setenv("GATEHOUSE_DATABASE_URL", url)
			const pw = "correct horse battery staple"
			code, out, errOut := runCLIIn(t, strings.NewReader(pw+"\nignored\n"), "admin", "create-user", "--admin", "--name", "Ops", "Ops@example.com")
			if code != 0 || !strings.Contains(out, "Ops@example.com: administrator created") || strings.Contains(out, pw) {
				t.Fatalf("create-user: %d %q %q", code, out, errOut)
			}
			devNull, err := os.Open(os.DevNull) // a terminal-like (character device) input
			if err != nil {
				t.Fatal(err)
			}
			defer devNull.Close()
			code, out, errOut = runCLIIn(t, devNull, "admin", "create-user", "plain@example.com")
			if code != 0 || !strings.Contains(out, "plain@example.com: account created") || !strings.Contains(out, "password (shown once): ") {
				t.Fatalf("create-user with a generated password: %d %q %q", code, out, errOut)
			}
			generated := strings.TrimSpace(out[strings.Index(out, "password (shown once): ")+len("password (shown once): "):])
			if len(generated) != 32 {
				t.Fatalf("generated password %q", generated)
			}

			srv := testserver.Start(t, url, testserver.With("GATEHOUSE_DATA_DIR", os.Getenv("GATEHOUSE_DATA_DIR")))
			c := apitest.New(t, srv.URL)
			tok := c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": "ops@example.com", "password": pw}, "").Expect(t, 200).Str("access_token")
			c.Do(t, "GET", "/v1/admin/clients", nil, tok).Expect(t, 200)
			plain := c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": "plain@example.com", "password": generated}, "").Expect(t, 200).Str("access_token")
			c.Do(t, "GET", "/v1/admin/clients", nil, plain).Expect(t, 403, "forbidden")
			srv.Stop(t)

			for _, tc := range []struct {
				in   string
				args []string
				code int
				want string
			}{
				{pw + "\n", []string{"ops@example.com"}, 1, "already exists"},
				{"short\n", []string{"weak@example.com"}, 2, "at least 12 characters"},
				{"\n", []string{"empty@example.com"}, 2, "no password"},
				{pw + "\n", []string{"not-an-email"}, 2, "not a valid email"},
				{pw + "\n", nil, 2, "exactly one email"},
			} {
				code, _, errOut := runCLIIn(t, strings.NewReader(tc.in), append([]string{"admin", "create-user", "--admin"}, tc.args...)...)
				if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, pw) {
					t.Errorf("create-user %v: %d %q, want %d %q", tc.args, code, errOut, tc.code, tc.want)
				}
			}
			if code, out, _ := runCLI(t, "audit", "verify"); code != 0 || !strings.Contains(out, "intact") {
				t.Fatalf("audit verify after the commands: %d %q", code, out)
			}
		})
	}
}

type cliClient struct {
	ClientID                string   `json:"client_id"`
	Name                    string   `json:"name"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scopes                  []string `json:"scopes"`
	FirstParty              bool     `json:"first_party"`
	AccessTokenTTLSeconds   int      `json:"access_token_ttl_seconds"`
	ClientSecret            string   `json:"client_secret"`
}

func decodeClient(t *testing.T, out string) cliClient {
	t.Helper()
	var c cliClient
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ClientID == "" {
		t.Fatalf("output %q is not a client: %v", out, err)
	}
	return c
}

func TestClientsCommands(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			clearEnv(t)
			url := b.URL(t)
			t.Setenv("GATEHOUSE_DATABASE_URL", url)
			code, out, errOut := runCLI(t, "clients", "create", "--name", "Billing", "--redirect-uri", "https://billing.example.com/cb?a=1,2",
				"--redirect-uri", "http://127.0.0.1:8400/cb", "--post-logout-redirect-uri", "https://billing.example.com/bye")
			if code != 0 {
				t.Fatalf("create: %d %q %q", code, out, errOut)
			}
			web := decodeClient(t, out)
			if web.ClientSecret == "" || web.TokenEndpointAuthMethod != "client_secret_basic" || web.FirstParty || web.AccessTokenTTLSeconds != 0 ||
				!slices.Equal(web.RedirectURIs, []string{"https://billing.example.com/cb?a=1,2", "http://127.0.0.1:8400/cb"}) ||
				!slices.Equal(web.GrantTypes, []string{"authorization_code", "refresh_token"}) ||
				!slices.Equal(web.Scopes, []string{"openid", "profile", "email", "offline_access"}) ||
				!slices.Equal(web.PostLogoutRedirectURIs, []string{"https://billing.example.com/bye"}) {
				t.Fatalf("created %+v", web)
			}
			code, out, errOut = runCLI(t, "clients", "create", "--name", "App", "--auth-method", "none", "--redirect-uri", "com.example.app:/cb",
				"--grant-type", "authorization_code", "--scope", "openid", "--scope", "offline_access", "--first-party", "--access-token-ttl", "10m")
			if code != 0 {
				t.Fatalf("create public: %d %q %q", code, out, errOut)
			}
			app := decodeClient(t, out)
			if app.ClientSecret != "" || !app.FirstParty || app.AccessTokenTTLSeconds != 600 || !slices.Equal(app.Scopes, []string{"openid", "offline_access"}) ||
				!slices.Equal(app.GrantTypes, []string{"authorization_code"}) {
				t.Fatalf("created public %+v", app)
			}
			code, out, _ = runCLI(t, "clients", "create", "--name", "Cron", "--grant-type", "client_credentials", "--auth-method", "client_secret_post")
			if code != 0 || decodeClient(t, out).ClientSecret == "" {
				t.Fatalf("create machine client: %d %q", code, out)
			}

			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"--name", "Bad", "--redirect-uri", "http://billing.example.com/cb"}, "--redirect-uri may use http:// only for a loopback host"},
				{[]string{"--name", "Bad", "--redirect-uri", "https://billing.example.com/cb#x"}, "--redirect-uri"},
				{[]string{"--redirect-uri", "https://billing.example.com/cb"}, "--name"},
				{[]string{"--name", "Bad", "--grant-type", "refresh_token", "--grant-type", "client_credentials"}, "--grant-type refresh_token needs authorization_code"},
				{[]string{"--name", "Bad", "--grant-type", "client_credentials", "--auth-method", "none"}, "--grant-type"},
				{[]string{"--name", "Bad", "--redirect-uri", "https://b.example.com/cb", "--scope", "admin"}, "--scope"},
				{[]string{"--name", "Bad", "--redirect-uri", "https://b.example.com/cb", "--access-token-ttl", "30s"}, "--access-token-ttl"},
				{[]string{"--name", "Bad", "--redirect-uri", "https://b.example.com/cb", "--auth-method", "private_key_jwt"}, "--auth-method"},
			} {
				code, _, errOut := runCLI(t, append([]string{"clients", "create"}, tc.args...)...)
				if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
					t.Errorf("create %v: %d %q, want exit 2 naming %q", tc.args, code, errOut, tc.want)
				}
			}

			code, out, _ = runCLI(t, "clients", "list")
			if code != 0 || !strings.Contains(out, web.ClientID) || !strings.Contains(out, app.ClientID) || !strings.Contains(out, "Cron") ||
				strings.Count(out, "\n") != 4 || strings.Contains(out, "Bad") {
				t.Fatalf("list: %d %q", code, out)
			}

			code, out, _ = runCLI(t, "clients", "rotate-secret", web.ClientID)
			var rotated map[string]string
			if code != 0 || json.Unmarshal([]byte(out), &rotated) != nil || rotated["client_id"] != web.ClientID ||
				rotated["client_secret"] == "" || rotated["client_secret"] == web.ClientSecret {
				t.Fatalf("rotate-secret: %d %q", code, out)
			}
			db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if c, err := db.ClientByID(t.Context(), web.ClientID); err != nil || c.SecretHash != token.Hash(rotated["client_secret"]) {
				t.Fatalf("stored client after rotation: %+v, %v", c, err)
			}
			if code, _, errOut := runCLI(t, "clients", "rotate-secret", app.ClientID); code != 1 || !strings.Contains(errOut, "public client") {
				t.Fatalf("rotate-secret of a public client: %d %q", code, errOut)
			}

			if code, out, _ := runCLI(t, "clients", "delete", web.ClientID); code != 0 || !strings.Contains(out, "deleted") {
				t.Fatalf("delete: %d %q", code, out)
			}
			if code, _, errOut := runCLI(t, "clients", "delete", web.ClientID); code != 1 || !strings.Contains(errOut, "no such client") {
				t.Fatalf("delete twice: %d %q", code, errOut)
			}
			if code, out, _ := runCLI(t, "clients", "list"); code != 0 || strings.Contains(out, web.ClientID) {
				t.Fatalf("list after delete: %d %q", code, out)
			}
			for _, args := range [][]string{{"clients", "delete"}, {"clients", "rotate-secret", "a", "b"}, {"clients", "list", "x"}} {
				if code, _, _ := runCLI(t, args...); code != 2 {
					t.Errorf("%v: exit %d, want 2", args, code)
				}
			}
			evs, err := db.ListAudit(t.Context(), store.AuditFilter{Action: "admin.client.created", Limit: 10})
			if err != nil || len(evs) != 3 || evs[0].ActorID != "" || !strings.Contains(evs[0].Details, `"via":"cli"`) {
				t.Fatalf("audit of the creations: %+v, %v", evs, err)
			}
			if code, out, _ := runCLI(t, "audit", "verify"); code != 0 || !strings.Contains(out, "intact") {
				t.Fatalf("audit verify after the commands: %d %q", code, out)
			}
		})
	}
}
