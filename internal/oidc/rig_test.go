package oidc_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// rp is the redirect URI of the test's relying party. Nothing listens there: the browser
// stops at the redirect and the test reads the authorization response from it.
const rp = "http://127.0.0.1:9/callback"

const goodPassword = "correct horse battery staple"

var seq atomic.Int64

func uniqueEmail(prefix string) string { return fmt.Sprintf("%s-%d@example.com", prefix, seq.Add(1)) }

// eachBackend runs fn on SQLite and on PostgreSQL (when configured), side by side.
func eachBackend(t *testing.T, fn func(t *testing.T, dbURL func(testing.TB) string)) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.URL)
		})
	}
}

// rig is a running Gatehouse with an API client.
type rig struct {
	t   *testing.T
	srv *testserver.Server
	api *apitest.Client
}

func newRig(t *testing.T, dbURL string, opts ...testserver.Option) *rig {
	t.Helper()
	srv := testserver.Start(t, dbURL, opts...)
	return &rig{t: t, srv: srv, api: apitest.New(t, srv.URL)}
}

// client registers a client directly in the store and returns its secret ("" for public).
func (r *rig) client(c store.Client) (*store.Client, string) {
	r.t.Helper()
	if c.ID == "" {
		c.ID = fmt.Sprintf("client-%d", seq.Add(1))
	}
	if c.Name == "" {
		c.Name = "Test App"
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{rp}
	}
	if c.GrantTypes == nil {
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if c.AuthMethod == "" {
		c.AuthMethod = "client_secret_basic"
	}
	if c.Scopes == nil {
		c.Scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	var secret string
	if c.AuthMethod != "none" {
		secret, c.SecretHash = token.NewOpaque()
	}
	c.CreatedAt, c.UpdatedAt = time.Now(), time.Now()
	if err := r.srv.App.Store().CreateClient(context.Background(), &c); err != nil {
		r.t.Fatalf("create client: %v", err)
	}
	return &c, secret
}

// user registers an account and returns its email.
func (r *rig) user(name string) string {
	r.t.Helper()
	email := uniqueEmail(name)
	resp := r.api.Do(r.t, "POST", "/v1/auth/register", map[string]any{"email": email, "password": goodPassword, "name": "Ada " + name}, "")
	if resp.Status != 201 {
		r.t.Fatalf("register: %d %s", resp.Status, resp.Raw)
	}
	return email
}

// apiLogin signs in through the JSON API and returns the access token.
func (r *rig) apiLogin(email string) string {
	r.t.Helper()
	resp := r.api.Do(r.t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": goodPassword}, "")
	if resp.Status != 200 || resp.Str("access_token") == "" {
		r.t.Fatalf("login: %d %s", resp.Status, resp.Raw)
	}
	return resp.Str("access_token")
}

// enrollTOTP gives the account a TOTP factor and returns its secret.
func (r *rig) enrollTOTP(email string) string {
	r.t.Helper()
	tok := r.apiLogin(email)
	resp := r.api.Do(r.t, "POST", "/v1/me/mfa/totp", map[string]any{"current_password": goodPassword}, tok)
	if resp.Status != 200 {
		r.t.Fatalf("totp enroll: %d %s", resp.Status, resp.Raw)
	}
	secret := resp.Str("secret")
	code, _ := totp.GenerateCode(secret, time.Now())
	if resp := r.api.Do(r.t, "POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code}, tok); resp.Status != 200 {
		r.t.Fatalf("totp confirm: %d %s", resp.Status, resp.Raw)
	}
	return secret
}

// relyingParty is an application using golang.org/x/oauth2 and coreos/go-oidc, as any Go
// app would: everything it knows comes from discovery.
type relyingParty struct {
	conf     oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	ctx      context.Context
}

func (r *rig) relyingParty(c *store.Client, secret string, scopes ...string) *relyingParty {
	r.t.Helper()
	ctx := gooidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	p, err := gooidc.NewProvider(ctx, r.srv.URL)
	if err != nil {
		r.t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}
	}
	return &relyingParty{ctx: ctx, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: c.ID}),
		conf: oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: c.RedirectURIs[0], Scopes: scopes}}
}

// authRequest is one run of the code flow from the app's side.
type authRequest struct {
	state, nonce, verifier string
	url                    string
}

func (p *relyingParty) start(opts ...oauth2.AuthCodeOption) *authRequest {
	a := &authRequest{state: oauth2.GenerateVerifier()[:16], nonce: oauth2.GenerateVerifier()[:16], verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), gooidc.Nonce(a.nonce)}, opts...)
	a.url = p.conf.AuthCodeURL(a.state, opts...)
	return a
}

