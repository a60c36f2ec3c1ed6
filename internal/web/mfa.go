package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// methodName is how the pages name each second factor.
var methodName = map[string]string{
	mfa.MethodTOTP:     "Authenticator app",
	mfa.MethodBackup:   "Backup code",
	mfa.MethodEmail:    "Code by email",
	mfa.MethodSMS:      "Code by text message",
	mfa.MethodWebAuthn: "Passkey or security key",
}

// mfaPage is the second-factor form's own data.
type mfaPage struct {
	Codes   []choice // methods that take a typed code
	Send    []choice // methods whose code is sent on request
	Passkey bool
}

type choice struct {
	Value, Label string
	Checked      bool
}

func (p *Pages) mfaView(f flow, pd pending, selected string) view {
	var pg mfaPage
	for _, m := range pd.Methods {
		switch m {
		case mfa.MethodWebAuthn:
			pg.Passkey = true
			continue
		case mfa.MethodEmail, mfa.MethodSMS:
			pg.Send = append(pg.Send, choice{Value: m, Label: methodName[m]})
		}
		pg.Codes = append(pg.Codes, choice{Value: m, Label: methodName[m]})
	}
	for i := range pg.Codes {
		pg.Codes[i].Checked = pg.Codes[i].Value == selected || (selected == "" && i == 0)
	}
	return view{Title: "Second step", Flow: f, Scripts: pg.Passkey, Page: pg}
}

func (p *Pages) mfaForm(w http.ResponseWriter, r *http.Request) error {
	f := flowOf(r)
	pd, ok := p.pending(r)
	if !ok {
		return p.loginAgain(w, r, f, "", errExpiredMFA)
	}
	p.render(w, r, http.StatusOK, "mfa", p.mfaView(f, pd, ""))
	return nil
}

func (p *Pages) mfaSubmit(w http.ResponseWriter, r *http.Request) error {
	f := flowOf(r)
	pd, ok := p.pending(r)
	if !ok {
		return p.loginAgain(w, r, f, "", errExpiredMFA)
	}
	method := field(r, "method")
	if !slices.Contains(pd.Methods, method) || method == mfa.MethodWebAuthn {
		return p.mfaAgain(w, r, f, pd, "", fail(http.StatusUnprocessableEntity, "Choose one of the ways offered below."))
	}
	if field(r, "action") == "send" {
		if method != mfa.MethodEmail && method != mfa.MethodSMS {
			return p.mfaAgain(w, r, f, pd, method, fail(http.StatusUnprocessableEntity, "Only email and text-message codes are sent."))
		}
		if err := p.MFA.SendLoginCode(r.Context(), clientIP(r), pd.Token, method); err != nil {
			return p.mfaAgain(w, r, f, pd, method, err)
		}
		v := p.mfaView(f, pd, method)
		v.Notice = "We sent you a code by email. It works for 10 minutes."
		if method == mfa.MethodSMS {
			v.Notice = "We sent you a code by text message. It works for 10 minutes."
		}
		p.render(w, r, http.StatusOK, "mfa", v)
		return nil
	}
	code := field(r, "code")
	if code == "" {
		return p.mfaAgain(w, r, f, pd, method, fail(http.StatusUnprocessableEntity, "Enter the code."))
	}
	if len(code) > maxCode {
		return p.mfaAgain(w, r, f, pd, method, mfa.ErrInvalidCode)
	}
	tokens, err := p.MFA.Verify(r.Context(), pd.Token, method, code, device(r))
	if err != nil {
		return p.mfaAgain(w, r, f, pd, method, err)
	}
	p.jar.clear(w, mfaCookie)
	sess, err := p.signIn(w, r, tokens)
	if err != nil {
		return err
	}
	return p.proceed(w, r, f, sess)
}

// mfaAgain shows the second-factor form with what went wrong. A dead mfa_token (expired,
// or killed by too many wrong codes) sends the user back to the password form.
func (p *Pages) mfaAgain(w http.ResponseWriter, r *http.Request, f flow, pd pending, method string, err error) error {
	if errors.Is(err, mfa.ErrInvalidToken) {
		p.jar.clear(w, mfaCookie)
		return p.loginAgain(w, r, f, "", errExpiredMFA)
	}
	ue := explain(err)
	if ue == nil || ue.status == http.StatusTooManyRequests || ue == errNoRequest {
		return err
	}
	setRetry(w, ue)
	v := p.mfaView(f, pd, method)
	v.Error = ue.msg
	p.render(w, r, ue.status, "mfa", v)
	return nil
}
