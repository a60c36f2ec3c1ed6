package mfa

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// Pending is a login waiting for its second factor.
type Pending struct {
	Token     string
	Methods   []string
	ExpiresIn int
}

// Begin starts the step-up for a user who passed firstFactor (amr): it stores a
// challenge through q (the login's transaction) and returns the mfa_token. It returns
// nil when the user has no usable second factor.
func (s *Service) Begin(ctx context.Context, q store.Queries, u *store.User, orgID string, amr []string, dev session.Device) (*Pending, error) {
	methods, err := s.Methods(ctx, q, u.ID)
	if err != nil || len(methods) == 0 {
		return nil, err
	}
	now := s.Now()
	tok, hash := token.NewOpaque()
	ch := &store.MFAChallenge{ID: uuid.Must(uuid.NewV7()).String(), TokenHash: hash, UserID: u.ID, OrgID: orgID, AMR: amr,
		IP: dev.IP, UserAgent: dev.UserAgent, CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL)}
	if err := q.CreateChallenge(ctx, ch); err != nil {
		return nil, err
	}
	logOrg, err := audit.MemberOrg(ctx, q, orgID, u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.Audit.Record(ctx, q, audit.Event{Action: audit.MFAChallenged, TargetType: "user", TargetID: u.ID, OrgID: logOrg, Time: now,
		Details: map[string]any{"methods": methods}}); err != nil {
		return nil, err
	}
	return &Pending{Token: tok, Methods: methods, ExpiresIn: int(ChallengeTTL.Seconds())}, nil
}

// challenge finds a live challenge by its mfa_token.
func (s *Service) challenge(ctx context.Context, q store.MFA, mfaToken string) (*store.MFAChallenge, error) {
	ch, err := q.ChallengeByHash(ctx, token.Hash(mfaToken))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if ch.UsedAt != nil || !s.Now().Before(ch.ExpiresAt) {
		return nil, ErrInvalidToken
	}
	return ch, nil
}

// pendingUser loads the user of a pending login, refusing a disabled account: disabling
// ends pending logins, and this holds even for one that outlived it.
func pendingUser(ctx context.Context, q userReader, ch *store.MFAChallenge) (*store.User, error) {
	u, err := user(ctx, q, ch.UserID)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrDisabled
	}
	return u, nil
}

// amrFor is what a method adds to the session's amr.
func amrFor(method string) string {
	switch method {
	case MethodSMS:
		return "sms"
	case MethodWebAuthn:
		return "hwk"
	default:
		return "otp" // TOTP, backup and email codes
	}
}

// Verify checks a code for the challenge and, when it is right, starts the session. A
// wrong code counts against the challenge; the fifth kills it.
func (s *Service) Verify(ctx context.Context, mfaToken, method, code string, dev session.Device) (*session.Tokens, error) {
	tokens, err := s.complete(ctx, mfaToken, method, dev, func(q store.Queries, u *store.User, ch *store.MFAChallenge) (bool, error) {
		methods, err := s.Methods(ctx, q, u.ID)
		if err != nil || !slices.Contains(methods, method) || method == MethodWebAuthn {
			return false, err
		}
		return s.checkCode(ctx, q, u, ch, method, code)
	})
	if err != nil {
		return nil, wrap("verify", err)
	}
	return tokens, nil
}

// complete runs one second-factor attempt for a pending login. The attempt is charged
// first against the account's login throttle (a wrong code counts like a wrong password,
// so fresh mfa_tokens do not give fresh guesses; 429 once it is reached), then counted
// against the challenge inside the transaction that checks the code, atomically, so
// concurrent guesses on one mfa_token never exceed MaxFailures. A wrong answer is
// committed with its audit event; the last one allowed ends the challenge; a right one
// starts the session and clears the account's count.
func (s *Service) complete(ctx context.Context, mfaToken, method string, dev session.Device,
	check func(q store.Queries, u *store.User, ch *store.MFAChallenge) (bool, error)) (*session.Tokens, error) {
	ch, err := s.challenge(ctx, s.Store, mfaToken)
	if err != nil {
		return nil, err
	}
	u, err := pendingUser(ctx, s.Store, ch)
	if err != nil {
		return nil, err
	}
	if s.Attempts != nil {
		if err := s.Attempts.SecondFactorAttempt(ctx, u.Email); err != nil {
			return nil, err
		}
	}
	var tokens *session.Tokens
	var wrong bool
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		wrong = false
		now := s.Now()
		n, err := q.CountChallengeAttempt(ctx, ch.ID, MaxFailures, now)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidToken // used, expired, or out of attempts
		}
		if err != nil {
			return err
		}
		u, err := pendingUser(ctx, q, ch)
		if err != nil {
			return err
		}
		ok, err := check(q, u, ch)
		if err != nil {
			return err
		}
		if ok {
			tokens, err = s.finish(ctx, q, u, ch, method, dev)
			return err
		}
		wrong = true
		if n >= MaxFailures {
			if err := q.UseChallenge(ctx, ch.ID, now); err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
		logOrg, err := audit.MemberOrg(ctx, q, ch.OrgID, u.ID)
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.MFAFailed, TargetType: "user", TargetID: u.ID, OrgID: logOrg,
			Outcome: audit.Failure, Time: now, Details: map[string]any{"method": method, "failures": n}})
	})
	if err != nil {
		return nil, err
	}
	if wrong {
		return nil, ErrInvalidCode
	}
	if s.Attempts != nil {
		if err := s.Attempts.SecondFactorPassed(ctx, u.Email); err != nil {
			return nil, err
		}
	}
	s.Outbox.Wake()
	return tokens, nil
}

// finish ends the challenge and starts the session with both factors in its amr.
func (s *Service) finish(ctx context.Context, q store.Queries, u *store.User, ch *store.MFAChallenge, method string, dev session.Device) (*session.Tokens, error) {
	if err := q.UseChallenge(ctx, ch.ID, s.Now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, ErrInvalidToken
		}
		return nil, err
	}
	amr := append(append([]string{}, ch.AMR...), amrFor(method), "mfa")
	tokens, err := s.Sessions.Start(ctx, q, u.ID, amr, ch.OrgID, dev)
	if err != nil {
		return nil, err
	}
	if err := q.SetLastLogin(ctx, u.ID, s.Now()); err != nil {
		return nil, err
	}
	return tokens, s.Audit.Record(ctx, q, audit.Event{Action: audit.UserLoginSucceeded, ActorID: u.ID, OrgID: ch.OrgID, TargetType: "session",
		TargetID: tokens.SessionID, Time: s.Now(), Details: map[string]any{"amr": amr}})
}

// checkCode verifies a TOTP, backup, email or SMS code for the challenge, spending it.
func (s *Service) checkCode(ctx context.Context, q tx, u *store.User, ch *store.MFAChallenge, method, code string) (bool, error) {
	switch method {
	case MethodTOTP:
		return s.useTOTP(ctx, q, u.ID, code)
	case MethodBackup:
		return s.useBackupCode(ctx, q, u, code)
	case MethodEmail, MethodSMS:
		return s.useCode(ctx, q, u.ID, "login", method, ch.ID, code)
	}
	return false, nil
}