// exchange swaps the code for tokens and verifies the ID token as the app would.
func (p *relyingParty) exchange(t *testing.T, a *authRequest, cb *url.URL) (*oauth2.Token, *gooidc.IDToken) {
	t.Helper()
	q := cb.Query()
	if q.Get("state") != a.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), a.state)
	}
	tok, err := p.conf.Exchange(p.ctx, q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.verifier.Verify(p.ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	if idt.Nonce != a.nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, a.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return tok, idt
}

// browser is a person with a cookie jar who posts the hosted pages' forms.
type browser struct {
	t      *testing.T
	c      *http.Client
	issuer *url.URL
	last   string // the last page's HTML
}

func (r *rig) browser() *browser {
	jar, _ := cookiejar.New(nil)
	iss, _ := url.Parse(r.srv.URL)
	tr := &http.Transport{TLSClientConfig: &tls.Config{}}
	r.t.Cleanup(tr.CloseIdleConnections)
	b := &browser{t: r.t, issuer: iss}
	b.c = &http.Client{Jar: jar, Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != iss.Host {
				return http.ErrUseLastResponse // leaving Gatehouse: the app's redirect URI
			}
			return nil
		}}
	return b
}

// do sends a request and returns the response with its body read.
func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = string(body)
	return resp, b.last
}

func (b *browser) get(u string) (*http.Response, string) {
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

// left reports where the browser was sent outside Gatehouse, or nil.
func left(resp *http.Response) *url.URL {
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil
	}
	u, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil
	}
	return u
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	fieldRe = regexp.MustCompile(`(?is)<(input|button|select|textarea)\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z_-]+)\s*=\s*"([^"]*)"`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// submit fills the page's POST form that has a field named key with values (plus its
// hidden fields, CSRF token included) and posts it.
func (b *browser) submit(page *http.Response, key string, values map[string]string) (*http.Response, string) {
	b.t.Helper()
	for _, f := range formRe.FindAllStringSubmatch(b.last, -1) {
		fa := attrs(f[1])
		if !strings.EqualFold(fa["method"], "post") {
			continue
		}
		form := url.Values{}
		has := false
		for _, in := range fieldRe.FindAllStringSubmatch(f[2], -1) {
			a := attrs(in[2])
			if a["name"] == key {
				has = true
			}
			if strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
				form.Set(a["name"], a["value"])
			}
		}
		if !has {
			continue
		}
		for k, v := range values {
			form.Set(k, v)
		}
		action, _ := page.Request.URL.Parse(fa["action"])
		req, _ := http.NewRequest("POST", action.String(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.issuer.Scheme+"://"+b.issuer.Host)
		return b.do(req)
	}
	b.t.Fatalf("no form with field %q on %s:\n%s", key, page.Request.URL, b.last)
	return nil, ""
}

// signIn follows the app's authorization URL through the hosted pages: password, the
// TOTP step when totpSecret is set, consent when asked. It returns where the browser
// was sent back to the app.
func (b *browser) signIn(authURL, email, totpSecret string) *url.URL {
	b.t.Helper()
	resp, _ := b.get(authURL)
	for range 6 {
		if u := left(resp); u != nil {
			return u
		}
		switch {
		case strings.Contains(b.last, `name="password"`) && strings.Contains(resp.Request.URL.Path, "/login"):
			resp, _ = b.submit(resp, "password", map[string]string{"email": email, "password": goodPassword})
		case strings.Contains(b.last, `name="code"`):
			code, _ := totp.GenerateCode(totpSecret, time.Now().Add(30*time.Second))
			resp, _ = b.submit(resp, "code", map[string]string{"method": "totp", "code": code})
		case strings.Contains(b.last, `name="decision"`):
			resp, _ = b.submit(resp, "decision", map[string]string{"decision": "approve"})
		default:
			b.t.Fatalf("stuck at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, b.last)
		}
	}
	b.t.Fatalf("the flow did not come back to the app")
	return nil
}

// postForm sends a form to Gatehouse with optional basic auth and decodes the JSON answer.
func postForm(t *testing.T, u string, form url.Values, user, pass string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body, resp.Header
}

// noRedirect is an HTTP client that shows redirects instead of following them.
var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// withParams returns the URL with the given query parameters set (an empty value deletes one).
func withParams(raw string, kv ...string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
