// Package signinnode tests the Node example of the README against a live Gatehouse.
package signinnode

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/formlogin"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// TestTheREADMEExampleSignsIn runs app.mjs (openid-client) against a live Gatehouse: a
// person opens the app, signs in on the hosted page and lands back on it, signed in.
// It needs node and `npm ci` in this directory; .ci/run does both.
func TestTheREADMEExampleSignsIn(t *testing.T) {
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat("node_modules/openid-client"); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or examples/signin-node/node_modules missing in CI (run npm ci there): %v %v", err, statErr)
		}
		t.Skip("SKIPPED: the Node example needs node and `npm ci` in examples/signin-node")
	}
	gh := testserver.Start(t, testdb.SQLiteURL(t))
	api := apitest.New(t, gh.URL)
	if resp := api.Do(t, "POST", "/v1/auth/register", map[string]any{"email": "grace@example.com", "password": "correct horse battery staple",
		"name": "Grace"}, ""); resp.Status != 201 {
		t.Fatalf("register: %d", resp.Status)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the app
	if err != nil {
		t.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	ln.Close()
	secret, hash := token.NewOpaque()
	now := time.Now()
	if err := gh.App.Store().CreateClient(context.Background(), &store.Client{ID: "node-example", Name: "Node example", SecretHash: hash,
		RedirectURIs: []string{appURL + "/callback"}, GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic",
		Scopes: []string{"openid", "profile", "email"}, FirstParty: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs(".")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, "app.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+gh.URL, "CLIENT_ID=node-example", "CLIENT_SECRET="+secret,
		"REDIRECT_URI="+appURL+"/callback")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			t.Log("node: " + s.Text())
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Node app did not start listening")
		}
	}
	resp, body := formlogin.SignIn(t, appURL+"/", "grace@example.com", "correct horse battery staple")
	if resp.StatusCode != 200 || !strings.Contains(body, "Signed in as Grace <grace@example.com>") {
		t.Fatalf("the app says %d %q", resp.StatusCode, body)
	}
}
