package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// TestBrowser walks the pages in a real headless Chromium, with JavaScript, the CSP and
// cookies as a person's browser has them: register, verify the email, sign in, turn on
// an authenticator app from the QR code, sign out; then an app sends the browser to sign
// in (password, the TOTP step, consent) and gets it back with a code that the app's back
// end exchanges for tokens (x/oauth2 + go-oidc); add a passkey and sign in with it alone.
// With GATEHOUSE_SCREENSHOTS=1 it also writes docs/img/*.png (go generate ./internal/web).
func TestBrowser(t *testing.T) {
	ctx := chromium(t)
	e := newEnv(t, testdb.SQLiteURL(t), testserver.WithLocalhostIssuer())
	closeBrowserFirst(t, ctx)
	base := e.srv.Config.Issuer // http://localhost:port: a WebAuthn relying party is a domain
	email := uniqueEmail("chrome")

	step(t, ctx, "register",
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base+"/register"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		waitText("Check your email"))
	tok := e.mail.WaitFor(t, email, "Verify").Token()
	step(t, ctx, "verify the email",
		chromedp.Navigate(base+"/verify-email?token="+tok),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		waitText("Email address verified"))

	// The sign-in page: styled by the stylesheet and scripted by passkey.js under the CSP
	// (a blocked file would leave the button hidden and the colours the browser's).
	step(t, ctx, "open the sign-in page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS("#passkey-login")))
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector("button.primary")).backgroundColor`); bg != "rgb(36, 87, 214)" {
		t.Fatalf("the stylesheet did not apply: button background %q", bg)
	}
	noHorizontalScroll(t, ctx, base+"/login", 320)
	noHorizontalScroll(t, ctx, base+"/register", 320)
	for _, page := range []string{"/login", "/register", "/password/forgot"} {
		step(t, ctx, "open "+page, chromedp.Navigate(base+page))
		everyInputLabelled(t, ctx)
	}
	screenshots(t, ctx, base+"/login", "login")

	signIn(t, ctx, base, email)
	step(t, ctx, "start TOTP enrollment",
		chromedp.WaitVisible(chromedp.CSS("#account-email")),
		chromedp.SendKeys(chromedp.CSS("#totp-pw"), goodPassword),
		chromedp.Click(chromedp.CSS("#totp-enroll")),
		chromedp.WaitVisible(chromedp.CSS("#totp-qr")))
	if ok := eval[bool](t, ctx, `(() => { const i = document.getElementById("totp-qr"); const r = i.getBoundingClientRect();
		return i.complete && i.naturalWidth > 0 && r.width > 0 && r.height > 0; })()`); !ok {
		t.Fatal("the QR code image is not visible")
	}
	src := eval[string](t, ctx, `document.getElementById("totp-qr").getAttribute("src")`)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
	if err != nil || !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("QR src %.60q: %v", src, err)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("the QR code is not a PNG of a readable size: %v", err)
	}
	secret := strings.TrimSpace(eval[string](t, ctx, `document.getElementById("totp-secret").textContent`))
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	step(t, ctx, "confirm TOTP",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#backup-codes")))
	if n := eval[int](t, ctx, `document.querySelectorAll("#backup-codes li").length`); n != 10 {
		t.Fatalf("%d backup codes shown, want 10", n)
	}
	step(t, ctx, "the account page", chromedp.Navigate(base+"/account"), waitText("Remove the authenticator app"))
	everyInputLabelled(t, ctx)
	noHorizontalScroll(t, ctx, base+"/account", 320)
	screenshots(t, ctx, base+"/account", "account")

	step(t, ctx, "sign out",
		chromedp.Navigate(base+"/logout"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		waitText("You are signed out"))
	// An app sends the browser to sign in: password, the TOTP step, consent, and back to
	// the app with a code that its back end exchanges for tokens.
	app := newBrowserApp(t, e, base)
	step(t, ctx, "an app sends the browser to sign in",
		chromedp.Navigate(app.start()),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "/login/mfa") {
		t.Fatalf("the second step is at %s", loc)
	}
	everyInputLabelled(t, ctx)
	screenshots(t, ctx, loc, "mfa") // loc keeps the app's auth_request
	// The code of the next time step: the one of this step was used to confirm.
	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	step(t, ctx, "pass the TOTP step",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("form[action='/login/mfa'] button[type=submit]")),
		waitText("Browser Test App"))
	step(t, ctx, "consent, and back to the app",
		chromedp.Click(chromedp.CSS("button[value=approve]")),
		chromedp.WaitVisible(chromedp.CSS("#app")))
	app.finish(t, email)

	step(t, ctx, "signed in at Gatehouse too", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#account-email")))
	passkeys(t, ctx, base)
}

// passkeys adds a passkey from the account page and signs in with it alone, through
// passkey.js and a virtual authenticator (one that verifies its user, as a platform
// passkey does).
func passkeys(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	step(t, ctx, "a virtual authenticator", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
				Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return err
	}))
	step(t, ctx, "add a passkey",
		chromedp.Navigate(base+"/account"),
		chromedp.SendKeys(chromedp.CSS("#pk-name"), "Test key"),
		chromedp.Click(chromedp.CSS("#passkey-add button[type=submit]")),
		waitText("The passkey is added."),
		waitText("Test key"))
	step(t, ctx, "sign out", chromedp.Navigate(base+"/logout"), chromedp.Click(chromedp.CSS("button[type=submit]")),
		waitText("You are signed out"))
	step(t, ctx, "sign in with the passkey alone",
		chromedp.Navigate(base+"/login"),
		chromedp.Click(chromedp.CSS("#passkey-login")),
		chromedp.WaitVisible(chromedp.CSS("#account-email")))
}

// signIn fills the sign-in form and waits for the account page.
func signIn(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	step(t, ctx, "sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), goodPassword),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#account-email")))
}

// browserApp is an application with a back end: golang.org/x/oauth2 and go-oidc, its
// redirect URI served by a test server that records what the browser brought.
type browserApp struct {
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
	ctx      context.Context
	base     string
	state    string
	pkce     string
	nonce    string
	arrived  chan url.Values
}

func newBrowserApp(t *testing.T, e *env, base string) *browserApp {
	t.Helper()
	a := &browserApp{base: base, arrived: make(chan url.Values, 1), state: "st-123", pkce: oauth2.GenerateVerifier(), nonce: "n-456"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case a.arrived <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>app</title><p id="app">back in the app</p>`)
	}))
	t.Cleanup(srv.Close)
	secret, hash := token.NewOpaque()
	c := &store.Client{ID: "browser-app", Name: "Browser Test App", RedirectURIs: []string{srv.URL + "/cb"},
		GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic", SecretHash: hash,
		Scopes: []string{"openid", "email"}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := e.srv.App.Store().CreateClient(context.Background(), c); err != nil {
		t.Fatalf("create client: %v", err)
	}
	a.ctx = gooidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	p, err := gooidc.NewProvider(a.ctx, base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	a.verifier = p.Verifier(&gooidc.Config{ClientID: c.ID})
	a.conf = oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: srv.URL + "/cb",
		Scopes: []string{gooidc.ScopeOpenID, "email"}}
	return a
}

