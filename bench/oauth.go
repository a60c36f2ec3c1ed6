package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// oauthScenarios need a registered OAuth client (see registerApp).
var oauthScenarios = []string{"client_credentials", "introspect", "userinfo", "codeflow"}

// benchRedirectURI is the bench client's redirect URI. Nothing listens there: the flow
// stops at the redirect and reads the authorization response from its Location.
const benchRedirectURI = "http://127.0.0.1:9/callback"

// oauthApp is the confidential, first-party client the OAuth scenarios use, and what
// discovery says about the provider.
type oauthApp struct {
	id, secret, redirect string
	how                  string // how it was registered: "CLI", "store" or "flags"
	issuer               string // discovery's issuer: the Origin of the login form's POST
	alg                  string // the signing algorithm (id_token_signing_alg_values_supported)
}

// app is set by run before the first OAuth scenario.
var app *oauthApp

// needsApp reports whether any chosen scenario needs the OAuth client.
func needsApp(names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(oauthScenarios, n) })
}

// prepareApp registers the bench's client (or takes -client-id/-client-secret with
// -target) and reads discovery.
func prepareApp(ctx context.Context, srv *server, o options) (*oauthApp, error) {
	a := &oauthApp{id: o.clientID, secret: o.clientSecret, redirect: o.redirectURI, how: "flags"}
	if srv.bin != "" {
		var err error
		if a, err = registerApp(ctx, srv); err != nil {
			return nil, err
		}
	}
	var d struct {
		Issuer string   `json:"issuer"`
		Algs   []string `json:"id_token_signing_alg_values_supported"`
	}
	c := newClient(srv.base, 1)
	defer c.close()
	st, body, err := c.get(ctx, "/.well-known/openid-configuration", "")
	if err := expect("discovery", 200, st, body, err); err != nil {
		return nil, err
	}
	if err := decode(body, &d); err != nil {
		return nil, err
	}
	if d.Issuer == "" || len(d.Algs) == 0 {
		return nil, fmt.Errorf("discovery: %w: no issuer or signing algorithm: %s", errBadResponse, snippet(body))
	}
	a.issuer, a.alg = d.Issuer, d.Algs[0]
	return a, nil
}

// registerApp registers the client as an administrator would: with
// `gatehouse clients create` when the built binary has that command, otherwise by
// inserting it into the started server's database through the store (the same SQL the
// server runs), as the provider's tests do.
func registerApp(ctx context.Context, srv *server) (*oauthApp, error) {
	// A binary without the command answers --help with the root's help (and exit 0), so
	// the command counts as there only when its own usage line is shown.
	help := exec.CommandContext(ctx, srv.bin, "clients", "create", "--help")
	help.Env, help.Dir = srv.env, srv.dir
	if out, err := help.Output(); err == nil && strings.Contains(string(out), "clients create") {
		a, err := registerWithCLI(ctx, srv)
		if err == nil {
			return a, nil
		}
		fmt.Fprintf(os.Stderr, "bench: `gatehouse clients create` failed (%v); inserting the client into the database instead\n", err)
	}
	return registerInStore(ctx, srv)
}

// registerWithCLI runs `gatehouse clients create` on the server's database (with the
// server's environment) and reads the client id and secret from the JSON it prints.
func registerWithCLI(ctx context.Context, srv *server) (*oauthApp, error) {
	args := []string{"clients", "create", "--name", "Gatehouse bench " + runID, "--redirect-uri", benchRedirectURI,
		"--grant-type", "authorization_code", "--grant-type", "refresh_token", "--grant-type", "client_credentials",
		"--auth-method", "client_secret_basic", "--scope", "openid", "--scope", "profile", "--scope", "email",
		"--scope", "offline_access", "--first-party"}
	cmd := exec.CommandContext(ctx, srv.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = srv.env, srv.dir, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, snippet(stderr.Bytes()))
	}
	var out struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.ID == "" || out.Secret == "" {
		return nil, fmt.Errorf("no client_id and client_secret in its output: %s", snippet(stdout.Bytes()))
	}
	return &oauthApp{id: out.ID, secret: out.Secret, redirect: benchRedirectURI, how: "CLI"}, nil
}

