package account

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// LoginInput is a password login.
type LoginInput struct {
	Email    string
	Password string
	OrgID    string
	Device   session.Device
}

func sameEmail(a, b string) bool { return strings.EqualFold(a, b) }

func accountKey(email string) string {
	return "loginfail:acct:" + strings.ToLower(NormalizeEmail(email))
}
func (s *Service) ipKey(ip string) string { return "loginfail:ip:" + s.Limits.clientKey(ip) }

// LoginResult is either tokens, or a pending second-factor step (MFA).
type LoginResult struct {
	Tokens *session.Tokens
	MFA    *mfa.Pending
}

// Login checks a password and starts a session, or, for a user with a second factor,
// a pending step-up whose mfa_token only /v1/auth/mfa/* accept.
//
// Throttling: the account's counter is charged before the password is checked, so
// concurrent guesses cannot slip past it, and a success resets it; while the account is
// throttled even the right password is refused. The IP's counter counts failures only.
// An unknown email costs one hash, like a wrong password, and gets the same error.
func (s *Service) Login(ctx context.Context, in LoginInput) (*LoginResult, error) {
	email := NormalizeEmail(in.Email)
	ip := in.Device.IP
	if r, err := s.Limiter.Peek(ctx, s.ipKey(ip), s.Limits.FailuresPerIP, s.Limits.Window); err != nil {
		return nil, wrap("login", err)
	} else if !r.Allowed {
		return nil, wrap("login", s.throttle(ctx, "", "ip", r.RetryAfter, false))
	}
	acct, err := s.Limiter.Hit(ctx, accountKey(email), s.Limits.FailuresPerAccount, s.Limits.Window)
	if err != nil {
		return nil, wrap("login", err)
	}
	u, lookupErr := s.Store.UserByEmail(ctx, email)
	if lookupErr != nil && !errors.Is(lookupErr, store.ErrNotFound) {
		return nil, wrap("login", lookupErr)
	}
	if !acct.Allowed {
		userID := ""
		if u != nil {
			userID = u.ID
		}
		return nil, wrap("login", s.throttle(ctx, userID, "account", acct.RetryAfter, acct.Count == s.Limits.FailuresPerAccount+1))
	}
	if u == nil {
		if err := s.Hasher.VerifyDummy(ctx, password.Normalize(in.Password)); err != nil {
			return nil, wrap("login", err)
		}
		return nil, wrap("login", s.fail(ctx, ip, "", "unknown_account"))
	}
	stored, err := s.Store.PasswordHash(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) { // an account without a password (passkey only)
		if err := s.Hasher.VerifyDummy(ctx, password.Normalize(in.Password)); err != nil {
			return nil, wrap("login", err)
		}
		return nil, wrap("login", s.fail(ctx, ip, u.ID, "no_password"))
	}
	if err != nil {
		return nil, wrap("login", err)
	}
	pw := password.Normalize(in.Password)
	ok, rehash, err := s.Hasher.Verify(ctx, pw, stored)
	if err != nil && !errors.Is(err, password.ErrMalformedHash) {
		return nil, wrap("login", err)
	}
	if !ok {
		return nil, wrap("login", s.fail(ctx, ip, u.ID, "wrong_password"))
	}
	// The password is right: from here on, answers may depend on the account.
	if u.Disabled {
		s.logins.WithLabelValues("disabled").Inc()
		return nil, wrap("login", s.recordOnly(ctx, audit.Event{Action: audit.UserLoginFailed, TargetType: "user", TargetID: u.ID,
			Outcome: audit.Failure, Details: map[string]any{"reason": "disabled"}}, ErrDisabled))
	}
	if s.RequireVerifiedEmail && !u.EmailVerified {
		return nil, wrap("login", s.recordOnly(ctx, audit.Event{Action: audit.UserLoginFailed, TargetType: "user", TargetID: u.ID,
			Outcome: audit.Failure, Details: map[string]any{"reason": "email_not_verified"}}, ErrEmailNotVerified))
	}
	var upgraded string
	if rehash {
		if upgraded, err = s.Hasher.Hash(ctx, pw); err != nil {
			return nil, wrap("login", err)
		}
	}
	var res LoginResult
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		if upgraded != "" {
			if err := q.SetPasswordHash(ctx, u.ID, upgraded, now); err != nil {
				return err
			}
			if err := s.Audit.Record(ctx, q, audit.Event{Action: audit.UserPasswordUpgraded, ActorID: u.ID, TargetType: "user", TargetID: u.ID, Time: now}); err != nil {
				return err
			}
		}
		if u.MFAEnabled && s.SecondFactor != nil {
			res.MFA, err = s.SecondFactor.Begin(ctx, q, u, in.OrgID, []string{"pwd"}, in.Device)
			if err != nil || res.MFA != nil {
				return err
			}
		}
		if err := q.SetLastLogin(ctx, u.ID, now); err != nil {
			return err
		}
		res.Tokens, err = s.Sessions.Start(ctx, q, u.ID, []string{"pwd"}, in.OrgID, in.Device)
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserLoginSucceeded, ActorID: u.ID, TargetType: "session",
			TargetID: res.Tokens.SessionID, Time: now, Details: map[string]any{"amr": []string{"pwd"}}})
	})
	if session.IsRefusal(err) { // right password, but the requested organization refused the scope
		// Filed under the org only for its members (refused by its policy): a stranger
		// naming the org writes nothing into its log.
		orgID, mErr := audit.MemberOrg(ctx, s.Store, in.OrgID, u.ID)
		if mErr != nil {
			return nil, wrap("login", mErr)
		}
		return nil, wrap("login", s.recordOnly(ctx, audit.Event{Action: audit.UserLoginFailed, TargetType: "user", TargetID: u.ID,
			Outcome: audit.Failure, OrgID: orgID, Details: map[string]any{"reason": "org_scope_refused"}}, err))
	}
	if err != nil {
		return nil, wrap("login", err)
	}
	if res.MFA != nil {
		// The count is cleared only when the second factor is right too.
		s.logins.WithLabelValues("mfa_required").Inc()
		return &res, nil
	}
	if err := s.Limiter.Reset(ctx, accountKey(email)); err != nil {
		return nil, wrap("login", err)
	}
	s.logins.WithLabelValues("succeeded").Inc()
	return &res, nil
}

