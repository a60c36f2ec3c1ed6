package web

import (
	"net/http"
	"net/url"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// anyApp is what a page's forms may reach when the app's redirect URI is not known:
// any https site, and http on loopback (the only http redirect URIs there are).
var anyApp = []string{"https:", "http://127.0.0.1:*", "http://localhost:*"}

var (
	schemeShape = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)
	hostShape   = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
)

// allowFormsToApp widens the page's form-action to the app of an authorization request,
// whose sign-in or consent form is answered with a redirect to that app.
func (p *Pages) allowFormsToApp(w http.ResponseWriter, r *http.Request, authRequest string) {
	targets := anyApp
	if ar, err := p.authRequest(r, authRequest); err == nil && ar.RedirectURI != "" {
		if t := redirectSource(ar.RedirectURI); t != "" {
			targets = []string{t}
		}
	}
	w.Header().Set("Content-Security-Policy", httpx.PageCSPFor(targets...))
}

// redirectSource is the CSP source expression of a redirect URI: its origin for http(s),
// its scheme for an app's private-use scheme; "" when it cannot be written safely.
func redirectSource(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !schemeShape.MatchString(u.Scheme) {
		return ""
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return u.Scheme + ":"
	}
	if !hostShape.MatchString(u.Host) {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
