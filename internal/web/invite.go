package web

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/org"
)

// inviteForm shows the invitation's accept button to a signed-in user; others sign in
// (or register) first and come back here.
func (p *Pages) inviteForm(w http.ResponseWriter, r *http.Request) error {
	t := linkToken(r)
	if t == "" {
		return errNoToken
	}
	sess, err := p.requireSession(w, r)
	if sess == nil {
		return err
	}
	p.render(w, r, http.StatusOK, "invite", view{Title: "Join an organization", SignedIn: true, Page: tokenPage{Token: t}})
	return nil
}

func (p *Pages) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	t := linkToken(r)
	if t == "" {
		return errNoToken
	}
	sess, err := p.requireSession(w, r)
	if sess == nil {
		return err
	}
	// The browser session acts as its user would with a token from it: scoped to its
	// organization when it was signed in for one.
	caller := org.Caller{UserID: sess.UserID, AMR: sess.AMR, Scope: sess.OrgID}
	if _, err := p.Orgs.Accept(r.Context(), caller, t); err != nil {
		return p.formAgain(w, r, "invite", view{Title: "Join an organization", SignedIn: true, Page: tokenPage{Token: t}}, err)
	}
	p.showMessage(w, r, http.StatusOK, "Invitation accepted", message{Text: "You are now a member of the organization.",
		LinkText: "Go to your account", LinkHref: "/account"})
	return nil
}