// SecondFactorAttempt charges a second-factor code against the account's login throttle
// before it is checked, on the login path (a wrong code counts like a wrong password,
// however many mfa_tokens the guesser opens) and on account routes (a current TOTP code
// that allows changing the factor), so that concurrent guesses cannot slip past; once the
// limit is reached it refuses with *RateLimited.
func (s *Service) SecondFactorAttempt(ctx context.Context, email string) error {
	return wrap("second factor attempt", s.spend(ctx, accountKey(email), s.Limits.FailuresPerAccount, s.Limits.Window, "login_account"))
}

// SecondFactorRight takes back the charge of a code on an account route that proved
// right; the rest of the count stays (only a complete login clears it).
func (s *Service) SecondFactorRight(ctx context.Context, email string) error {
	return wrap("second factor right", s.Limiter.Refund(ctx, accountKey(email)))
}

// SecondFactorPassed clears the account's failure count after a complete login.
func (s *Service) SecondFactorPassed(ctx context.Context, email string) error {
	return wrap("second factor passed", s.Limiter.Reset(ctx, accountKey(email)))
}

// fail records a failed attempt against the client IP and in the audit log.
func (s *Service) fail(ctx context.Context, ip, userID, reason string) error {
	s.logins.WithLabelValues("failed").Inc()
	if _, err := s.Limiter.Hit(ctx, s.ipKey(ip), s.Limits.FailuresPerIP, s.Limits.Window); err != nil {
		return err
	}
	return s.recordOnly(ctx, audit.Event{Action: audit.UserLoginFailed, TargetType: "user", TargetID: userID,
		Outcome: audit.Failure, Details: map[string]any{"reason": reason}}, ErrInvalidCredentials)
}

