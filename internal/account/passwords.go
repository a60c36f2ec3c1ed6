package account

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// ForgotPassword emails a reset link if the account exists. It answers the same, in the
// same time, whatever the account: the lookup and the sending happen after the answer.
func (s *Service) ForgotPassword(ctx context.Context, ip, email string) error {
	if err := s.checkIPBudget(ctx, ip); err != nil {
		return wrap("forgot password", err)
	}
	s.Deferred.Do(ctx, "password_reset_email", func(ctx context.Context) error {
		return wrap("forgot password", s.sendReset(ctx, NormalizeEmail(email)))
	})
	return nil
}

func (s *Service) sendReset(ctx context.Context, email string) error {
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return nil
	}
	if err != nil {
		return err
	}
	err = s.Store.InTx(ctx, func(q store.Queries) error { return s.IssueReset(ctx, q, u, s.Now()) })
	if err == nil {
		s.Outbox.Wake()
	}
	return err
}

// IssueReset creates a password-reset token for u and queues the email with its link,
// audited, through q (the caller's transaction); the caller wakes the outbox after
// committing.
func (s *Service) IssueReset(ctx context.Context, q store.Queries, u *store.User, now time.Time) error {
	tok, hash := token.NewOpaque()
	if err := q.CreateOneTimeToken(ctx, &store.OneTimeToken{Hash: hash, Kind: store.TokenPasswordReset, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}); err != nil {
		return err
	}
	msg, err := s.Composer.Email(notify.PasswordReset, u.Email, notify.Data{"Name": u.Name, "Link": s.link("/password/reset", tok)})
	if err != nil {
		return err
	}
	if err := notify.Enqueue(ctx, q, msg, now); err != nil {
		return err
	}
	return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserPasswordResetSent, TargetType: "user", TargetID: u.ID, Time: now})
}

// ResetPassword sets a new password with a reset token and ends every session of the
// user. It issues no tokens: the user signs in again (with their second factor). The
// token dies with every other open one-time token of the user, and the notice lists the
// user's second factors, so that one added by someone else is seen.
func (s *Service) ResetPassword(ctx context.Context, ip, tok, newPassword string) error {
	if err := s.checkIPBudget(ctx, ip); err != nil {
		return wrap("reset password", err)
	}
	hash := token.Hash(tok)
	// Check the new password before using the token, so a weak choice does not burn it.
	t, err := s.Store.PeekOneTimeToken(ctx, hash, store.TokenPasswordReset, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return wrap("reset password", err)
	}
	u, err := s.Store.UserByID(ctx, t.UserID)
	if err != nil {
		return wrap("reset password", err)
	}
	if !sameEmail(u.Email, t.Email) || u.Disabled {
		return ErrInvalidToken // a disabled account gets no password set behind its administrator's back
	}
	policy, err := s.policyFor(ctx, u.ID)
	if err != nil {
		return wrap("reset password", err)
	}
	if err := policy.Check(newPassword, localPart(u.Email), s.Product); err != nil {
		return err
	}
	phc, err := s.Hasher.Hash(ctx, password.Normalize(newPassword))
	if err != nil {
		return wrap("reset password", err)
	}
	var revoked []string
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		if _, err := q.ConsumeOneTimeToken(ctx, hash, store.TokenPasswordReset, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrInvalidToken // used or voided meanwhile
			}
			return err
		}
		current, err := q.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		if current.Disabled { // disabled while the new password was being hashed
			return ErrInvalidToken
		}
		if revoked, err = s.setPassword(ctx, q, u, phc, "", session.ReasonPasswordReset, "reset"); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserPasswordReset, ActorID: u.ID, TargetType: "user", TargetID: u.ID, Time: now})
	})
	if err != nil {
		return wrap("reset password", err)
	}
	s.Sessions.Forget(revoked...)
	// A successful reset proves control of the mailbox: lift login throttling.
	_ = s.Limiter.Reset(ctx, accountKey(u.Email))
	s.Outbox.Wake()
	return nil
}

