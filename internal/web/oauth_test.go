package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// appURI is the test app's redirect URI: nothing listens there, the tests read the
// redirect.
const appURI = "http://127.0.0.1:9/cb"

// authorize starts an app's authorization request and returns the hosted page it sends
// the browser to (not followed).
func (b *browser) authorize(clientID string, extra ...string) string {
	b.t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {appURI}, "scope": {"openid email"}, "state": {"s1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	p := b.getNoFollow("/authorize?" + q.Encode())
	loc := p.Header.Get("Location")
	if p.Status != 302 || loc == "" {
		b.t.Fatalf("/authorize: %d %q\n%s", p.Status, loc, p.Body)
	}
	if u, err := url.Parse(loc); err == nil && u.IsAbs() {
		return u.RequestURI()
	}
	return loc
}

// toApp checks that a response sends the browser back to the app with a code.
func toApp(t *testing.T, p *page, iss string) url.Values {
	t.Helper()
	loc := p.Header.Get("Location")
	if p.Status != 302 || !strings.HasPrefix(loc, appURI+"?") {
		t.Fatalf("expected a redirect to the app, got %d %q\n%s", p.Status, loc, p.Body)
	}
	u, _ := url.Parse(loc)
	if q := u.Query(); q.Get("state") != "s1" || q.Get("iss") != iss {
		t.Fatalf("authorization response %q", loc)
	}
	return u.Query()
}

func TestAppSignInWithConsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		e := newEnv(t, dbURL(t))
		iss := e.srv.Config.Issuer
		c := &store.Client{ID: "consent-app", Name: "Consent <App>", RedirectURIs: []string{appURI}, GrantTypes: []string{"authorization_code"},
			AuthMethod: "client_secret_basic", SecretHash: strings.Repeat("0", 64), Scopes: []string{"openid", "email"},
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := e.srv.App.Store().CreateClient(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		b := e.browser(t)
		email := uniqueEmail("app")
		e.register(t, b, email, "")

		// Not signed in: the sign-in form, naming the app, with a form-action that lets the
		// post's redirect reach it.
		loginPath := b.authorize(c.ID)
		if !strings.HasPrefix(loginPath, "/login?auth_request=") {
			t.Fatalf("/authorize sent the browser to %q", loginPath)
		}
		form := b.get(loginPath)
		mustContain(t, form, "Consent &lt;App&gt;", `name="auth_request"`)
		if csp := form.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9") {
			t.Fatalf("CSP of the sign-in for an app: %q", csp)
		}
		id := between(form.Body, `name="auth_request" value="`, `"`)
		p := b.submit(form, "/login", vals("email", email, "password", goodPassword, "auth_request", id))
		if p.URL.Path != "/consent" {
			t.Fatalf("sign-in for a third-party app ended on %s", p.URL)
		}
		mustContain(t, p, "Consent &lt;App&gt;", "See your email address", `value="approve"`, `value="deny"`)
		tok := csrfOf(t, p)
		toApp(t, b.postRaw("/consent", vals("csrf_token", tok, "auth_request", id, "decision", "approve"), false), iss)

		// The same request again: answered, so expired.
		if p := b.get("/consent?auth_request=" + id); p.Status != 400 || !strings.Contains(errorText(p), "expired") {
			t.Fatalf("an answered request: %d %q", p.Status, errorText(p))
		}
		// Signed in and consented before: straight back to the app.
		toApp(t, b.getNoFollow(b.authorize(c.ID)), iss)
		// prompt=login asks for the password again.
		if p := b.getNoFollow(b.authorize(c.ID, "prompt", "login")); p.Status != 200 || !strings.Contains(p.Body, `name="password"`) {
			t.Fatalf("prompt=login: %d", p.Status)
		}
		// prompt=consent, then deny: access_denied at the app.
		p = b.get(b.authorize(c.ID, "prompt", "consent"))
		id = between(p.Body, `name="auth_request" value="`, `"`)
		if q := toApp(t, b.postRaw("/consent", vals("csrf_token", tok, "auth_request", id, "decision", "deny"), false), iss); q.Get("error") != "access_denied" {
			t.Fatalf("deny answered %v", q)
		}
		// The account page lists the app, and revoking it asks for consent again.
		acct := b.get("/account")
		mustContain(t, acct, "Apps you allowed", "Consent &lt;App&gt;")
		b.submit(acct, "/account/apps/revoke", vals("client_id", c.ID))
		if p := b.get(b.authorize(c.ID)); p.URL.Path != "/consent" {
			t.Fatalf("after revoking, the app's sign-in ended on %s", p.URL)
		}
		// An unknown request id: a page saying so, no redirect anywhere.
		if p := b.get("/login?auth_request=nope"); p.Status != 400 || !strings.Contains(errorText(p), "go back to the app") && !strings.Contains(errorText(p), "Go back to the app") {
			t.Fatalf("unknown request: %d %q", p.Status, errorText(p))
		}
	})
}
