package web

import (
	"html/template"
	"net/http"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The second-factor forms of the account page. The mfa service decides what a session
// may change (a recent sign-in, the second factor once there is one, the password for
// the first); the pages show its refusals as messages.

// proof is what the session shows of its sign-in, with the password the form carries.
func proof(r *http.Request, sess *store.Session) mfa.Proof {
	return mfa.Proof{AMR: sess.AMR, SignedInAt: sess.AuthTime, Password: r.PostFormValue("current_password")}
}

// totpPage shows a new TOTP secret (once) and asks for a code to confirm it.
type totpPage struct {
	QR     template.URL // data: URL of the PNG, made here from our own base64
	Secret string
	Again  bool // a wrong code: the QR code is not shown again (the secret is not kept)
}

// codesPage shows backup codes, once.
type codesPage struct{ Codes []string }

func (p *Pages) enrollTOTP(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	e, err := p.MFA.EnrollTOTP(r.Context(), sess.UserID, proof(r, sess))
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "totp", view{Title: "Set up an authenticator app", SignedIn: true,
		Page: totpPage{QR: template.URL("data:image/png;base64," + e.QRPNG), Secret: e.Secret}})
	return nil
}

func (p *Pages) confirmTOTP(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	code := field(r, "code")
	if code == "" || len(code) > maxCode {
		code = "-" // never right; the service counts the attempt like any wrong code
	}
	codes, err := p.MFA.ConfirmTOTP(r.Context(), sess.UserID, sess.ID, code)
	if ue := explain(err); ue != nil && ue.status == http.StatusUnauthorized {
		p.render(w, r, ue.status, "totp", view{Title: "Set up an authenticator app", SignedIn: true, Error: ue.msg,
			Page: totpPage{Again: true}})
		return nil
	}
	if err != nil {
		return err
	}
	if len(codes) > 0 {
		return p.showCodes(w, r, codes, "The authenticator app is on. Keep these backup codes somewhere safe.")
	}
	return done(w, r, "totp")
}

func (p *Pages) showCodes(w http.ResponseWriter, r *http.Request, codes []string, notice string) error {
	p.render(w, r, http.StatusOK, "codes", view{Title: "Your backup codes", SignedIn: true, Notice: notice, Page: codesPage{Codes: codes}})
	return nil
}

func (p *Pages) disableTOTP(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	code := field(r, "code")
	if code == "" || len(code) > maxCode {
		return fail(http.StatusUnprocessableEntity, "Enter a current code from your authenticator app to remove it.")
	}
	if err := p.MFA.DisableTOTP(r.Context(), sess.UserID, sess.ID, code); err != nil {
		return err
	}
	return done(w, r, "totp_off")
}

func (p *Pages) backupCodes(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	codes, err := p.MFA.RegenerateBackupCodes(r.Context(), sess.UserID, proof(r, sess))
	if err != nil {
		return err
	}
	return p.showCodes(w, r, codes, "New backup codes: the old ones no longer work.")
}

func (p *Pages) enableEmail(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	if err := p.MFA.EnableEmail(r.Context(), sess.UserID, sess.ID, proof(r, sess)); err != nil {
		return err
	}
	return done(w, r, "email")
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// smsPage asks for the code texted to a new number.
type smsPage struct{ Phone string }

func (p *Pages) startSMS(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	phone := field(r, "phone")
	if !e164.MatchString(phone) {
		return fail(http.StatusUnprocessableEntity, "Enter the phone number in international form, such as +14155550123.")
	}
	if err := p.MFA.StartSMS(r.Context(), sess.UserID, proof(r, sess), phone); err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "sms", view{Title: "Confirm your phone number", SignedIn: true,
		Notice: "We sent a code by text message. It works for 10 minutes.", Page: smsPage{Phone: mfa.MaskPhone(phone)}})
	return nil
}

func (p *Pages) confirmSMS(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	code := field(r, "code")
	if code == "" || len(code) > maxCode {
		code = "-"
	}
	err := p.MFA.ConfirmSMS(r.Context(), sess.UserID, sess.ID, code)
	if ue := explain(err); ue != nil && ue.status == http.StatusUnauthorized {
		p.render(w, r, ue.status, "sms", view{Title: "Confirm your phone number", SignedIn: true, Error: ue.msg, Page: smsPage{}})
		return nil
	}
	if err != nil {
		return err
	}
	return done(w, r, "sms")
}

func (p *Pages) deletePasskey(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	id := field(r, "id")
	if id == "" || len(id) > 128 {
		return errNotFound
	}
	if err := p.MFA.DeleteCredential(r.Context(), sess.UserID, sess.ID, proof(r, sess), id); err != nil {
		return err
	}
	return done(w, r, "passkey")
}

// passkeyWithoutJS answers the add-a-passkey form when the script did not take it over.
func (p *Pages) passkeyWithoutJS(w http.ResponseWriter, r *http.Request, sess *store.Session) error {
	return fail(http.StatusUnprocessableEntity, "Adding a passkey needs JavaScript in this browser: your browser talks to the passkey through it.")
}
