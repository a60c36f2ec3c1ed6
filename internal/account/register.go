package account

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// Register creates an account and emails a verification link.
func (s *Service) Register(ctx context.Context, ip, email, pw, name string) (*store.User, error) {
	email = NormalizeEmail(email)
	if err := s.checkIPBudget(ctx, ip); err != nil {
		return nil, wrap("register", err)
	}
	if err := s.Policy.Check(pw, localPart(email), s.Product); err != nil {
		return nil, err
	}
	// Fail fast on a taken address before spending a hash; the insert below still
	// catches a race.
	if _, err := s.Store.UserByEmail(ctx, email); err == nil {
		return nil, ErrEmailTaken
	}
	hash, err := s.Hasher.Hash(ctx, password.Normalize(pw))
	if err != nil {
		return nil, wrap("register", err)
	}
	now := s.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, Name: name, CreatedAt: now, UpdatedAt: now}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrEmailTaken
			}
			return err
		}
		if err := q.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, q, audit.Event{Action: audit.UserRegistered, ActorID: u.ID, TargetType: "user", TargetID: u.ID, Time: now}); err != nil {
			return err
		}
		return s.sendVerification(ctx, q, u)
	})
	if err != nil {
		return nil, wrap("register", err)
	}
	s.Outbox.Wake()
	return u, nil
}

// sendVerification stores a new verification token (voiding older ones) and queues the email.
func (s *Service) sendVerification(ctx context.Context, q mailTx, u *store.User) error {
	now := s.Now()
	tok, hash := token.NewOpaque()
	if err := q.CreateOneTimeToken(ctx, &store.OneTimeToken{Hash: hash, Kind: store.TokenVerifyEmail, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(VerifyTTL)}); err != nil {
		return err
	}
	msg, err := s.Composer.Email(notify.VerifyEmail, u.Email, notify.Data{"Name": u.Name, "Link": s.link("/verify-email", tok)})
	if err != nil {
		return err
	}
	return notify.Enqueue(ctx, q, msg, now)
}

func (s *Service) link(path, tok string) string { return notify.Link(s.LinkBase, path, tok) }

// VerifyEmail uses a verification token. The token is bound to the address it was sent
// to: if the account's email changed since, it no longer verifies anything.
func (s *Service) VerifyEmail(ctx context.Context, ip, tok string) (*store.User, error) {
	if err := s.checkIPBudget(ctx, ip); err != nil {
		return nil, wrap("verify email", err)
	}
	var user *store.User
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		t, err := q.ConsumeOneTimeToken(ctx, token.Hash(tok), store.TokenVerifyEmail, now)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		u, err := q.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		if !sameEmail(u.Email, t.Email) {
			return ErrInvalidToken
		}
		if err := q.SetEmailVerified(ctx, u.ID, now); err != nil {
			return err
		}
		u.EmailVerified = true
		user = u
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserEmailVerified, ActorID: u.ID, TargetType: "user", TargetID: u.ID, Time: now})
	})
	if err == nil {
		s.ForgetUser(user.ID) // after the commit, so nobody re-caches the old row
	}
	return user, wrap("verify email", err)
}

// ResendVerification emails a new link if the account exists and is unverified. It
// answers the same, in the same time, whatever the account: the work happens after the
// answer.
func (s *Service) ResendVerification(ctx context.Context, ip, email string) error {
	if err := s.checkIPBudget(ctx, ip); err != nil {
		return wrap("resend verification", err)
	}
	s.Deferred.Do(ctx, "verification_email", func(ctx context.Context) error {
		return wrap("resend verification", s.resend(ctx, NormalizeEmail(email)))
	})
	return nil
}

func (s *Service) resend(ctx context.Context, email string) error {
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.EmailVerified || u.Disabled)) {
		return nil
	}
	if err != nil {
		return err
	}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.sendVerification(ctx, q, u); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.VerificationSent, TargetType: "user", TargetID: u.ID, Time: s.Now()})
	})
	if err == nil {
		s.Outbox.Wake()
	}
	return err
}
