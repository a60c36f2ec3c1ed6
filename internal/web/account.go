package web

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// accountView is the account page's own data.
type accountView struct {
	User     *store.User
	Sessions []sessionRow
	Factors  *mfa.Status
	// NeedsPassword: the account has no second factor yet, so adding the first asks for
	// the current password.
	NeedsPassword bool
	AppsShown     bool // an OpenID provider is mounted
	Apps          []App
}

type sessionRow struct {
	ID        string
	Started   time.Time
	LastSeen  time.Time
	IP        string
	Device    string
	Browser   bool // a sign-in on these pages (not an API client)
	Current   bool
	OrgScoped bool
}

// notices are the fixed messages an action leaves for the page it redirects to
// (?done=...): fixed, so the query cannot put words on the page.
var notices = map[string]string{
	"profile":       "Your profile is saved.",
	"password":      "Your password is changed. Your other sessions were signed out.",
	"session":       "The session is signed out.",
	"totp":          "The authenticator app is on.",
	"totp_off":      "The authenticator app is removed.",
	"email":         "Codes by email are on.",
	"sms":           "Codes by text message are on.",
	"passkey":       "The passkey is removed.",
	"app":           "The app's access is revoked.",
	"passkey_added": "The passkey is added.",
}

func (p *Pages) accountPage(w http.ResponseWriter, r *http.Request) error {
	sess, err := p.requireSession(w, r)
	if sess == nil {
		return err
	}
	return p.showAccount(w, r, sess, http.StatusOK, "", notices[r.FormValue("done")])
}

// showAccount renders the account page with a message (errMsg or notice).
func (p *Pages) showAccount(w http.ResponseWriter, r *http.Request, sess *store.Session, status int, errMsg, notice string) error {
	ctx := r.Context()
	u, err := p.Accounts.User(ctx, sess.UserID)
	if err != nil {
		return err
	}
	list, err := p.Sessions.List(ctx, sess.UserID)
	if err != nil {
		return err
	}
	st, err := p.MFA.Status(ctx, sess.UserID)
	if err != nil {
		return err
	}
	a := accountView{User: u, Factors: st, NeedsPassword: !u.MFAEnabled, AppsShown: p.Provider != nil}
	for _, s := range list {
		a.Sessions = append(a.Sessions, sessionRow{ID: s.ID, Started: s.CreatedAt, LastSeen: s.LastSeenAt, IP: s.IP,
			Device: shorten(s.UserAgent, 120), Browser: s.Kind == store.SessionBrowser, Current: s.ID == sess.ID, OrgScoped: s.OrgID != ""})
	}
	if p.Provider != nil {
		if a.Apps, err = p.Provider.Apps(ctx, sess.UserID); err != nil {
			return err
		}
	}
	p.render(w, r, status, "account", view{Title: "Your account", SignedIn: true, Scripts: true, Error: errMsg, Notice: notice, Page: a})
	return nil
}

// shorten cuts s to n characters for display.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// signedInAction is a post of the account page, for a live session.
type signedInAction func(w http.ResponseWriter, r *http.Request, sess *store.Session) error

// account wraps an action: it needs a session, and a refused change shows the account
// page again with the reason; an action that succeeds redirects to the page with a notice.
func (p *Pages) account(h signedInAction) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := p.requireSession(w, r)
		if sess == nil {
			return err
		}
		err = h(w, r, sess)
		if err == nil {
			return nil
		}
		ue := explain(err)
		if ue == nil {
			return err
		}
		setRetry(w, ue)
		return p.showAccount(w, r, sess, ue.status, ue.msg, "")
	}
}

func done(w http.ResponseWriter, r *http.Request, what string) error {
	http.Redirect(w, r, "/account?done="+what, http.StatusFound)
	return nil
}

// accountActions are the account page's forms, by path.
func (p *Pages) accountActions() map[string]handler {
	return map[string]handler{
		"/account/profile":          p.account(p.saveProfile),
		"/account/password":         p.account(p.changePassword),
		"/account/sessions/revoke":  p.account(p.revokeSession),
		"/account/totp":             p.account(p.enrollTOTP),
		"/account/totp/confirm":     p.account(p.confirmTOTP),
		"/account/totp/disable":     p.account(p.disableTOTP),
		"/account/backup-codes":     p.account(p.backupCodes),
		"/account/email":            p.account(p.enableEmail),
		"/account/sms":              p.account(p.startSMS),
		"/account/sms/confirm":      p.account(p.confirmSMS),
		"/account/passkeys":         p.account(p.passkeyWithoutJS),
		"/account/passkeys/delete":  p.account(p.deletePasskey),
		"/account/apps/revoke":      p.account(p.revokeApp),
		"/account/sessions/signout": p.account(p.revokeOthers),
	}
}

func (p *Pages) saveProfile(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	name := field(r, "name")
	if !plainText(name, maxName) {
		return fail(http.StatusUnprocessableEntity, "The name must be at most 200 characters of plain text.")
	}
	if _, err := p.Accounts.UpdateProfile(r.Context(), sess.UserID, name); err != nil {
		return err
	}
	return done(w, r, "profile")
}

func (p *Pages) changePassword(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	if current == "" || next == "" {
		return fail(http.StatusUnprocessableEntity, "Enter your current password and the new one.")
	}
	if !passwordFits(current) {
		return fail(http.StatusUnauthorized, "The current password is not right.")
	}
	if err := p.Accounts.ChangePassword(r.Context(), sess.UserID, sess.ID, current, next); err != nil {
		if ue := explain(err); ue == errCredentials {
			return fail(http.StatusUnauthorized, "The current password is not right.")
		}
		return err
	}
	return done(w, r, "password")
}

func (p *Pages) revokeSession(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	id := field(r, "session_id")
	if id == sess.ID { // signing this browser out is a logout
		if err := p.Sessions.EndBrowser(r.Context(), sess, session.ReasonLogout); err != nil {
			return err
		}
		p.jar.clear(w, sessionCookie)
		http.Redirect(w, r, "/login", http.StatusFound)
		return nil
	}
	if err := p.Sessions.Revoke(r.Context(), sess.UserID, id, session.ReasonUserRevoked); err != nil {
		return err
	}
	return done(w, r, "session")
}

func (p *Pages) revokeOthers(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	if err := p.Sessions.RevokeOthers(r.Context(), sess.UserID, sess.ID); err != nil {
		return err
	}
	return done(w, r, "session")
}

func (p *Pages) revokeApp(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	if p.Provider == nil {
		return errNotFound
	}
	id := field(r, "client_id")
	if id == "" || len(id) > 256 {
		return errNotFound
	}
	if err := p.Provider.Revoke(r.Context(), sess.UserID, id); err != nil {
		return err
	}
	return done(w, r, "app")
}