// registerInStore inserts the client into the server's database through the store.
func registerInStore(ctx context.Context, srv *server) (*oauthApp, error) {
	db, err := sqlstore.Open(ctx, srv.db, sqlstore.Options{MaxConns: 1})
	if err != nil {
		return nil, fmt.Errorf("open the server's database to register the client: %w", err)
	}
	defer db.Close()
	secret, hash := token.NewOpaque()
	now := time.Now()
	c := &store.Client{ID: "bench-" + runID, Name: "Gatehouse bench", SecretHash: hash, RedirectURIs: []string{benchRedirectURI},
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"}, AuthMethod: "client_secret_basic",
		Scopes: []string{"openid", "profile", "email", "offline_access"}, FirstParty: true, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateClient(ctx, c); err != nil {
		return nil, fmt.Errorf("register the client: %w", err)
	}
	return &oauthApp{id: c.ID, secret: secret, redirect: benchRedirectURI, how: "store"}, nil
}

// stepError is a step of a multi-request scenario that got an unexpected status.
type stepError struct {
	step   string
	status int
	body   []byte
}

func (e *stepError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.step, e.status, snippet(e.body))
}

// clientCredentials asks for a client token: one signed JWT per answer.
func clientCredentials(ctx context.Context, c *client, _ *worker) (int, []byte, error) {
	st, body, err := c.postForm(ctx, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, app.id, app.secret)
	if err == nil && st == 200 && !bytes.Contains(body, []byte(`"access_token"`)) {
		err = fmt.Errorf("%w: no access_token: %s", errBadResponse, snippet(body))
	}
	return st, body, err
}

// introspect asks about the worker's grant token as the client it was issued to.
func introspect(ctx context.Context, c *client, w *worker) (int, []byte, error) {
	st, body, err := c.postForm(ctx, "/oauth/introspect", url.Values{"token": {w.access}}, app.id, app.secret)
	if err == nil && st == 200 && !bytes.Contains(body, []byte(`"active":true`)) {
		err = fmt.Errorf("%w: not active: %s", errBadResponse, snippet(body))
	}
	return st, body, err
}

// userinfo reads the worker's claims with its grant token.
func userinfo(ctx context.Context, c *client, w *worker) (int, []byte, error) {
	st, body, err := c.get(ctx, "/userinfo", w.access)
	if err == nil && st == 200 && !bytes.Contains(body, []byte(`"sub"`)) {
		err = fmt.Errorf("%w: no sub: %s", errBadResponse, snippet(body))
	}
	return st, body, err
}

// setupGrant registers w's account and signs it in to the client through the code flow,
// keeping the grant's access token.
func setupGrant(ctx context.Context, c *client, w *worker) error {
	if err := setupAccount(ctx, c, w); err != nil {
		return err
	}
	return regrant(ctx, c, w)
}

// regrant runs the code flow again for w's account and keeps the new access token.
func regrant(ctx context.Context, c *client, w *worker) error {
	st, body, err := codeFlow(ctx, c, w)
	if err := expect("code flow", 200, st, body, err); err != nil {
		return err
	}
	var t struct {
		Access string `json:"access_token"`
	}
	if err := decode(body, &t); err != nil {
		return err
	}
	w.access = t.Access
	return nil
}

var (
	hiddenRe = regexp.MustCompile(`(?is)<input\b[^>]*\btype="hidden"[^>]*>`)
	nameRe   = regexp.MustCompile(`(?is)\bname="([^"]*)"`)
	valueRe  = regexp.MustCompile(`(?is)\bvalue="([^"]*)"`)
	formRe   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	actionRe = regexp.MustCompile(`(?is)\baction="([^"]*)"`)
)

// loginForm finds the sign-in form (the POST form with a password field) and returns its
// action and hidden fields (csrf_token, auth_request).
func loginForm(page []byte) (string, url.Values, bool) {
	for _, f := range formRe.FindAllSubmatch(page, -1) {
		if !bytes.Contains(f[2], []byte(`name="password"`)) {
			continue
		}
		action := "/login"
		if m := actionRe.FindSubmatch(f[1]); m != nil {
			action = html.UnescapeString(string(m[1]))
		}
		v := url.Values{}
		for _, in := range hiddenRe.FindAll(f[2], -1) {
			n, val := nameRe.FindSubmatch(in), valueRe.FindSubmatch(in)
			if n != nil {
				s := ""
				if val != nil {
					s = html.UnescapeString(string(val[1]))
				}
				v.Set(html.UnescapeString(string(n[1])), s)
			}
		}
		return action, v, true
	}
	return "", nil, false
}

