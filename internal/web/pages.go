package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Pages serves the hosted pages. Fill the fields, then call New.
type Pages struct {
	Accounts *account.Service
	Sessions *session.Service
	MFA      *mfa.Service
	Orgs     *org.Service
	// Provider is the OpenID provider; nil while none is mounted (then a sign-in without
	// an authorization request ends on the account page).
	Provider Provider
	Product  string
	// Issuer is the service's public URL: its origin is the only one a form post may come
	// from, and an https issuer makes every cookie __Host- and Secure.
	Issuer string
	Now    func() time.Time

	templates map[string]*template.Template
	jar       jar
	origin    string
}

// New parses the templates and returns the pages, ready to mount.
func New(p *Pages) (*Pages, error) {
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	p.templates = t
	p.jar = jar{secure: strings.HasPrefix(p.Issuer, "https://")}
	p.origin = originOf(p.Issuer)
	if p.Now == nil {
		p.Now = time.Now
	}
	return p, nil
}

// handler serves a page; a returned error is shown by fail.
type handler func(w http.ResponseWriter, r *http.Request) error

// Mount registers the routes with handle (the API router's HandleRaw).
func (p *Pages) Mount(handle func(pattern string, h http.HandlerFunc)) {
	get := func(path string, h handler) { handle("GET "+path, p.serve(h, false)) }
	post := func(path string, h handler) { handle("POST "+path, p.serve(h, true)) }
	get("/login", p.loginForm)
	post("/login", p.login)
	get("/login/mfa", p.mfaForm)
	post("/login/mfa", p.mfaSubmit)
	get("/register", p.registerForm)
	post("/register", p.register)
	get("/verify-email", p.verifyForm)
	post("/verify-email", p.verify)
	get("/password/forgot", p.forgotForm)
	post("/password/forgot", p.forgot)
	get("/password/reset", p.resetForm)
	post("/password/reset", p.reset)
	get("/invitations/accept", p.inviteForm)
	post("/invitations/accept", p.acceptInvite)
	get("/logout", p.logoutForm)
	post("/logout", p.logout)
	get("/consent", p.consentForm)
	post("/consent", p.consent)
	get("/account", p.accountPage)
	for path, h := range p.accountActions() {
		post(path, h)
	}
	// Passkey ceremonies: JSON for passkey.js, with the CSRF token in a header.
	handle("POST /login/passkey/begin", p.serveJSON(p.passkeyBegin))
	handle("POST /login/passkey/finish", p.serveJSON(p.passkeyFinish))
	handle("POST /login/mfa/passkey/begin", p.serveJSON(p.stepUpBegin))
	handle("POST /login/mfa/passkey/finish", p.serveJSON(p.stepUpFinish))
	handle("POST /account/passkeys/begin", p.serveJSON(p.registerPasskeyBegin))
	handle("POST /account/passkeys/finish", p.serveJSON(p.registerPasskeyFinish))
	static := http.FileServerFS(staticFiles())
	handle("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		http.StripPrefix("/static", static).ServeHTTP(w, r)
	})
}

// serve wraps a page handler: the page headers, the CSRF and origin check of a post,
// and one place where errors and panics become pages (never a Go error or a stack).
func (p *Pages) serve(h handler, isPost bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		r = r.WithContext(context.WithValue(r.Context(), csrfKey{}, new(string)))
		defer p.recover(w, r)
		if isPost {
			if err := p.checkPost(r, r.PostFormValue("csrf_token")); err != nil {
				p.fail(w, r, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			p.fail(w, r, err)
		}
	}
}

// pageHeaders: pages hold CSRF tokens, personal data and sometimes secrets, so no cache
// keeps them; X-Frame-Options repeats frame-ancestors for old browsers. The CSP itself
// is set by httpx.ContentSecurityPolicy where the pages are mounted.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
}

func (p *Pages) recover(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v)
	}
	logging.From(r.Context()).ErrorContext(r.Context(), "panic serving a page", "path", r.URL.Path, "panic", fmt.Sprint(v))
	p.internal(w, r)
}

// session returns the browser's live session, or nil.
func (p *Pages) session(r *http.Request) (*store.Session, error) {
	sess, err := p.Sessions.ByCookie(r.Context(), p.jar.get(r, sessionCookie))
	if errors.Is(err, session.ErrNotFound) {
		return nil, nil
	}
	return sess, err
}

// requireSession returns the live session, or sends the browser to sign in and come
// back (nil, nil: the response is written).
func (p *Pages) requireSession(w http.ResponseWriter, r *http.Request) (*store.Session, error) {
	sess, err := p.session(r)
	if err != nil || sess != nil {
		return sess, err
	}
	back := r.URL.Path
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		back += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, "/login"+flow{Return: safeReturn(back)}.query(), http.StatusFound)
	return nil, nil
}

// signIn sets the cookie of the browser session a sign-in just started (with
// device(r), which asks for one) and returns that session.
func (p *Pages) signIn(w http.ResponseWriter, r *http.Request, tokens *session.Tokens) (*store.Session, error) {
	if tokens.Cookie == "" {
		return nil, errors.New("web: the sign-in did not start a browser session")
	}
	sess, err := p.Sessions.ByCookie(r.Context(), tokens.Cookie)
	if err != nil {
		return nil, err
	}
	p.jar.set(w, sessionCookie, tokens.Cookie, 0)
	return sess, nil
}

// next says where a signed-in browser goes: for an app's authorization request, to the
// consent page or back to the app; else to the return path or the account page.
func (p *Pages) next(ctx context.Context, f flow, sess *store.Session) (string, error) {
	if f.AuthRequest == "" {
		if f.Return != "" {
			return f.Return, nil
		}
		return "/account", nil
	}
	if p.Provider == nil {
		return "", ErrNoRequest
	}
	need, err := p.Provider.NeedsConsent(ctx, f.AuthRequest, sess.UserID)
	if err != nil {
		return "", err
	}
	if need {
		return "/consent?auth_request=" + url.QueryEscape(f.AuthRequest), nil
	}
	return p.Provider.Finish(ctx, f.AuthRequest, sess)
}

// proceed redirects a signed-in browser to where next says.
func (p *Pages) proceed(w http.ResponseWriter, r *http.Request, f flow, sess *store.Session) error {
	to, err := p.next(r.Context(), f, sess)
	if err != nil {
		return err
	}
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// device is where the request comes from, as the API records it; a sign-in started
// with it makes a browser session.
func device(r *http.Request) session.Device {
	info := reqinfo.From(r.Context())
	return session.Device{IP: info.IP, UserAgent: info.UserAgent, Browser: true}
}

func clientIP(r *http.Request) string { return reqinfo.From(r.Context()).IP }
