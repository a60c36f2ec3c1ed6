package web

import (
	"net/http"
)

// scopeWords says what each scope lets the app do, for the consent page.
var scopeWords = map[string]string{
	"openid":         "Know who you are on this service (your user id)",
	"profile":        "See your name",
	"email":          "See your email address and whether it is verified",
	"offline_access": "Stay connected to your account while you are away (until you revoke it)",
}

// consentPage is the consent form's own data.
type consentPage struct {
	App    string
	Scopes []string
}

func describeScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if w, ok := scopeWords[s]; ok {
			out = append(out, w)
		} else {
			out = append(out, "Use the permission “"+s+"”")
		}
	}
	return out
}

func (p *Pages) consentForm(w http.ResponseWriter, r *http.Request) error {
	f := flowOf(r)
	if f.AuthRequest == "" {
		return errNoRequest
	}
	sess, err := p.requireSession(w, r)
	if sess == nil {
		return err
	}
	ar, err := p.authRequest(r, f.AuthRequest)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "consent", view{Title: "Allow access?", SignedIn: true, Flow: flow{AuthRequest: f.AuthRequest},
		Page: consentPage{App: ar.ClientName, Scopes: describeScopes(ar.Scopes)}})
	return nil
}

func (p *Pages) consent(w http.ResponseWriter, r *http.Request) error {
	f := flowOf(r)
	if f.AuthRequest == "" || p.Provider == nil {
		return errNoRequest
	}
	sess, err := p.requireSession(w, r)
	if sess == nil {
		return err
	}
	switch field(r, "decision") {
	case "approve":
		if err := p.Provider.Approve(r.Context(), f.AuthRequest, sess.UserID); err != nil {
			return err
		}
		to, err := p.Provider.Finish(r.Context(), f.AuthRequest, sess)
		if err != nil {
			return err
		}
		http.Redirect(w, r, to, http.StatusFound)
	case "deny":
		to, err := p.Provider.Deny(r.Context(), f.AuthRequest)
		if err != nil {
			return err
		}
		http.Redirect(w, r, to, http.StatusFound)
	default:
		return fail(http.StatusUnprocessableEntity, "Choose Allow or Deny.")
	}
	return nil
}
