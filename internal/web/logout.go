package web

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/session"
)

// logoutForm asks first: a GET must not sign anyone out (a link or an image on another
// site could otherwise do it).
func (p *Pages) logoutForm(w http.ResponseWriter, r *http.Request) error {
	sess, err := p.session(r)
	if err != nil {
		return err
	}
	if sess == nil {
		p.showMessage(w, r, http.StatusOK, "Signed out", message{Text: "You are not signed in.", LinkText: "Sign in", LinkHref: "/login"})
		return nil
	}
	p.render(w, r, http.StatusOK, "logout", view{Title: "Sign out", SignedIn: true})
	return nil
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) error {
	sess, err := p.session(r)
	if err != nil {
		return err
	}
	if sess != nil {
		if err := p.Sessions.EndBrowser(r.Context(), sess, session.ReasonLogout); err != nil {
			return err
		}
	}
	p.jar.clear(w, sessionCookie)
	p.jar.clear(w, mfaCookie)
	p.showMessage(w, r, http.StatusOK, "Signed out", message{Text: "You are signed out.", LinkText: "Sign in again", LinkHref: "/login"})
	return nil
}
