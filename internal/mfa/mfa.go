// Package mfa implements second factors: TOTP, backup codes, email and SMS one-time
// codes, and WebAuthn passkeys; and the login step-up, in which a password login that
// needs a second factor gets a short-lived, single-purpose mfa_token instead of tokens.
package mfa

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	// ErrInvalidToken: an mfa_token that is unknown, expired, used up or dead.
	ErrInvalidToken = errors.New("mfa: invalid mfa token")
	// ErrInvalidCode: a wrong, replayed, expired or spent code.
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrConflict: the factor is in the wrong state for the request (already enabled, not enrolled).
	ErrConflict = errors.New("mfa: conflict")
	// ErrStepUpRequired: changing factors of an MFA account needs a session that used one.
	ErrStepUpRequired = errors.New("mfa: sign in with a second factor first")
	// ErrReauthRequired: changing factors needs a session signed in recently.
	ErrReauthRequired = errors.New("mfa: sign in again first")
	// ErrEmailNotVerified: email codes need a verified address.
	ErrEmailNotVerified = errors.New("mfa: email not verified")
	// ErrNotFound: no such credential of this user.
	ErrNotFound = errors.New("mfa: not found")
	// ErrSMSUnavailable: no SMS gateway is configured.
	ErrSMSUnavailable = errors.New("mfa: sms is not configured")
	// ErrWebAuthn: a WebAuthn response that does not verify.
	ErrWebAuthn = errors.New("mfa: webauthn verification failed")
)

// wrap names the operation on an unexpected error (a storage failure, say), so that a
// logged 500 says which step failed. nil and the errors callers act on (this package's,
// and the session's refusals of an organization scope) pass unchanged.
func wrap(op string, err error) error {
	var limited *RateLimited
	switch {
	case err == nil, errors.As(err, &limited), session.IsRefusal(err),
		errors.Is(err, ErrInvalidToken), errors.Is(err, ErrInvalidCode), errors.Is(err, ErrConflict),
		errors.Is(err, ErrStepUpRequired), errors.Is(err, ErrReauthRequired), errors.Is(err, ErrEmailNotVerified),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrSMSUnavailable), errors.Is(err, ErrWebAuthn),
		errors.Is(err, ErrDisabled), errors.Is(err, ErrPasswordRequired):
		return err
	}
	return fmt.Errorf("mfa: %s: %w", op, err)
}

// RateLimited is returned when codes are requested too often.
type RateLimited struct{ RetryAfter time.Duration }

func (e *RateLimited) Error() string { return "mfa: rate limited" }

// Method names, as clients send them.
const (
	MethodTOTP     = "totp"
	MethodBackup   = "backup_code"
	MethodEmail    = "email"
	MethodSMS      = "sms"
	MethodWebAuthn = "webauthn"
)

// Limits of the step-up.
const (
	ChallengeTTL   = 5 * time.Minute
	MaxFailures    = 5 // wrong codes that kill an mfa_token
	CodeTTL        = 10 * time.Minute
	MaxCodeTries   = 5
	CeremonyTTL    = 5 * time.Minute
	sendsPerWindow = 3 // codes sent per challenge (or phone) per window
	sendWindow     = 10 * time.Minute
)

// Service manages second factors.
type Service struct {
	// Audit records security events in the transaction of the change.
	Audit    *audit.Log
	Store    Store
	Box      *secretbox.Box
	Sessions *session.Service
	Composer *notify.Composer
	Outbox   interface{ Wake() }
	Limiter  ratelimit.Limiter
	WebAuthn *webauthn.WebAuthn
	Product  string
	Now      func() time.Time
	// Attempts counts wrong second-factor codes against the account's login throttle
	// (the account package); nil counts nothing.
	Attempts interface {
		// SecondFactorAttempt charges a code (on the login path or an account route)
		// before it is checked, and refuses (a rate-limit error) once the account is
		// throttled.
		SecondFactorAttempt(ctx context.Context, email string) error
		// SecondFactorRight takes back the charge of an account-route code that was right.
		SecondFactorRight(ctx context.Context, email string) error
		SecondFactorPassed(ctx context.Context, email string) error
		// CheckPassword verifies the user's current password, charged against the same
		// throttle: adding the first factor needs it (a stolen access token alone cannot).
		CheckPassword(ctx context.Context, userID, password string) error
	}
	// Budget is the per-IP budget of unauthenticated routes that write (the account
	// package); nil spends nothing.
	Budget interface {
		CheckIPBudget(ctx context.Context, ip string) error
	}
	// UserChanged is told when a user's record changes (MFA turned on or off), so caches
	// of it can drop it.
	UserChanged func(userID string)
	// SMSEnabled is false when no SMS gateway is configured in production: SMS codes
	// would otherwise only reach the log.
	SMSEnabled bool
	// RequireVerifiedEmail refuses passkey logins of accounts whose email is not
	// verified, as password login does (GATEHOUSE_REQUIRE_VERIFIED_EMAIL).
	RequireVerifiedEmail bool
	// ReauthMaxAge: factors change only from a session signed in at most this long ago
	// (a stolen refresh token keeps a session alive, not its sign-in); 0 turns it off.
	ReauthMaxAge time.Duration

	codeKey []byte
}

