package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// userError is an error a page can show as it is: a fixed, friendly message and the
// status that goes with it. Anything else is unexpected and shows only the request id.
type userError struct {
	status int
	msg    string
	retry  time.Duration // Retry-After, for 429 and 503
}

func (e *userError) Error() string { return e.msg }

func fail(status int, msg string) *userError { return &userError{status: status, msg: msg} }

// The messages every page shares. Unknown email and wrong password share one, on
// purpose: the page must not tell whether an address has an account.
var (
	errCredentials = fail(http.StatusUnauthorized, "The email address or password is not right.")
	errForbidden   = fail(http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and try again.")
	errNoRequest   = fail(http.StatusBadRequest, "This sign-in request has expired or was already used. Go back to the app and start again.")
	errExpiredMFA  = fail(http.StatusUnauthorized, "This sign-in attempt has expired. Sign in again.")
	errNotFound    = fail(http.StatusNotFound, "There is nothing here.")
)

// explain turns a domain error into a message for the page; nil when the error is
// unexpected (a storage failure, say), which must not be shown.
func explain(err error) *userError {
	var ue *userError
	var weak *password.Weak
	var limited *account.RateLimited
	var mfaLimited *mfa.RateLimited
	switch {
	case errors.As(err, &ue):
		return ue
	case errors.As(err, &weak):
		return fail(http.StatusUnprocessableEntity, weak.Reason)
	case errors.As(err, &limited):
		return throttled(limited.RetryAfter)
	case errors.As(err, &mfaLimited):
		return throttled(mfaLimited.RetryAfter)
	case errors.Is(err, password.ErrBusy):
		return &userError{status: http.StatusServiceUnavailable, msg: "The service is busy. Try again in a moment.", retry: 2 * time.Second}
	case errors.Is(err, ErrNoRequest):
		return errNoRequest
	}
	if m := accountMessage(err); m != nil {
		return m
	}
	if m := factorMessage(err); m != nil {
		return m
	}
	return orgMessage(err)
}

// throttled says when to come back, in words and in Retry-After.
func throttled(after time.Duration) *userError {
	wait := "in a moment"
	switch {
	case after > 90*time.Second:
		wait = fmt.Sprintf("in about %d minutes", int((after+time.Minute-1)/time.Minute))
	case after > 0:
		wait = fmt.Sprintf("in %d seconds", int((after+time.Second-1)/time.Second))
	}
	return &userError{status: http.StatusTooManyRequests, retry: max(after, time.Second),
		msg: "Too many attempts. For your security, this is paused for now: try again " + wait + "."}
}

func accountMessage(err error) *userError {
	switch {
	case errors.Is(err, account.ErrInvalidCredentials):
		return errCredentials
	case errors.Is(err, account.ErrEmailTaken):
		return fail(http.StatusConflict, "An account with this email address already exists. Sign in, or reset its password.")
	case errors.Is(err, account.ErrDisabled), errors.Is(err, mfa.ErrDisabled):
		return fail(http.StatusForbidden, "This account is disabled. Contact your administrator.")
	case errors.Is(err, account.ErrEmailNotVerified):
		return fail(http.StatusForbidden, "Verify your email address first: follow the link we emailed you.")
	case errors.Is(err, account.ErrInvalidToken):
		return fail(http.StatusBadRequest, "This link is unknown, already used or expired. Ask for a new one.")
	case errors.Is(err, account.ErrNotFound), errors.Is(err, session.ErrNotFound):
		return errNotFound
	case errors.Is(err, session.ErrNotMember):
		return fail(http.StatusForbidden, "You are not a member of the organization this app signs you in to.")
	case errors.Is(err, session.ErrMFAEnrollmentRequired):
		return fail(http.StatusForbidden, "This organization requires a second factor. Sign in without the app, add one on your account page (an authenticator app, a passkey, email or text-message codes), then try again.")
	case errors.Is(err, session.ErrMFARequired):
		return fail(http.StatusForbidden, "This organization requires a second factor: sign in again with it.")
	case errors.Is(err, session.ErrTooOldForOrg):
		return fail(http.StatusForbidden, "Your sign-in is older than this organization allows: sign in again.")
	}
	return nil
}

func factorMessage(err error) *userError {
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		return fail(http.StatusUnauthorized, "That code is not right, has expired or was already used.")
	case errors.Is(err, mfa.ErrInvalidToken):
		return errExpiredMFA
	case errors.Is(err, mfa.ErrPasswordRequired):
		return fail(http.StatusUnprocessableEntity, "Enter your current password to add your first second factor.")
	case errors.Is(err, mfa.ErrConflict):
		return fail(http.StatusConflict, "This second factor is not in a state that allows this (already on, or not set up).")
	case errors.Is(err, mfa.ErrReauthRequired):
		return fail(http.StatusForbidden, "For your security, changing second factors needs a recent sign-in. Sign out, sign in again, then retry.")
	case errors.Is(err, mfa.ErrStepUpRequired):
		return fail(http.StatusForbidden, "Changing second factors needs a sign-in that used your second factor. Sign out, sign in again with it, then retry.")
	case errors.Is(err, mfa.ErrEmailNotVerified):
		return fail(http.StatusForbidden, "Verify your email address first: follow the link we emailed you.")
	case errors.Is(err, mfa.ErrNotFound):
		return errNotFound
	case errors.Is(err, mfa.ErrSMSUnavailable):
		return fail(http.StatusServiceUnavailable, "Text-message codes are not available on this server.")
	case errors.Is(err, mfa.ErrWebAuthn):
		return fail(http.StatusBadRequest, "The passkey's answer did not verify, or took too long. Try again.")
	}
	return nil
}

func orgMessage(err error) *userError {
	switch {
	case errors.Is(err, org.ErrInvalidInvitation):
		return fail(http.StatusBadRequest, "This invitation is unknown, already used, withdrawn or expired. Ask for a new one.")
	case errors.Is(err, org.ErrEmailMismatch):
		return fail(http.StatusForbidden, "This invitation was sent to another email address, or yours is not verified yet.")
	case errors.Is(err, org.ErrAlreadyMember):
		return fail(http.StatusConflict, "You are already a member of this organization.")
	case errors.Is(err, org.ErrOutOfScope):
		return fail(http.StatusForbidden, "You are signed in for one organization only. Sign out, sign in again, then accept the invitation.")
	}
	return nil
}
