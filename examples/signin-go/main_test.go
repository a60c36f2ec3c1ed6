package main

import (
	"context"
	"net/http"
	"net/http/httptest"
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

// TestTheREADMEExampleSignsIn runs this example app against a live Gatehouse: a person
// opens the app, signs in on the hosted page and lands back on the app, signed in.
func TestTheREADMEExampleSignsIn(t *testing.T) {
	gh := testserver.Start(t, testdb.SQLiteURL(t))
	api := apitest.New(t, gh.URL)
	if resp := api.Do(t, "POST", "/v1/auth/register", map[string]any{"email": "ada@example.com", "password": "correct horse battery staple",
		"name": "Ada"}, ""); resp.Status != 201 {
		t.Fatalf("register: %d", resp.Status)
	}
	var handler http.Handler
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(appSrv.Close)
	secret, hash := token.NewOpaque()
	now := time.Now()
	if err := gh.App.Store().CreateClient(context.Background(), &store.Client{ID: "example", Name: "Example", SecretHash: hash,
		RedirectURIs: []string{appSrv.URL + "/callback"}, GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic",
		Scopes: []string{"openid", "profile", "email"}, FirstParty: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var err error
	if handler, err = newApp(context.Background(), gh.URL, "example", secret, appSrv.URL+"/callback"); err != nil {
		t.Fatal(err)
	}

	resp, body := formlogin.SignIn(t, appSrv.URL+"/", "ada@example.com", "correct horse battery staple")
	if resp.StatusCode != 200 || !strings.Contains(body, "Signed in as Ada <ada@example.com>") {
		t.Fatalf("the app says %d %q", resp.StatusCode, body)
	}
}
