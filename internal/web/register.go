package web

import (
	"net/http"
)

// The pages of an account's life before sign-in: registration, email verification and
// password reset. Each takes a one-time token from an emailed link in the query, and
// uses it only on a post (a mail scanner that fetches the link changes nothing).

func (p *Pages) registerForm(w http.ResponseWriter, r *http.Request) error {
	p.render(w, r, http.StatusOK, "register", view{Title: "Create an account", Flow: flowOf(r)})
	return nil
}

func (p *Pages) register(w http.ResponseWriter, r *http.Request) error {
	f := flowOf(r)
	email, pw, name := field(r, "email"), r.PostFormValue("password"), field(r, "name")
	again := func(err error) error {
		return p.formAgain(w, r, "register", view{Title: "Create an account", Flow: f,
			Form: map[string]string{"email": email, "name": name}}, err)
	}
	switch {
	case !plausibleEmail(email):
		return again(fail(http.StatusUnprocessableEntity, "Enter a valid email address."))
	case pw == "":
		return again(fail(http.StatusUnprocessableEntity, "Choose a password."))
	case !plainText(name, maxName):
		return again(fail(http.StatusUnprocessableEntity, "The name must be at most 200 characters of plain text."))
	}
	if _, err := p.Accounts.Register(r.Context(), clientIP(r), email, pw, name); err != nil {
		return again(err)
	}
	p.showMessage(w, r, http.StatusOK, "Check your email", message{
		Text:     "We sent a link to " + email + " to verify the address. You can sign in now.",
		LinkText: "Sign in", LinkHref: "/login" + f.query()})
	return nil
}

// formAgain shows a form again with the message of err (a user error); throttling and
// unexpected errors go to fail.
func (p *Pages) formAgain(w http.ResponseWriter, r *http.Request, name string, v view, err error) error {
	ue := explain(err)
	if ue == nil || ue.status == http.StatusTooManyRequests {
		return err
	}
	setRetry(w, ue)
	v.Error = ue.msg
	p.render(w, r, ue.status, name, v)
	return nil
}

// tokenPage is the data of a page acting on an emailed token.
type tokenPage struct{ Token string }

// linkToken reads the token of an emailed link (query or hidden field).
func linkToken(r *http.Request) string {
	t := r.FormValue("token")
	if len(t) > 512 {
		return ""
	}
	return t
}

var errNoToken = fail(http.StatusBadRequest, "This link is incomplete. Open the link from the email again.")

func (p *Pages) verifyForm(w http.ResponseWriter, r *http.Request) error {
	t := linkToken(r)
	if t == "" {
		return errNoToken
	}
	p.render(w, r, http.StatusOK, "verify", view{Title: "Verify your email address", Page: tokenPage{Token: t}})
	return nil
}

func (p *Pages) verify(w http.ResponseWriter, r *http.Request) error {
	t := linkToken(r)
	if t == "" {
		return errNoToken
	}
	if _, err := p.Accounts.VerifyEmail(r.Context(), clientIP(r), t); err != nil {
		return err
	}
	p.showMessage(w, r, http.StatusOK, "Email address verified", message{Text: "Thank you: your email address is verified.",
		LinkText: "Go to your account", LinkHref: "/account"})
	return nil
}

func (p *Pages) forgotForm(w http.ResponseWriter, r *http.Request) error {
	p.render(w, r, http.StatusOK, "forgot", view{Title: "Forgot your password?"})
	return nil
}

// forgot answers the same whatever the address: the page must not tell whether it has
// an account.
func (p *Pages) forgot(w http.ResponseWriter, r *http.Request) error {
	email := field(r, "email")
	if !plausibleEmail(email) {
		return p.formAgain(w, r, "forgot", view{Title: "Forgot your password?", Form: map[string]string{"email": email}},
			fail(http.StatusUnprocessableEntity, "Enter a valid email address."))
	}
	if err := p.Accounts.ForgotPassword(r.Context(), clientIP(r), email); err != nil {
		return err
	}
	p.showMessage(w, r, http.StatusOK, "Check your email", message{
		Text:     "If an account uses " + email + ", we sent it a link to choose a new password. The link works for one hour.",
		LinkText: "Back to sign in", LinkHref: "/login"})
	return nil
}

func (p *Pages) resetForm(w http.ResponseWriter, r *http.Request) error {
	t := linkToken(r)
	if t == "" {
		return errNoToken
	}
	p.render(w, r, http.StatusOK, "reset", view{Title: "Choose a new password", Page: tokenPage{Token: t}})
	return nil
}

func (p *Pages) reset(w http.ResponseWriter, r *http.Request) error {
	t := linkToken(r)
	if t == "" {
		return errNoToken
	}
	pw := r.PostFormValue("password")
	again := func(err error) error {
		return p.formAgain(w, r, "reset", view{Title: "Choose a new password", Page: tokenPage{Token: t}}, err)
	}
	if pw == "" {
		return again(fail(http.StatusUnprocessableEntity, "Choose a password."))
	}
	if err := p.Accounts.ResetPassword(r.Context(), clientIP(r), t, pw); err != nil {
		return again(err)
	}
	p.showMessage(w, r, http.StatusOK, "Password changed", message{
		Text:     "Your password is changed, and every session of your account was signed out. Sign in with the new password.",
		LinkText: "Sign in", LinkHref: "/login"})
	return nil
}
