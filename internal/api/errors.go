package api

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/account"
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
	}
	return err
}
