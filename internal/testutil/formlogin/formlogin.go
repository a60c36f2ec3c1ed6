// Package formlogin signs a person in on Gatehouse's hosted login page the way a browser
// without JavaScript does, for tests of applications that send people there.
package formlogin

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	csrfRe    = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	authReqRe = regexp.MustCompile(`name="auth_request" value="([^"]+)"`)
)

// SignIn opens start (an application's page that sends the browser to Gatehouse), posts
// the login form with email and password, and returns where the browser ended up and
// what that page said. The client's application must be first-party (no consent page).
func SignIn(t testing.TB, start, email, password string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	resp, err := browser.Get(start)
	if err != nil {
		t.Fatalf("open %s: %v", start, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf, authReq := csrfRe.FindSubmatch(page), authReqRe.FindSubmatch(page)
	if csrf == nil || authReq == nil {
		t.Fatalf("no login form at %s:\n%s", resp.Request.URL, page)
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {string(csrf[1])}, "auth_request": {string(authReq[1])}}
	req, _ := http.NewRequest("POST", resp.Request.URL.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatalf("post the login form: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}