// ChangePassword replaces the password after checking the current one, and ends every
// other session of the user. A wrong current password counts as a failed login.
func (s *Service) ChangePassword(ctx context.Context, userID, sessionID, current, next string) error {
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	// The new password is judged first: refusing a weak one costs no hash.
	policy, err := s.policyFor(ctx, u.ID)
	if err != nil {
		return wrap("change password", err)
	}
	if err := policy.Check(next, localPart(u.Email), s.Product); err != nil {
		return err
	}
	if err := s.spend(ctx, accountKey(u.Email), s.Limits.FailuresPerAccount, s.Limits.Window, "login_account"); err != nil {
		return wrap("change password", err)
	}
	stored, err := s.Store.PasswordHash(ctx, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return wrap("change password", err)
	}
	ok := false
	if stored != "" {
		if ok, _, err = s.Hasher.Verify(ctx, password.Normalize(current), stored); err != nil && !errors.Is(err, password.ErrMalformedHash) {
			return wrap("change password", err)
		}
	}
	if !ok {
		return wrap("change password", s.recordOnly(ctx, audit.Event{Action: audit.UserPasswordChanged, ActorID: u.ID, TargetType: "user", TargetID: u.ID,
			Outcome: audit.Failure, Details: map[string]any{"reason": "wrong_current_password"}}, ErrInvalidCredentials))
	}
	if err := s.Limiter.Reset(ctx, accountKey(u.Email)); err != nil {
		return wrap("change password", err)
	}
	phc, err := s.Hasher.Hash(ctx, password.Normalize(next))
	if err != nil {
		return wrap("change password", err)
	}
	var revoked []string
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if revoked, err = s.setPassword(ctx, q, u, phc, sessionID, session.ReasonPasswordChanged, "changed"); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserPasswordChanged, ActorID: u.ID, TargetType: "user", TargetID: u.ID, Time: s.Now()})
	})
	if err != nil {
		return wrap("change password", err)
	}
	s.Sessions.Forget(revoked...)
	s.Outbox.Wake()
	return nil
}

// setPassword stores a new password hash through q and does what every password change
// must: it ends the user's sessions but keep, voids their open one-time tokens (a reset
// or verification link sent before must not outlive the password), and tells them by
// email, listing their second factors. It returns the sessions ended, for the caller to
// forget once the transaction commits.
func (s *Service) setPassword(ctx context.Context, q store.Queries, u *store.User, phc, keep, reason, action string) ([]string, error) {
	now := s.Now()
	if err := q.SetPasswordHash(ctx, u.ID, phc, now); err != nil {
		return nil, err
	}
	revoked, err := s.Sessions.RevokeAll(ctx, q, u.ID, u.ID, keep, reason)
	if err != nil {
		return nil, err
	}
	if _, err := q.VoidOneTimeTokens(ctx, u.ID, now); err != nil {
		return nil, err
	}
	data := notify.Data{"Name": u.Name, "Action": action}
	if s.SecondFactor != nil {
		factors, err := s.SecondFactor.Describe(ctx, q, u.ID)
		if err != nil {
			return nil, err
		}
		data["Factors"] = factors
	}
	msg, err := s.Composer.Email(notify.PasswordChanged, u.Email, data)
	if err != nil {
		return nil, err
	}
	return revoked, notify.Enqueue(ctx, q, msg, now)
}

// UpdateProfile changes the display name.
func (s *Service) UpdateProfile(ctx context.Context, userID, name string) (*store.User, error) {
	var out *store.User
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		if err := q.UpdateUserName(ctx, userID, name, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		u, err := q.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		out = u
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserUpdated, ActorID: userID, TargetType: "user", TargetID: userID, Time: now,
			Details: map[string]any{"fields": []string{"name"}}})
	})
	if err == nil {
		s.ForgetUser(userID)
	}
	return out, wrap("update profile", err)
}