// throttle records a refused attempt; locked marks the attempt that first crossed the
// account's limit.
func (s *Service) throttle(ctx context.Context, userID, limit string, retry time.Duration, locked bool) error {
	s.logins.WithLabelValues("throttled").Inc()
	s.throttled.WithLabelValues("login_" + limit).Inc()
	rl := &RateLimited{RetryAfter: retry}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		if locked && userID != "" {
			if err := s.Audit.Record(ctx, q, audit.Event{Action: audit.UserLocked, TargetType: "user", TargetID: userID, Time: now,
				Outcome: audit.Failure, Details: map[string]any{"retry_after_seconds": int(rl.RetryAfter.Seconds())}}); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserLoginThrottled, TargetType: "user", TargetID: userID, Time: now,
			Outcome: audit.Failure, Details: map[string]any{"limit": limit}})
	})
	if err != nil {
		return err
	}
	return rl
}

// recordOnly writes one audit event and returns result.
func (s *Service) recordOnly(ctx context.Context, e audit.Event, result error) error {
	e.Time = s.Now()
	if err := s.Store.InTx(ctx, func(q store.Queries) error { return s.Audit.Record(ctx, q, e) }); err != nil {
		return err
	}
	return result
}

// CheckPassword verifies a signed-in user's current password where a change needs it
// (adding the first second factor: a stolen access token alone must not lock its owner
// out). It is charged against the account's login throttle before any hash is computed
// (429 once throttled); a right password takes back its charge, a wrong one is audited
// and answers ErrInvalidCredentials.
func (s *Service) CheckPassword(ctx context.Context, userID, pw string) error {
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return wrap("check password", err)
	}
	if err := s.spend(ctx, accountKey(u.Email), s.Limits.FailuresPerAccount, s.Limits.Window, "login_account"); err != nil {
		return wrap("check password", err)
	}
	ok := false
	stored, err := s.Store.PasswordHash(ctx, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound): // no password to prove: costs a hash all the same
		if err := s.Hasher.VerifyDummy(ctx, password.Normalize(pw)); err != nil {
			return wrap("check password", err)
		}
	case err != nil:
		return wrap("check password", err)
	default:
		if ok, _, err = s.Hasher.Verify(ctx, password.Normalize(pw), stored); err != nil && !errors.Is(err, password.ErrMalformedHash) {
			return wrap("check password", err)
		}
	}
	if !ok {
		return wrap("check password", s.recordOnly(ctx, audit.Event{Action: audit.UserReauthFailed, ActorID: u.ID, TargetType: "user", TargetID: u.ID,
			Outcome: audit.Failure, Details: map[string]any{"reason": "wrong_current_password"}}, ErrInvalidCredentials))
	}
	return wrap("check password", s.Limiter.Refund(ctx, accountKey(u.Email)))
}

// Unlock clears the account's sign-in throttling (an administrator's action; the
// per-IP counts stay: they are not the account's).
func (s *Service) Unlock(ctx context.Context, email string) error {
	return wrap("unlock", s.Limiter.Reset(ctx, accountKey(email)))
}

// LockedUntil returns when the account's sign-in throttling ends, or nil when it is
// not throttled.
func (s *Service) LockedUntil(ctx context.Context, email string) (*time.Time, error) {
	r, err := s.Limiter.Peek(ctx, accountKey(email), s.Limits.FailuresPerAccount, s.Limits.Window)
	if err != nil {
		return nil, wrap("locked until", err)
	}
	if r.Allowed {
		return nil, nil
	}
	t := s.Now().Add(r.RetryAfter).UTC()
	return &t, nil
}
