package web_test

import (
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

	"github.com/gatehouse-id/gatehouse/internal/testutil/smtptest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// env is a running Gatehouse with a real mail server.
type env struct {
	srv  *testserver.Server
	mail *smtptest.Server
}

// eachBackend runs fn against SQLite and PostgreSQL side by side, each with its own
// server and database.
func eachBackend(t *testing.T, fn func(t *testing.T, dbURL func(testing.TB) string)) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.URL)
		})
	}
}

func newEnv(t testing.TB, dbURL string, opts ...testserver.Option) *env {
	t.Helper()
	mail := smtptest.Start(t)
	opts = append([]testserver.Option{testserver.With("GATEHOUSE_SMTP_URL", mail.URL)}, opts...)
	return &env{srv: testserver.Start(t, dbURL, opts...), mail: mail}
}

var seq atomic.Int64

func uniqueEmail(prefix string) string { return fmt.Sprintf("%s-%d@example.com", prefix, seq.Add(1)) }

const goodPassword = "correct horse battery staple"

// browser is an HTTP client with a cookie jar that reads pages as a person would see
// them: it follows redirects unless told not to, and fills in the CSRF token of the
// form it posts.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	jar  http.CookieJar
}

func (e *env) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: e.srv.URL, jar: jar, c: &http.Client{Jar: jar}}
}

// page is a fetched response with its body read.
type page struct {
	Status int
	Header http.Header
	URL    *url.URL // after redirects
	Body   string
}

func (b *browser) do(req *http.Request, follow bool) *page {
	b.t.Helper()
	c := *b.c
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	res, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &page{Status: res.StatusCode, Header: res.Header, URL: res.Request.URL, Body: string(body)}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req, true)
}

func (b *browser) getNoFollow(path string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req, false)
}

// postRaw posts fields as they are (no CSRF token added), with extra headers.
func (b *browser) postRaw(path string, fields url.Values, follow bool, header ...string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req, follow)
}

// submit posts fields to action with the CSRF token read from the page p.
func (b *browser) submit(p *page, action string, fields url.Values) *page {
	b.t.Helper()
	fields.Set("csrf_token", csrfOf(b.t, p))
	return b.postRaw(action, fields, true)
}

// form fetches pagePath, then submits fields to action with that page's CSRF token.
func (b *browser) form(pagePath, action string, fields url.Values) *page {
	b.t.Helper()
	return b.submit(b.get(pagePath), action, fields)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t testing.TB, p *page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no csrf_token on the page (%d %s):\n%s", p.Status, p.URL, p.Body)
	}
	return m[1]
}

var errorRE = regexp.MustCompile(`(?s)<p class="msg msg-error" role="alert">(.*?)</p>`)

// errorText is the page's error message, unescaped ("" when none).
func errorText(p *page) string {
	m := errorRE.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func mustContain(t testing.TB, p *page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("%d %s lacks %q:\n%s", p.Status, p.URL, s, p.Body)
		}
	}
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// register signs up through /register and returns the email's verification token.
func (e *env) register(t testing.TB, b *browser, email, name string) string {
	t.Helper()
	p := b.form("/register", "/register", vals("email", email, "password", goodPassword, "name", name))
	if p.Status != 200 {
		t.Fatalf("register: %d\n%s", p.Status, p.Body)
	}
	mustContain(t, p, "Check your email")
	return e.mail.WaitFor(t, email, "Verify").Token()
}

// login signs in through /login and returns the page it ends on.
func (b *browser) login(email, pw string) *page {
	b.t.Helper()
	return b.form("/login", "/login", vals("email", email, "password", pw))
}

// signedUp registers and signs in a new user, returning their email.
func (e *env) signedUp(t testing.TB, b *browser, prefix string) string {
	t.Helper()
	email := uniqueEmail(prefix)
	e.register(t, b, email, "Test User")
	if p := b.login(email, goodPassword); p.URL.Path != "/account" {
		t.Fatalf("login ended on %s (%d):\n%s", p.URL, p.Status, p.Body)
	}
	return email
}

// cookie returns the jar's cookie of that name for the server.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
