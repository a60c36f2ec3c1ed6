package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// loginPage is the sign-in form's own data.
type loginPage struct {
	App string // the app asking, when there is an authorization request
}

// authRequest loads an app's pending authorization request.
func (p *Pages) authRequest(r *http.Request, id string) (*AuthRequest, error) {
	if p.Provider == nil {
		return nil, ErrNoRequest
	}
	return p.Provider.AuthRequest(r.Context(), id)
}

// reusable reports whether a live browser session may answer an authorization request
// without a new sign-in: the app did not ask for one, the sign-in is recent enough for
// its max_age, and the session is the organization's the app named.
func (p *Pages) reusable(sess *store.Session, ar *AuthRequest) bool {
	if ar.ForceLogin || (ar.OrgID != "" && ar.OrgID != sess.OrgID) {
		return false
	}
	return ar.MaxAge == nil || p.Now().Sub(sess.AuthTime) <= *ar.MaxAge
}

func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) error {
	f := flowOf(r)
	sess, err := p.session(r)
	if err != nil {
		return err
	}
	v := view{Title: "Sign in", Flow: f, Scripts: true, SignedIn: sess != nil, Page: loginPage{}}
	if f.AuthRequest != "" {
		ar, err := p.authRequest(r, f.AuthRequest)
		if err != nil {
			return err
		}
		if sess != nil && p.reusable(sess, ar) {
			return p.proceed(w, r, f, sess)
		}
		v.Page, v.Form = loginPage{App: ar.ClientName}, map[string]string{"email": ar.LoginHint}
	} else if sess != nil && r.FormValue("reauth") == "" {
		return p.proceed(w, r, f, sess)
	}
	p.render(w, r, http.StatusOK, "login", v)
	return nil
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) error {
	f := flowOf(r)
	email, pw := field(r, "email"), r.PostFormValue("password")
	var orgID string
	if f.AuthRequest != "" {
		ar, err := p.authRequest(r, f.AuthRequest)
		if err != nil {
			return err
		}
		orgID = ar.OrgID
	}
	if email == "" || pw == "" {
		return p.loginAgain(w, r, f, email, fail(http.StatusUnprocessableEntity, "Enter your email address and your password."))
	}
	if len(email) > maxEmail || !passwordFits(pw) {
		return p.loginAgain(w, r, f, email, errCredentials) // cannot be right; no hash spent
	}
	res, err := p.Accounts.Login(r.Context(), account.LoginInput{Email: email, Password: pw, OrgID: orgID, Device: device(r)})
	if err != nil {
		return p.loginAgain(w, r, f, email, err)
	}
	if res.MFA != nil {
		p.setPending(w, res.MFA.Token, res.MFA.Methods, res.MFA.ExpiresIn)
		http.Redirect(w, r, "/login/mfa"+f.query(), http.StatusFound)
		return nil
	}
	sess, err := p.signIn(w, r, res.Tokens)
	if err != nil {
		return err
	}
	return p.proceed(w, r, f, sess)
}

// loginAgain shows the form again with what went wrong. Throttling gets its own page
// (429 with Retry-After); an unexpected error goes to fail.
func (p *Pages) loginAgain(w http.ResponseWriter, r *http.Request, f flow, email string, err error) error {
	ue := explain(err)
	if ue == nil || ue.status == http.StatusTooManyRequests || ue == errNoRequest {
		return err
	}
	setRetry(w, ue)
	p.render(w, r, ue.status, "login", view{Title: "Sign in", Flow: f, Scripts: true, Error: ue.msg,
		Form: map[string]string{"email": email}, Page: loginPage{}})
	return nil
}

// The pending login (between the password and the second factor) lives in a short-lived
// cookie: the mfa_token, then the methods to offer. The methods are only shown: the mfa
// service decides what each mfa_token may use.
func (p *Pages) setPending(w http.ResponseWriter, token string, methods []string, expiresIn int) {
	p.jar.set(w, mfaCookie, token+":"+strings.Join(methods, "."), min(max(expiresIn, 1), mfaCookieLife))
}

type pending struct {
	Token   string
	Methods []string
}

func (p *Pages) pending(r *http.Request) (pending, bool) {
	tok, methods, ok := strings.Cut(p.jar.get(r, mfaCookie), ":")
	if !ok || !tokenShape.MatchString(tok) {
		return pending{}, false
	}
	var known []string
	for _, m := range strings.Split(methods, ".") {
		if methodName[m] != "" {
			known = append(known, m)
		}
	}
	return pending{Token: tok, Methods: known}, true
}

// mfaCookieLife bounds the pending cookie (seconds), whatever the service's TTL.
const mfaCookieLife = 600