// Store is what the service uses outside transactions: it reads a user (before a
// change, to check the caller's proof), the factors (Status) and a pending login's
// challenge, and makes every change in a transaction.
type Store interface {
	userReader
	store.MFA
	store.Transactor
}

// userReader loads a user, outside a transaction or inside one.
type userReader interface {
	UserByID(ctx context.Context, id string) (*store.User, error)
}

// tx is what the helpers that check or use a factor inside a transaction touch: the
// factor tables, the outbox (codes and notices) and the audit log.
type tx interface {
	store.MFA
	store.Outbox
	store.Audit
}

// New derives the code-hashing key from the master key and returns the service.
func New(s *Service, masterKey []byte) (*Service, error) {
	key, err := hkdf.Key(sha256.New, masterKey, nil, "gatehouse mfa code hmac", 32)
	if err != nil {
		return nil, err
	}
	s.codeKey = key
	return s, nil
}

// hashCode keys a short code with the server's secret and what it is bound to, so a
// stolen table cannot be brute-forced offline and a code works only where it was sent.
func (s *Service) hashCode(binding, code string) string {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(binding))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// Methods lists the second factors the user can use now, in a stable order.
func (s *Service) Methods(ctx context.Context, q store.Queries, userID string) ([]string, error) {
	var out []string
	if t, err := q.TOTPByUser(ctx, userID); err == nil && t.Confirmed {
		out = append(out, MethodTOTP)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	n, err := q.CountBackupCodes(ctx, userID)
	if err != nil {
		return nil, err
	}
	channels, err := q.Channels(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, c := range channels {
		if c.Confirmed {
			out = append(out, c.Channel) // "email" or "sms"
		}
	}
	creds, err := q.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(creds) > 0 {
		out = append(out, MethodWebAuthn)
	}
	if n > 0 && len(out) > 0 {
		out = append(out, MethodBackup)
	}
	order := []string{MethodTOTP, MethodBackup, MethodEmail, MethodSMS, MethodWebAuthn}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return out, nil
}

// refreshEnabled sets users.mfa_enabled from the factors the user has. The first factor,
// whichever it is, turns MFA on and ends every other session of the user, which did not
// prove a second factor (keep, the session making the change, stays); it returns the
// sessions ended, for the caller to drop from the liveness cache once the transaction
// commits. Removing the last factor turns MFA off.
func (s *Service) refreshEnabled(ctx context.Context, q store.Queries, u *store.User, keep string) (revoked []string, err error) {
	methods, err := s.Methods(ctx, q, u.ID)
	if err != nil {
		return nil, err
	}
	enabled := len(methods) > 0
	if enabled == u.MFAEnabled {
		return nil, nil
	}
	if err := q.SetMFAEnabled(ctx, u.ID, enabled, s.Now()); err != nil {
		return nil, err
	}
	s.userChanged(u.ID)
	if enabled {
		return s.Sessions.RevokeAll(ctx, q, u.ID, u.ID, keep, "mfa_enabled")
	}
	if err := q.ReplaceBackupCodes(ctx, u.ID, nil, s.Now()); err != nil {
		return nil, err
	}
	return nil, s.Audit.Record(ctx, q, audit.Event{Action: audit.MFADisabled, ActorID: u.ID, TargetType: "user", TargetID: u.ID, Time: s.Now()})
}

// spendBudget spends one unit of the client's per-IP budget of unauthenticated writes.
func (s *Service) spendBudget(ctx context.Context, ip string) error {
	if s.Budget == nil {
		return nil
	}
	return s.Budget.CheckIPBudget(ctx, ip)
}

func (s *Service) userChanged(id string) {
	if s.UserChanged != nil {
		s.UserChanged(id)
	}
}

// guessLimited runs check, which verifies a code (or an authenticator's response) the
// user sent on an account route, under the account's login throttle: every attempt is
// charged first and refused once the account is throttled (429), so a session cannot
// guess TOTP codes without end. A wrong answer is audited as a failure of action; the
// throttle bounds how many such rows an attacker can write. A right answer takes back
// only its own charge, never the whole count (only a complete login clears it): a
// session that enrolled its own TOTP could otherwise wipe the count between password
// guesses.
func (s *Service) guessLimited(ctx context.Context, userID string, action audit.Action, check func() error) error {
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if s.Attempts != nil {
		if err := s.Attempts.SecondFactorAttempt(ctx, u.Email); err != nil {
			return err
		}
	}
	err = check()
	if errors.Is(err, ErrInvalidCode) || errors.Is(err, ErrWebAuthn) {
		reason := "wrong_code"
		if errors.Is(err, ErrWebAuthn) {
			reason = "invalid_response"
		}
		if aerr := s.inTx(ctx, func(q store.Queries) error {
			return s.Audit.Record(ctx, q, audit.Event{Action: action, ActorID: u.ID, TargetType: "user", TargetID: u.ID,
				Outcome: audit.Failure, Time: s.Now(), Details: map[string]any{"reason": reason}})
		}); aerr != nil {
			return aerr
		}
		return err
	}
	if err != nil || s.Attempts == nil {
		return err
	}
	return s.Attempts.SecondFactorRight(ctx, u.Email)
}

// ErrPasswordRequired: adding the first second factor needs the current password.
var ErrPasswordRequired = errors.New("mfa: the current password is required to add the first second factor")

// proveFirstFactor checks the session's proof before a factor is added (stepUp: a
// recent sign-in, with the second factor once there is one), and asks for the current
// password when the user has no second factor yet: within ReauthMaxAge of the victim's
// sign-in, a stolen access token could otherwise enroll the attacker's factor, which ends
// every other session and survives a password reset. The cheap checks come first; the
// change's transaction checks stepUp again on current data.
func (s *Service) proveFirstFactor(ctx context.Context, userID string, p Proof) error {
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.stepUp(u, p); err != nil {
		return err
	}
	if u.MFAEnabled {
		return nil
	}
	if p.Password == "" {
		return ErrPasswordRequired
	}
	if s.Attempts == nil {
		return errors.New("mfa: no password checker configured")
	}
	return s.Attempts.CheckPassword(ctx, userID, p.Password)
}

// Proof is what the caller's session shows of how, and when, its user signed in, and
// the current password when the request carries one.
type Proof struct {
	AMR        []string
	SignedInAt time.Time
	Password   string
}

// stepUp refuses factor changes from a session that did not use the user's second factor
// (when there is one), or that signed in longer ago than ReauthMaxAge.
func (s *Service) stepUp(u *store.User, p Proof) error {
	if u.MFAEnabled && !slices.Contains(p.AMR, "mfa") {
		return ErrStepUpRequired
	}
	if s.ReauthMaxAge > 0 && s.Now().Sub(p.SignedInAt) > s.ReauthMaxAge {
		return ErrReauthRequired
	}
	return nil
}

// factorChanged records a change to the user's factors, tells them by email, and turns
// MFA on or off to match what is left (see refreshEnabled: keep is the session making
// the change; the sessions ended are returned).
func (s *Service) factorChanged(ctx context.Context, q store.Queries, u *store.User, keep string, action audit.Action, details map[string]any, change string) ([]string, error) {
	if err := s.record(ctx, q, u, action, details); err != nil {
		return nil, err
	}
	if err := s.notifyChange(ctx, q, u, change); err != nil {
		return nil, err
	}
	return s.refreshEnabled(ctx, q, u, keep)
}

// inTx runs fn in a transaction and, when it commits, wakes the outbox sender for the
// messages fn queued.
func (s *Service) inTx(ctx context.Context, fn func(q store.Queries) error) error {
	err := s.Store.InTx(ctx, fn)
	if err == nil {
		s.Outbox.Wake()
	}
	return err
}

// changeFactors runs fn, a change to the user's factors, in a transaction. Once it
// commits, the sessions fn ended (MFA turned on) leave the liveness cache, and the
// outbox sender wakes for the notices fn queued.
func (s *Service) changeFactors(ctx context.Context, fn func(q store.Queries) (revoked []string, err error)) error {
	var revoked []string
	err := s.Store.InTx(ctx, func(q store.Queries) (err error) {
		revoked, err = fn(q)
		return err
	})
	if err != nil {
		return err
	}
	s.Sessions.Forget(revoked...)
	s.Outbox.Wake()
	return nil
}

// notifyChange emails the user about a change to their factors.
func (s *Service) notifyChange(ctx context.Context, q store.Outbox, u *store.User, change string) error {
	msg, err := s.Composer.Email(notify.FactorChanged, u.Email, notify.Data{"Name": u.Name, "Change": change})
	if err != nil {
		return err
	}
	return notify.Enqueue(ctx, q, msg, s.Now())
}

// record writes an audit event about the user's own factors.
func (s *Service) record(ctx context.Context, q store.Audit, u *store.User, action audit.Action, details map[string]any) error {
	return s.Audit.Record(ctx, q, audit.Event{Action: action, ActorID: u.ID, TargetType: "user", TargetID: u.ID, Time: s.Now(), Details: details})
}

// user loads a user through q.
func user(ctx context.Context, q userReader, id string) (*store.User, error) {
	return q.UserByID(ctx, id)
}
