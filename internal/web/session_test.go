package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

func testdbSQLite(t testing.TB) string { return testdb.SQLiteURL(t) }

func TestLogoutEndsTheSession(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	b := e.browser(t)
	e.signedUp(t, b, "logout")
	old := b.cookie("gatehouse_session")
	if old == "" {
		t.Fatal("no session cookie after sign-in")
	}
	if p := b.get("/logout"); !strings.Contains(p.Body, `action="/logout"`) || b.cookie("gatehouse_session") != old {
		t.Fatal("GET /logout must only ask")
	}
	b.submit(b.get("/logout"), "/logout", vals())
	if b.cookie("gatehouse_session") != "" {
		t.Fatal("the cookie survived the logout")
	}
	// The old cookie value no longer reaches a session.
	req, _ := http.NewRequest("GET", e.srv.URL+"/account", nil)
	req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: old})
	p := e.browser(t).do(req, false)
	if p.Status != 302 || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Fatalf("/account with the ended session's cookie: %d %q", p.Status, p.Header.Get("Location"))
	}
}

func TestHeadersAndCookies(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	b := e.browser(t)
	for _, path := range []string{"/login", "/register", "/password/forgot", "/static/style.css"} {
		p := b.get(path)
		csp := p.Header.Get("Content-Security-Policy")
		if p.Status != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "object-src 'none'") ||
			p.Header.Get("X-Content-Type-Options") != "nosniff" || p.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: %d headers %v", path, p.Status, p.Header)
		}
	}
	if p := b.get("/login"); p.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Errorf("/login: %v", p.Header)
	}
	email := uniqueEmail("hdr")
	e.register(t, b, email, "")
	// The cookies as set: HttpOnly and SameSite=Lax, not Secure on http.
	raw := setCookies(t, b, email)
	for name, c := range raw {
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
			t.Errorf("cookie %s: %+v", name, c)
		}
	}
	if _, ok := raw["gatehouse_session"]; !ok {
		t.Errorf("no gatehouse_session cookie among %v", raw)
	}
}

// setCookies signs in with a fresh cookie-less exchange and returns the cookies the
// server set, as it set them.
func setCookies(t *testing.T, b *browser, email string) map[string]*http.Cookie {
	t.Helper()
	out := map[string]*http.Cookie{}
	get := b.getNoFollow("/login?reauth=1")
	for _, c := range (&http.Response{Header: get.Header}).Cookies() {
		out[c.Name] = c
	}
	tok := csrfOf(t, get)
	post := b.postRaw("/login", vals("email", email, "password", goodPassword, "csrf_token", tok), false)
	for _, c := range (&http.Response{Header: post.Header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

func TestHTTPSIssuerCookies(t *testing.T) {
	e := newEnv(t, testdbSQLite(t), testserver.With("GATEHOUSE_ISSUER", "https://id.example.test"))
	b := e.browser(t)
	email := uniqueEmail("https")
	e.register(t, b, email, "")
	// Cookies are carried by hand from here: a jar may keep Secure ones from http URLs.
	get := e.browser(t).getNoFollow("/login")
	if get.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS with an https issuer")
	}
	var csrf *http.Cookie
	for _, c := range (&http.Response{Header: get.Header}).Cookies() {
		if c.Name == "__Host-gatehouse_csrf" {
			csrf = c
		}
	}
	if csrf == nil || !csrf.Secure || !csrf.HttpOnly || csrf.SameSite != http.SameSiteLaxMode {
		t.Fatalf("CSRF cookie: %+v", csrf)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/login",
		strings.NewReader(vals("email", email, "password", goodPassword, "csrf_token", csrfOf(t, get)).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://id.example.test")
	req.AddCookie(&http.Cookie{Name: csrf.Name, Value: csrf.Value})
	p := e.browser(t).do(req, false)
	var sess *http.Cookie
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "__Host-gatehouse_session" {
			sess = c
		}
	}
	if p.Status != 302 || sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Domain != "" {
		t.Fatalf("sign-in over an https issuer: %d, session cookie %+v\n%s", p.Status, sess, p.Body)
	}
	// An Origin of the http listener is not the issuer's: refused.
	req2, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(vals("csrf_token", csrfOf(t, get)).Encode()))
	req2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req2.Header.Set("Origin", e.srv.URL)
	req2.AddCookie(&http.Cookie{Name: csrf.Name, Value: csrf.Value})
	if p := e.browser(t).do(req2, false); p.Status != 403 {
		t.Fatalf("post from the http origin to an https issuer: %d", p.Status)
	}
}

func TestReturnIsOnlyALocalPath(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	b := e.browser(t)
	email := uniqueEmail("ret")
	e.register(t, b, email, "")
	for _, evil := range []string{"//evil.example", "/\\evil.example", "https://evil.example/", "/\r\nLocation: https://evil.example", "javascript:alert(1)", "http:/\\evil.example"} {
		login := b.get("/login?return=" + url.QueryEscape(evil))
		p := b.submit(login, "/login", vals("email", email, "password", goodPassword, "return", evil))
		if p.URL.Host != strings.TrimPrefix(e.srv.URL, "http://") || p.URL.Path != "/account" {
			t.Fatalf("return=%q ended on %s", evil, p.URL)
		}
		// Signed in, /login sends the browser on at once: never off-site either.
		if q := b.getNoFollow("/login?return=" + url.QueryEscape(evil)); q.Header.Get("Location") != "/account" {
			t.Fatalf("signed-in /login?return=%q redirects to %q", evil, q.Header.Get("Location"))
		}
		b.submit(b.get("/logout"), "/logout", vals())
	}
	// A local path is kept, query and all.
	p := b.submit(b.get("/login"), "/login", vals("email", email, "password", goodPassword, "return", "/account?done=profile"))
	if p.URL.Path != "/account" || !strings.Contains(p.Body, "Your profile is saved") {
		t.Fatalf("return to a local path ended on %s", p.URL)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "#", "%23", " ", "%20").Replace(s)
}

func TestUnexpectedErrorsShowNoDetails(t *testing.T) {
	dbURL := testdbSQLite(t)
	e := newEnv(t, dbURL)
	b := e.browser(t)
	e.signedUp(t, b, "boom")
	// The database loses a table under the server: the page must not say so.
	testdb.Exec(t, dbURL, "ALTER TABLE sessions RENAME TO sessions_gone")
	p := b.getNoFollow("/account")
	rid := p.Header.Get("X-Request-ID")
	if p.Status != 500 || rid == "" || !strings.Contains(p.Body, rid) || !strings.Contains(p.Body, "unexpected error") {
		t.Fatalf("/account with a broken database: %d\n%s", p.Status, p.Body)
	}
	for _, leak := range []string{"sessions", "sql", "SQL", "goroutine", ".go:", "no such table"} {
		if strings.Contains(strings.ReplaceAll(p.Body, "/account", ""), leak) {
			t.Errorf("the error page shows %q:\n%s", leak, p.Body)
		}
	}
}
