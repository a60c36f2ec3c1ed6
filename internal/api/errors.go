package api

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/clients"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/org"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// domainError maps the errors domain services return to problems. Anything not listed
// passes through and becomes a logged 500.
func domainError(err error) error {
	var weak *password.Weak
	var limited *account.RateLimited
	switch {
	case err == nil:
		return nil
	case errors.As(err, &weak):
		return problem.WeakPassword(weak.Reason)
	case errors.As(err, &limited):
		return problem.RateLimited(limited.RetryAfter)
	case errors.Is(err, password.ErrBusy):
		p := problem.Unavailable("The service is busy; try again shortly.")
		p.RetryAfter = 2e9
		return p
	case errors.Is(err, account.ErrEmailTaken):
		return problem.EmailTaken()
	case errors.Is(err, account.ErrInvalidCredentials):
		return problem.InvalidCredentials()
	case errors.Is(err, account.ErrDisabled):
		return problem.AccountDisabled()
	case errors.Is(err, account.ErrEmailNotVerified):
		return problem.EmailNotVerified()
	case errors.Is(err, account.ErrInvalidToken):
		return problem.InvalidToken(http.StatusBadRequest, "The token is unknown, already used or expired.")
	case errors.Is(err, account.ErrNotFound), errors.Is(err, session.ErrNotFound):
		return problem.NotFound()
	case errors.Is(err, session.ErrReused):
		return problem.RefreshTokenReused()
	case errors.Is(err, session.ErrInvalidToken):
		return problem.InvalidToken(http.StatusUnauthorized, "The refresh token is unknown, expired or revoked.")
	case errors.Is(err, session.ErrNotMember):
		return problem.Forbidden("You are not a member of this organization.")
	case errors.Is(err, session.ErrMFAEnrollmentRequired):
		return problem.New(http.StatusForbidden, "mfa_enrollment_required",
			"This organization requires a second factor: enroll one (TOTP, passkey, email or SMS codes) first.")
	case errors.Is(err, session.ErrTooOldForOrg):
		return problem.Forbidden("This session began longer ago than the organization allows: sign in again with its org_id.")
	case errors.Is(err, session.ErrMFARequired):
		return problem.Forbidden("This organization requires a second factor: sign in again with it.")
	}
	var mfaLimited *mfa.RateLimited
	switch {
	case errors.As(err, &mfaLimited):
		return problem.RateLimited(mfaLimited.RetryAfter)
	case errors.Is(err, mfa.ErrPasswordRequired):
		return problem.Validation(problem.FieldError{Field: "current_password", Message: "is required to add the first second factor"})
	case errors.Is(err, mfa.ErrInvalidToken):
		return problem.InvalidToken(http.StatusUnauthorized, "The mfa_token is unknown, expired or used up: sign in again.")
	case errors.Is(err, mfa.ErrInvalidCode):
		return problem.InvalidCode()
	case errors.Is(err, mfa.ErrConflict):
		return problem.Conflict("The second factor is not in a state that allows this (already on, or not set up).")
	case errors.Is(err, mfa.ErrReauthRequired):
		return problem.Forbidden("Changing second factors needs a recent sign-in: sign in again, then retry.")
	case errors.Is(err, mfa.ErrStepUpRequired):
		return problem.Forbidden("Changing second factors needs a session signed in with one: sign in again with your second factor.")
	case errors.Is(err, mfa.ErrEmailNotVerified):
		return problem.EmailNotVerified()
	case errors.Is(err, mfa.ErrNotFound):
		return problem.NotFound()
	case errors.Is(err, mfa.ErrWebAuthn):
		return problem.BadRequest("The authenticator's response did not verify, or the challenge is unknown, used or expired.")
	case errors.Is(err, mfa.ErrSMSUnavailable):
		return problem.Unavailable("Text-message codes are not available on this server.")
	case errors.Is(err, mfa.ErrDisabled):
		return problem.AccountDisabled()
	}
	var invalid clients.Invalid
	switch {
	case errors.As(err, &invalid):
		fields := make([]problem.FieldError, len(invalid))
		for i, f := range invalid {
			fields[i] = problem.FieldError{Field: f.Field, Message: f.Message}
		}
		return problem.Validation(fields...)
	case errors.Is(err, clients.ErrNotFound):
		return problem.NotFound()
	case errors.Is(err, clients.ErrPublic):
		return problem.Conflict("A public client (token_endpoint_auth_method none) has no secret.")
	}
	var field *org.FieldError
	switch {
	case errors.As(err, &field):
		return problem.Validation(problem.FieldError{Field: field.Field, Message: field.Message})
	case errors.Is(err, org.ErrOutOfScope):
		return problem.Forbidden("This token is scoped to another organization: it acts in that organization only. Refresh without org_id, or with this one, for a token that may do this.")
	case errors.Is(err, org.ErrNotFound):
		return problem.NotFound()
	case errors.Is(err, org.ErrForbidden):
		return problem.Forbidden("You lack the permission for this, or it would grant more than you hold.")
	case errors.Is(err, org.ErrSlugTaken):
		return problem.Conflict("An organization with this slug already exists.")
	case errors.Is(err, org.ErrBuiltinRole):
		return problem.Conflict("Built-in roles cannot be changed or deleted.")
	case errors.Is(err, org.ErrRoleInUse):
		return problem.Conflict("Members still hold this role: give them other roles first.")
	case errors.Is(err, org.ErrLastOwner):
		return problem.New(http.StatusConflict, "last_owner", "The organization must keep at least one owner.")
	case errors.Is(err, org.ErrAlreadyMember):
		return problem.Conflict("You are already a member of this organization.")
	case errors.Is(err, org.ErrInvalidInvitation):
		return problem.InvalidToken(http.StatusBadRequest, "The invitation is unknown, already used, revoked or expired.")
	case errors.Is(err, org.ErrEmailMismatch):
		return problem.Forbidden("This invitation was sent to another email address, or yours is not verified yet.")
	}
	return err
}

// forField names the request's own field in a weak_password problem (whose default is
// "password").
func forField(err error, field string) error {
	var p *problem.Problem
	if errors.As(err, &p) && p.Code == "weak_password" {
		for i := range p.Errors {
			p.Errors[i].Field = field
		}
	}
	return err
}
