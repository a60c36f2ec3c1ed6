// Package account implements the account flows: registration, email verification,
// login with throttling, password change and reset, and the profile. It knows nothing of
// HTTP; the api package maps its errors to problems.
package account

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	ErrEmailTaken         = errors.New("account: email taken")
	ErrInvalidCredentials = errors.New("account: invalid credentials")
	ErrDisabled           = errors.New("account: disabled")
	ErrEmailNotVerified   = errors.New("account: email not verified")
	// ErrInvalidToken: a verification or reset token that is unknown, used, voided or expired.
	ErrInvalidToken = errors.New("account: invalid or expired token")
	ErrNotFound     = errors.New("account: not found")
)

// wrap names the operation on an unexpected error (a storage or rate-limiter failure,
// say), so that a logged 500 says which step failed. nil and the errors callers act on
// pass unchanged: this package's, a weak password, a busy hasher, and the session's
// refusals of an organization scope.
func wrap(op string, err error) error {
	var limited *RateLimited
	var weak *password.Weak
	switch {
	case err == nil, errors.As(err, &limited), errors.As(err, &weak), errors.Is(err, password.ErrBusy),
		session.IsRefusal(err), errors.Is(err, ErrEmailTaken), errors.Is(err, ErrInvalidCredentials),
		errors.Is(err, ErrDisabled), errors.Is(err, ErrEmailNotVerified), errors.Is(err, ErrInvalidToken),
		errors.Is(err, ErrNotFound):
		return err
	}
	return fmt.Errorf("account: %s: %w", op, err)
}

// RateLimited is returned when a limit is reached.
type RateLimited struct{ RetryAfter time.Duration }

func (e *RateLimited) Error() string { return "account: rate limited" }

// Limits are the throttling settings.
type Limits struct {
	FailuresPerAccount int
	FailuresPerIP      int
	Window             time.Duration
	IPPerMinute        int // every unauthenticated route that writes, together
	// IPv6Prefix is how many leading bits of an IPv6 address identify a client for per-IP
	// limits (64 when zero); IPv4 addresses count whole.
	IPv6Prefix int
}

// clientKey is what per-IP limits count the address ip by.
func (l Limits) clientKey(ip string) string {
	bits := l.IPv6Prefix
	if bits == 0 {
		bits = 64
	}
	return ratelimit.ClientKey(ip, bits)
}

// Token lifetimes.
const (
	VerifyTTL = 24 * time.Hour
	ResetTTL  = time.Hour
)

// Service runs the account flows.
type Service struct {
	// Audit records security events in the transaction of the change.
	Audit                *audit.Log
	Store                Store
	Hasher               *password.Hasher
	Policy               password.Policy
	Sessions             *session.Service
	Limiter              ratelimit.Limiter
	Limits               Limits
	Composer             *notify.Composer
	Outbox               interface{ Wake() }
	LinkBase             string // base of emailed links
	Product              string
	RequireVerifiedEmail bool
	Now                  func() time.Time
	// Deferred runs the work of answers that must not take longer for real accounts
	// (forgot-password, resend); nil runs it inline.
	Deferred *Deferred
	// SecondFactor starts the step-up for users with MFA; nil turns step-up off.
	SecondFactor interface {
		Begin(ctx context.Context, q store.Queries, u *store.User, orgID string, amr []string, dev session.Device) (*mfa.Pending, error)
		// Describe lists the user's factors in words, for the notice of a password reset.
		Describe(ctx context.Context, q store.Queries, userID string) ([]string, error)
	}
	// OrgPolicy raises the minimum password length for members of organizations that
	// ask for more; nil when organizations are not in use.
	OrgPolicy interface {
		MinPasswordLength(ctx context.Context, userID string) (int, error)
	}

	// UserCacheTTL bounds how long GET /v1/me may serve a user changed on another replica.
	UserCacheTTL time.Duration

	usersOnce sync.Once
	users     *cache.Cache[string, store.User]
	logins    *prometheus.CounterVec
	throttled *prometheus.CounterVec
}

// Store is what the service uses outside transactions: it looks users and password
// hashes up, peeks at a reset token before hashing the new password, reads a membership
// to file a refused login's event, and makes every change in a transaction.
type Store interface {
	UserByID(ctx context.Context, id string) (*store.User, error)
	UserByEmail(ctx context.Context, email string) (*store.User, error)
	store.Credentials
	PeekOneTimeToken(ctx context.Context, hash, kind string, now time.Time) (*store.OneTimeToken, error)
	audit.MemberReader
	store.Transactor
}

// mailTx is what a transaction that mails a one-time link writes: the token and the
// message.
type mailTx interface {
	store.OneTimeTokens
	store.Outbox
}

// NewService registers the service's metrics and returns it.
func NewService(s *Service, reg prometheus.Registerer) *Service {
	s.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_logins_total", Help: "Login attempts by result (succeeded, failed, throttled, mfa_required, disabled).",
	}, []string{"result"})
	s.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_rate_limit_rejections_total", Help: "Requests refused by a rate limit, by limit.",
	}, []string{"limit"})
	if reg != nil {
		reg.MustRegister(s.logins, s.throttled)
	}
	for _, r := range []string{"succeeded", "failed", "throttled", "mfa_required", "disabled"} {
		s.logins.WithLabelValues(r)
	}
	return s
}

// NormalizeEmail trims an address; comparisons are case-insensitive in the store.
func NormalizeEmail(email string) string { return strings.TrimSpace(email) }

// localPart is the part of an address before the @, which a password must not contain.
func localPart(email string) string {
	if i := strings.LastIndexByte(email, '@'); i > 0 {
		return email[:i]
	}
	return email
}

// checkIPBudget spends one unit of the client's per-minute budget shared by every
// unauthenticated route that writes (register, verify, resend, forgot, reset, MFA
// challenges, passkey ceremonies). Loopback is not exempt.
func (s *Service) checkIPBudget(ctx context.Context, ip string) error {
	return s.spend(ctx, "ipmin:"+s.Limits.clientKey(ip), s.Limits.IPPerMinute, time.Minute, "ip_per_minute")
}

// spend records one hit of key and, past limit, refuses with *RateLimited (counted in
// the rate-limit metric under label).
func (s *Service) spend(ctx context.Context, key string, limit int, window time.Duration, label string) error {
	r, err := s.Limiter.Hit(ctx, key, limit, window)
	if err != nil {
		return err
	}
	if !r.Allowed {
		s.throttled.WithLabelValues(label).Inc()
		return &RateLimited{RetryAfter: r.RetryAfter}
	}
	return nil
}

// CheckIPBudget is checkIPBudget for other flows that share the budget (MFA challenges,
// passkey ceremonies).
func (s *Service) CheckIPBudget(ctx context.Context, ip string) error {
	return wrap("check ip budget", s.checkIPBudget(ctx, ip))
}

// policyFor is the password policy that applies to an existing user: the instance's,
// raised by any of their organizations' policies.
func (s *Service) policyFor(ctx context.Context, userID string) (password.Policy, error) {
	p := s.Policy
	if s.OrgPolicy != nil {
		n, err := s.OrgPolicy.MinPasswordLength(ctx, userID)
		if err != nil {
			return p, err
		}
		p.MinLength = max(p.MinLength, n)
	}
	return p, nil
}