func (a *browserApp) start() string {
	return a.conf.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.pkce), gooidc.Nonce(a.nonce))
}

// finish checks what the browser brought back and exchanges the code for tokens.
func (a *browserApp) finish(t *testing.T, email string) {
	t.Helper()
	var got url.Values
	select {
	case got = <-a.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the browser never reached the app")
	}
	if got.Get("code") == "" || got.Get("state") != a.state || got.Get("iss") != a.base {
		t.Fatalf("the app got %v", got)
	}
	tok, err := a.conf.Exchange(a.ctx, got.Get("code"), oauth2.VerifierOption(a.pkce))
	if err != nil {
		t.Fatalf("the app's code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(a.ctx, raw)
	if err != nil {
		t.Fatalf("the app's ID token: %v", err)
	}
	var claims struct {
		Email string   `json:"email"`
		AMR   []string `json:"amr"`
	}
	_ = idt.Claims(&claims)
	if idt.Nonce != a.nonce || claims.Email != email || !slices.Contains(claims.AMR, "otp") || !slices.Contains(claims.AMR, "mfa") {
		t.Fatalf("the app's ID token says nonce %q, %+v", idt.Nonce, claims)
	}
}

// everyInputLabelled checks that each visible form control of the current page has a
// label a screen reader announces (a <label>, aria-label or aria-labelledby).
func everyInputLabelled(t *testing.T, ctx context.Context) {
	t.Helper()
	missing := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("input, select, textarea"))
		.filter(e => e.type !== "hidden" && e.type !== "submit" && e.type !== "button")
		.filter(e => e.labels.length === 0 && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
		.map(e => e.name || e.id || e.outerHTML)`)
	if len(missing) > 0 {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: form controls without a label: %v", loc, missing)
	}
}

// noHorizontalScroll loads a page at a narrow width and checks that nothing sticks out.
func noHorizontalScroll(t *testing.T, ctx context.Context, pageURL string, width int64) {
	t.Helper()
	step(t, ctx, "narrow viewport", chromedp.EmulateViewport(width, 640), chromedp.Navigate(pageURL))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > int(width) {
		t.Fatalf("%s at %d px is %d px wide: it scrolls sideways", pageURL, width, w)
	}
	step(t, ctx, "viewport back", chromedp.EmulateViewport(1280, 800))
}

// screenshots loads the page at 390 and 1280 px wide and writes docs/img/<name>-390.png
// and -1280.png, when GATEHOUSE_SCREENSHOTS=1 (go generate ./internal/web).
func screenshots(t *testing.T, ctx context.Context, pageURL, name string) {
	t.Helper()
	if os.Getenv("GATEHOUSE_SCREENSHOTS") != "1" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{390, 1280} {
		step(t, ctx, "screenshot viewport", chromedp.EmulateViewport(width, 800), chromedp.Navigate(pageURL))
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		shot, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatalf("screenshot of %s: %v", pageURL, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width))
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step(t, ctx, "viewport back", chromedp.EmulateViewport(1280, 800))
}
