package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// TestProviderRefuses covers what the library would allow and Gatehouse must not
// (API.md "OAuth 2.0 / OpenID Connect", SECURITY.md, RFC 9700).
func TestProviderRefuses(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		clock := testserver.NewClock()
		r := newRig(t, dbURL(t), testserver.WithApp(app.WithClock(clock.Now)))
		c, secret := r.client(store.Client{PostLogoutRedirectURIs: []string{"http://127.0.0.1:9/bye"}})
		rp := r.relyingParty(c, secret)
		pub, _ := r.client(store.Client{AuthMethod: "none"})
		prp := r.relyingParty(pub, "")
		email := r.user("neg")
		b := r.browser()
		first := rp.start()
		rp.exchange(t, first, b.signIn(first.url, email, "")) // b now has a session

		backWith := func(t *testing.T, u, wantErr string) {
			t.Helper()
			resp, _ := b.get(u)
			back := left(resp)
			if back == nil || back.Query().Get("error") != wantErr || back.Query().Get("code") != "" || back.Query().Get("iss") != r.srv.URL {
				t.Fatalf("want error=%s back at the app, got %d %v", wantErr, resp.StatusCode, back)
			}
		}
		page := func(t *testing.T, u string) string {
			t.Helper()
			resp, body := b.get(u)
			if left(resp) != nil || resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("want an error page, got %d %v", resp.StatusCode, left(resp))
			}
			return body
		}
		exchangeErr := func(t *testing.T, p *relyingParty, code string, opts ...oauth2.AuthCodeOption) string {
			t.Helper()
			_, err := p.conf.Exchange(p.ctx, code, opts...)
			if err == nil {
				t.Fatal("the exchange succeeded")
			}
			var re *oauth2.RetrieveError
			if !asRetrieve(err, &re) {
				t.Fatalf("not an OAuth error: %v", err)
			}
			if re.Response.StatusCode >= 500 {
				t.Fatalf("status %d", re.Response.StatusCode)
			}
			return re.ErrorCode
		}

		t.Run("unknown client_id is an error page", func(t *testing.T) {
			a := rp.start()
			page(t, withParams(a.url, "client_id", "no-such-client"))
		})
		t.Run("response_type=token is refused", func(t *testing.T) {
			a := rp.start()
			for _, rt := range []string{"token", "id_token", "code id_token", "code token", "none"} {
				if body := page(t, withParams(a.url, "response_type", rt)); !strings.Contains(body, "unsupported_response_type") {
					t.Fatalf("response_type=%s: %s", rt, body)
				}
			}
		})
		t.Run("PKCE plain is refused", func(t *testing.T) {
			a := rp.start()
			backWith(t, withParams(a.url, "code_challenge", a.verifier, "code_challenge_method", "plain"), "invalid_request")
		})
		t.Run("PKCE without a method is refused (it would mean plain)", func(t *testing.T) {
			a := rp.start()
			backWith(t, withParams(a.url, "code_challenge_method", ""), "invalid_request")
		})
		t.Run("public client without PKCE gets no code", func(t *testing.T) {
			a := prp.start()
			backWith(t, withParams(a.url, "code_challenge", "", "code_challenge_method", ""), "invalid_request")
		})
		t.Run("missing verifier", func(t *testing.T) {
			a := rp.start()
			cb := b.signIn(a.url, email, "")
			if got := exchangeErr(t, rp, cb.Query().Get("code")); got != "invalid_grant" {
				t.Fatalf("error = %s", got)
			}
		})
		t.Run("wrong verifier", func(t *testing.T) {
			a := rp.start()
			cb := b.signIn(a.url, email, "")
			if got := exchangeErr(t, rp, cb.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); got != "invalid_grant" {
				t.Fatalf("error = %s", got)
			}
		})
		t.Run("verifier without a challenge is a downgrade", func(t *testing.T) {
			a := rp.start()
			a.url = withParams(a.url, "code_challenge", "", "code_challenge_method", "")
			cb := b.signIn(a.url, email, "")
			if got := exchangeErr(t, rp, cb.Query().Get("code"), oauth2.VerifierOption(a.verifier)); got != "invalid_grant" {
				t.Fatalf("error = %s", got)
			}
		})
		t.Run("expired code", func(t *testing.T) {
			a := rp.start()
			cb := b.signIn(a.url, email, "")
			clock.Advance(61 * time.Second)
			if got := exchangeErr(t, rp, cb.Query().Get("code"), oauth2.VerifierOption(a.verifier)); got != "invalid_grant" {
				t.Fatalf("error = %s", got)
			}
		})
		t.Run("code of another client", func(t *testing.T) {
			other, osecret := r.client(store.Client{})
			orp := r.relyingParty(other, osecret)
			a := rp.start()
			cb := b.signIn(a.url, email, "")
			if got := exchangeErr(t, orp, cb.Query().Get("code"), oauth2.VerifierOption(a.verifier)); got != "invalid_grant" {
				t.Fatalf("error = %s", got)
			}
		})
		t.Run("code sent with another redirect_uri", func(t *testing.T) {
			other, osecret := r.client(store.Client{RedirectURIs: []string{"http://127.0.0.1:9/callback", "http://127.0.0.1:9/other"}})
			orp := r.relyingParty(other, osecret)
			a := orp.start()
			cb := b.signIn(a.url, email, "")
			orp.conf.RedirectURL = "http://127.0.0.1:9/other" // registered, but not the request's
			if got := exchangeErr(t, orp, cb.Query().Get("code"), oauth2.VerifierOption(a.verifier)); got != "invalid_grant" {
				t.Fatalf("error = %s", got)
			}
		})
		t.Run("wrong client secret", func(t *testing.T) {
			a := rp.start()
			cb := b.signIn(a.url, email, "")
			bad := *rp
			bad.conf.ClientSecret = "not-the-secret"
			if got := exchangeErr(t, &bad, cb.Query().Get("code"), oauth2.VerifierOption(a.verifier)); got != "invalid_client" {
				t.Fatalf("error = %s", got)
			}
			code, body, h := postForm(t, r.srv.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, "wrong")
			if h.Get("Cache-Control") != "no-store" {
				t.Fatalf("token endpoint Cache-Control = %q", h.Get("Cache-Control"))
			}
			if code != 401 || body["error"] != "invalid_client" {
				t.Fatalf("client_credentials with a wrong secret: %d %v", code, body)
			}
		})
		t.Run("introspection by another client or without authentication", func(t *testing.T) {
			a := rp.start()
			tok, _ := rp.exchange(t, a, b.signIn(a.url, email, ""))
			other, osecret := r.client(store.Client{})
			code, body, _ := postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, other.ID, osecret)
			if code != 200 || body["active"] != false || len(body) != 1 {
				t.Fatalf("another client's introspection: %d %v", code, body)
			}
			code, body, _ = postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, c.ID, "wrong")
			if code != 401 || body["error"] != "invalid_client" {
				t.Fatalf("introspection with a wrong secret: %d %v", code, body)
			}
			code, _, _ = postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, "", "")
			if code != 401 && code != 400 {
				t.Fatalf("unauthenticated introspection: %d", code)
			}
			// An ID token is not an access token.
			code, body, _ = postForm(t, r.srv.URL+"/oauth/introspect", url.Values{"token": {tok.Extra("id_token").(string)}}, c.ID, secret)
			if code != 200 || body["active"] != false {
				t.Fatalf("ID token introspected as active: %v", body)
			}
			req, _ := http.NewRequest("GET", r.srv.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok.Extra("id_token").(string))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Fatalf("ID token at userinfo: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
		t.Run("revocation: unknown tokens are fine, another client's are refused", func(t *testing.T) {
			code, _, _ := postForm(t, r.srv.URL+"/oauth/revoke", url.Values{"token": {"nonsense"}}, c.ID, secret)
			if code != 200 {
				t.Fatalf("unknown token: %d", code)
			}
			a := rp.start()
			tok, _ := rp.exchange(t, a, b.signIn(a.url, email, ""))
			other, osecret := r.client(store.Client{})
			code, _, _ = postForm(t, r.srv.URL+"/oauth/revoke", url.Values{"token": {tok.RefreshToken}}, other.ID, osecret)
			if code == 200 {
				t.Fatal("another client revoked the token")
			}
			if _, err := rp.conf.TokenSource(rp.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err != nil {
				t.Fatalf("the token was revoked by another client: %v", err)
			}
		})
		t.Run("end-session never redirects to an unregistered URI", func(t *testing.T) {
			a := rp.start()
			tok, _ := rp.exchange(t, a, b.signIn(a.url, email, ""))
			raw := tok.Extra("id_token").(string)
			for _, q := range []url.Values{
				{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://attacker.example/"}},
				{"client_id": {c.ID}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye/../evil"}},
				{"post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}},
				{"client_id": {"no-such-client"}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}},
				{"id_token_hint": {"not-a-jwt"}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}},
			} {
				page(t, r.srv.URL+"/oauth/end_session?"+q.Encode())
			}
			// No hint: the sign-out page asks first.
			resp, _ := noRedirect.Get(r.srv.URL + "/oauth/end_session")
			if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), r.srv.URL+"/logout") {
				t.Fatalf("end-session without a hint: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp.Body.Close()
		})
		t.Run("a storage failure is an OAuth error, not a 500", func(t *testing.T) {
			// Its own server, whose database goes away.
			r2 := newRig(t, dbURLFor(t, dbURL))
			c2, s2 := r2.client(store.Client{GrantTypes: []string{"client_credentials"}})
			r2.srv.App.Store().Close()
			code, body, h := postForm(t, r2.srv.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c2.ID+"-uncached", s2)
			if code != 503 || body["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" {
				t.Fatalf("token endpoint with the database gone: %d %v", code, body)
			}
			resp, err := noRedirect.Get(r2.srv.URL + "/oauth/end_session?client_id=" + c2.ID + "-x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 503 {
				t.Fatalf("end-session with the database gone: %d", resp.StatusCode)
			}
		})
	})
}

func dbURLFor(t *testing.T, f func(testing.TB) string) string { return f(t) }

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	e, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = e
	}
	return ok
}
