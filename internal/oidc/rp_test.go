package oidc_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// idClaims are the ID token claims API.md promises.
type idClaims struct {
	Sub           string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          string   `json:"name"`
	AuthTime      int64    `json:"auth_time"`
	AMR           []string `json:"amr"`
	SID           string   `json:"sid"`
	Nonce         string   `json:"nonce"`
	AtHash        string   `json:"at_hash"`
}

// TestRelyingPartySignsInThroughTheHostedPages runs a real relying party (x/oauth2 and
// go-oidc, written by no one on this team) against a live server: authorization code
// with PKCE through the HTML forms, with and without a second factor, then refresh,
// userinfo, introspection, revocation, client_credentials and end-session.
func TestRelyingPartySignsInThroughTheHostedPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		r := newRig(t, dbURL(t))
		c, secret := r.client(store.Client{GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:9/signed-out"}})
		app := r.relyingParty(c, secret)

		for _, withMFA := range []bool{false, true} {
			email := r.user("rp")
			var secretTOTP string
			wantAMR := []string{"pwd"}
			if withMFA {
				secretTOTP = r.enrollTOTP(email)
				wantAMR = []string{"pwd", "otp", "mfa"}
			}
			b := r.browser()
			a := app.start()
			cb := b.signIn(a.url, email, secretTOTP)
			if got := cb.Query().Get("iss"); got != r.srv.URL {
				t.Fatalf("iss in the authorization response = %q, want %q", got, r.srv.URL)
			}
			tok, idt := app.exchange(t, a, cb)
			var cl idClaims
			if err := idt.Claims(&cl); err != nil {
				t.Fatal(err)
			}
			if cl.Email != email || cl.EmailVerified == nil || cl.Name == "" || cl.AuthTime == 0 || cl.SID == "" || cl.AtHash == "" {
				t.Fatalf("ID token claims incomplete: %+v", cl)
			}
			for _, m := range wantAMR {
				if !slices.Contains(cl.AMR, m) {
					t.Fatalf("amr = %v, want %v", cl.AMR, wantAMR)
				}
			}
			if idt.Issuer != r.srv.URL || !slices.Contains(idt.Audience, c.ID) {
				t.Fatalf("iss/aud = %s %v", idt.Issuer, idt.Audience)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token with offline_access")
			}

			// userinfo, through go-oidc.
			info, err := app.provider.UserInfo(app.ctx, oauth2.StaticTokenSource(tok))
			if err != nil || info.Subject != cl.Sub || info.Email != email {
				t.Fatalf("userinfo: %+v %v", info, err)
			}

			// The client's access token is not an API token.
			if resp := r.api.Do(t, "GET", "/v1/me", nil, tok.AccessToken); resp.Status != 401 {
				t.Fatalf("client access token on /v1/me: %d", resp.Status)
			}

			// Refresh rotates.
			old := tok.RefreshToken
			src := app.conf.TokenSource(app.ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Minute)})
			fresh, err := src.Token()
			if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == old || fresh.AccessToken == "" {
				t.Fatalf("refresh: %v %+v", err, fresh)
			}

			// Introspection sees it active.
			code, body, _ := postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {fresh.AccessToken}}, c.ID, secret)
			if code != 200 || body["active"] != true || body["client_id"] != c.ID || body["sub"] != cl.Sub {
				t.Fatalf("introspection: %d %v", code, body)
			}

			// Revoking the refresh token ends the grant, its access tokens included.
			code, _, _ = postForm(t, r.srv.URL+"/oauth/revoke", url.Values{"token": {fresh.RefreshToken}, "token_type_hint": {"refresh_token"}}, c.ID, secret)
			if code != 200 {
				t.Fatalf("revoke: %d", code)
			}
			code, body, _ = postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {fresh.AccessToken}}, c.ID, secret)
			if code != 200 || body["active"] != false || len(body) != 1 {
				t.Fatalf("introspection after revocation: %d %v", code, body)
			}
			if _, err := app.provider.UserInfo(app.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
				t.Fatal("userinfo still answers after revocation")
			}
			if _, err := app.conf.TokenSource(app.ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
				t.Fatal("a revoked refresh token still works")
			}

			// End-session with the ID token: the browser session ends and the app gets its state back.
			raw, _ := tok.Extra("id_token").(string)
			resp, _ := b.get(r.srv.URL + "/oauth/end_session?" + url.Values{"id_token_hint": {raw},
				"post_logout_redirect_uri": {"http://127.0.0.1:9/signed-out"}, "state": {"bye"}}.Encode())
			out := left(resp)
			if out == nil || out.Path != "/signed-out" || out.Query().Get("state") != "bye" {
				t.Fatalf("end session: %d %v", resp.StatusCode, out)
			}
			silent := app.start(oauth2.SetAuthURLParam("prompt", "none"))
			resp, _ = b.get(silent.url)
			if back := left(resp); back == nil || back.Query().Get("error") != "login_required" {
				t.Fatalf("prompt=none after end-session: %d %v", resp.StatusCode, back)
			}
		}

		// client_credentials: the client acts as itself.
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: app.provider.Endpoint().TokenURL, Scopes: []string{"profile"}}
		ctok, err := cc.Token(app.ctx)
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		// Token answers are never cached (API.md Conventions).
		code, _, h := postForm(t, r.srv.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, secret)
		if code != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("client_credentials answer: %d Cache-Control %q", code, h.Get("Cache-Control"))
		}
		code, body, _ := postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {ctok.AccessToken}}, c.ID, secret)
		if code != 200 || body["active"] != true || body["sub"] != c.ID || body["client_id"] != c.ID {
			t.Fatalf("introspection of a client token: %d %v", code, body)
		}
		if ctok.RefreshToken != "" {
			t.Fatal("client_credentials must not issue a refresh token")
		}
	})
}

// TestPublicClientWithLoopbackRedirect: a native app (no secret) registered with a
// loopback URI signs in on any port, with PKCE.
func TestPublicClientWithLoopbackRedirect(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		r := newRig(t, dbURL(t))
		c, _ := r.client(store.Client{AuthMethod: "none", RedirectURIs: []string{"http://127.0.0.1/native"}, FirstParty: true})
		app := r.relyingParty(c, "")
		app.conf.RedirectURL = "http://127.0.0.1:53127/native"
		email := r.user("native")
		a := app.start()
		cb := r.browser().signIn(a.url, email, "")
		if cb.Port() != "53127" {
			t.Fatalf("came back to %s", cb)
		}
		tok, _ := app.exchange(t, a, cb)
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		// Another loopback host on the same path is not the registered one.
		for _, other := range []string{"http://localhost:53127/native", "http://[::1]:53127/native"} {
			app.conf.RedirectURL = other
			resp, page := r.browser().get(app.start().url)
			if left(resp) != nil || resp.StatusCode != 400 || !strings.Contains(page, "redirect_uri") {
				t.Fatalf("%s for a 127.0.0.1 registration: %d %v", other, resp.StatusCode, left(resp))
			}
		}
	})
}

var _ = gooidc.ScopeOpenID
