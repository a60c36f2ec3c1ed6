package oidc_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestConsentIsRememberedAndRevocable: a third-party app asks once; the answer is kept
// per user and app; revoking it from /account ends the app's grants and asks again.
// Denying sends access_denied back to the app.
func TestConsentIsRememberedAndRevocable(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		r := newRig(t, dbURL(t))
		c, secret := r.client(store.Client{Name: "Third Party"})
		app := r.relyingParty(c, secret)
		email := r.user("consent")

		// Deny first.
		b := r.browser()
		a := app.start()
		page, _ := b.get(a.url)
		page, body := b.submit(page, "password", map[string]string{"email": email, "password": goodPassword})
		if !strings.Contains(body, "Third Party") || !strings.Contains(body, `name="decision"`) {
			t.Fatalf("no consent page naming the app:\n%s", body)
		}
		resp, _ := b.submit(page, "decision", map[string]string{"decision": "deny"})
		back := left(resp)
		if back == nil || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != a.state || back.Query().Get("code") != "" {
			t.Fatalf("deny: %d %v", resp.StatusCode, back)
		}

		// Approve: the app gets its tokens.
		a = app.start()
		tok, _ := app.exchange(t, a, b.signIn(a.url, email, ""))

		// Remembered: a new sign-in in a new browser asks no more.
		b2 := r.browser()
		a = app.start()
		resp, _ = b2.get(a.url)
		resp, body = b2.submit(resp, "password", map[string]string{"email": email, "password": goodPassword})
		if left(resp) == nil || strings.Contains(body, `name="decision"`) {
			t.Fatalf("consent asked again: %d", resp.StatusCode)
		}

		// prompt=consent asks even so.
		a = app.start(oauth2.SetAuthURLParam("prompt", "consent"))
		_, body = b2.get(a.url)
		if !strings.Contains(body, `name="decision"`) {
			t.Fatal("prompt=consent did not ask")
		}

		// Revoke from /account: the app's grants end, and the next sign-in asks again.
		acct, body := b.get(r.srv.URL + "/account")
		if !strings.Contains(body, "Third Party") {
			t.Fatalf("the account page does not list the app:\n%s", body)
		}
		if resp, _ := b.submit(acct, "client_id", map[string]string{"client_id": c.ID}); resp.StatusCode >= 400 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		code, intro, _ := postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, c.ID, secret)
		if code != 200 || intro["active"] != false {
			t.Fatalf("a revoked app's token is still active: %v", intro)
		}
		if _, err := app.conf.TokenSource(app.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
			t.Fatal("a revoked app's refresh token still works")
		}
		a = app.start()
		_, body = b.get(a.url)
		if !strings.Contains(body, `name="decision"`) {
			t.Fatal("consent not asked again after revocation")
		}
	})
}
