package problem

import (
	"net/http"
	"time"
)

// Constructors for the codes API.md fixes. Details are constants or built from the
// caller's own input: never from internal errors.

func BadRequest(detail string) *Problem { return New(http.StatusBadRequest, "bad_request", detail) }

// Validation reports invalid fields (422 validation_failed).
func Validation(errs ...FieldError) *Problem {
	p := New(http.StatusUnprocessableEntity, "validation_failed", "The request has invalid fields.")
	p.Errors = errs
	return p
}

func WeakPassword(reason string) *Problem {
	p := New(http.StatusUnprocessableEntity, "weak_password", reason)
	p.Errors = []FieldError{{Field: "password", Message: reason}}
	return p
}

func Unauthorized(detail string) *Problem {
	return New(http.StatusUnauthorized, "unauthorized", detail)
}

func InvalidCredentials() *Problem {
	return New(http.StatusUnauthorized, "invalid_credentials", "The email or password is incorrect.")
}

func InvalidCode() *Problem {
	return New(http.StatusUnauthorized, "invalid_code", "The code is incorrect, expired or already used.")
}

func InvalidToken(status int, detail string) *Problem {
	return New(status, "invalid_token", detail)
}

func RefreshTokenReused() *Problem {
	return New(http.StatusUnauthorized, "refresh_token_reused", "This refresh token was already used; the session has been revoked.")
}

func Forbidden(detail string) *Problem { return New(http.StatusForbidden, "forbidden", detail) }

func AccountDisabled() *Problem {
	return New(http.StatusForbidden, "account_disabled", "This account is disabled.")
}

func EmailNotVerified() *Problem {
	return New(http.StatusForbidden, "email_not_verified", "Verify your email address before signing in.")
}

func NotFound() *Problem {
	return New(http.StatusNotFound, "not_found", "The resource does not exist.")
}

func Conflict(detail string) *Problem { return New(http.StatusConflict, "conflict", detail) }

func EmailTaken() *Problem {
	return New(http.StatusConflict, "email_taken", "An account with this email already exists.")
}

func PayloadTooLarge() *Problem {
	return New(http.StatusRequestEntityTooLarge, "payload_too_large", "The request body is larger than 1 MiB.")
}

func RateLimited(retryAfter time.Duration) *Problem {
	p := New(http.StatusTooManyRequests, "rate_limited", "Too many attempts; try again later.")
	if retryAfter < time.Second {
		retryAfter = time.Second
	}
	p.RetryAfter = retryAfter
	return p
}

func Unavailable(detail string) *Problem {
	return New(http.StatusServiceUnavailable, "unavailable", detail)
}

func Internal() *Problem {
	return New(http.StatusInternalServerError, "internal", "An internal error occurred.")
}

func MethodNotAllowed() *Problem {
	return New(http.StatusMethodNotAllowed, "method_not_allowed", "This method is not allowed on this resource.")
}