// browser is one sign-in's cookies: each flow starts without any, like a new browser,
// so every flow signs in with the password.
type browser struct {
	c       *client
	cookies map[string]string
}

// do sends a request without following redirects and keeps the cookies it sets.
func (b *browser) do(ctx context.Context, method, u string, form url.Values, origin string) (int, http.Header, []byte, error) {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	st, hdr, respBody, err := b.c.sendRaw(req)
	if err != nil {
		return 0, nil, nil, err
	}
	for _, ck := range (&http.Response{Header: hdr}).Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(b.cookies, ck.Name)
		} else {
			b.cookies[ck.Name] = ck.Value
		}
	}
	return st, hdr, respBody, nil
}

// codeFlow signs w in to the bench client as a browser without JavaScript would and
// exchanges the code: GET /authorize (PKCE S256, state, nonce) → 302 to the login page,
// GET /login, POST /login with the form's hidden fields → 302 to the redirect URI with
// code, state and iss (a first-party client: no consent page), POST /oauth/token with
// the client's secret → 200 with the tokens. It returns the token endpoint's answer; an
// earlier step that fails is a *stepError.
func codeFlow(ctx context.Context, c *client, w *worker) (int, []byte, error) {
	verifier := randHex(32) // 64 characters of the unreserved set (RFC 7636 §4.1)
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := randHex(8), randHex(8)
	q := url.Values{"client_id": {app.id}, "redirect_uri": {app.redirect}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {state}, "nonce": {nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	b := &browser{c: c, cookies: map[string]string{}}
	base, err := url.Parse(c.base)
	if err != nil {
		return 0, nil, err
	}

	st, hdr, body, err := b.do(ctx, http.MethodGet, c.base+"/authorize?"+q.Encode(), nil, "")
	if err != nil {
		return 0, nil, err
	}
	if st != http.StatusFound {
		return 0, nil, &stepError{"authorize", st, body}
	}
	page, err := base.Parse(hdr.Get("Location"))
	if err != nil || page.Query().Get("auth_request") == "" {
		return 0, nil, fmt.Errorf("%w: authorize sent the browser to %q", errBadResponse, hdr.Get("Location"))
	}

	st, _, body, err = b.do(ctx, http.MethodGet, page.String(), nil, "")
	if err != nil {
		return 0, nil, err
	}
	if st != http.StatusOK {
		return 0, nil, &stepError{"GET login", st, body}
	}
	action, form, ok := loginForm(body)
	if !ok {
		return 0, nil, fmt.Errorf("%w: no sign-in form: %s", errBadResponse, snippet(body))
	}
	post, err := page.Parse(action)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: form action %q", errBadResponse, action)
	}
	form.Set("email", w.email)
	form.Set("password", w.password)

	st, hdr, body, err = b.do(ctx, http.MethodPost, post.String(), form, app.issuer)
	if err != nil {
		return 0, nil, err
	}
	// Follow redirects within Gatehouse until the browser is sent back to the client.
	var back *url.URL
	for hops := 0; ; hops++ {
		if st != http.StatusFound && st != http.StatusSeeOther {
			return 0, nil, &stepError{"POST login", st, body}
		}
		to, err := post.Parse(hdr.Get("Location"))
		if err != nil {
			return 0, nil, fmt.Errorf("%w: redirect to %q", errBadResponse, hdr.Get("Location"))
		}
		if to.Host != base.Host || hops == 4 {
			back = to
			break
		}
		if st, hdr, body, err = b.do(ctx, http.MethodGet, to.String(), nil, ""); err != nil {
			return 0, nil, err
		}
		post = to
	}
	code := back.Query().Get("code")
	if !strings.HasPrefix(back.String(), app.redirect) || code == "" || back.Query().Get("state") != state {
		return 0, nil, fmt.Errorf("%w: authorization response %s", errBadResponse, back)
	}

	st, body, err = c.postForm(ctx, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {app.redirect}, "code_verifier": {verifier}}, app.id, app.secret)
	if err == nil && st == 200 && (!bytes.Contains(body, []byte(`"access_token"`)) || !bytes.Contains(body, []byte(`"id_token"`))) {
		err = fmt.Errorf("%w: no access_token or id_token: %s", errBadResponse, snippet(body))
	}
	return st, body, err
}

// errNoApp: an OAuth scenario against -target without the client's credentials.
var errNoApp = errors.New("the OAuth scenarios need -client-id and -client-secret with -target")
