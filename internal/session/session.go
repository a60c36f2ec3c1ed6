// Package session starts, refreshes and ends sessions. A session is one signed-in
// device; its refresh tokens form a rotation chain in which presenting a used link
// revokes the whole session (RFC 9700 §4.14).
package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/cache"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

var (
	// ErrInvalidToken: a refresh token that is unknown, expired, or of a revoked session.
	ErrInvalidToken = errors.New("session: invalid refresh token")
	// ErrReused: an already-rotated refresh token was presented; the session is now revoked.
	ErrReused = errors.New("session: refresh token reused")
	// ErrNotFound: no such live session of this user.
	ErrNotFound = errors.New("session: not found")
)

// Revocation reasons.
const (
	ReasonLogout          = "logout"
	ReasonUserRevoked     = "revoked_by_user"
	ReasonRefreshReused   = "refresh_token_reused"
	ReasonPasswordChanged = "password_changed"
	ReasonPasswordReset   = "password_reset"
)

// Device is where a session was started.
type Device struct {
	IP        string
	UserAgent string
	// Browser: the sign-in is on the hosted pages. The session is a browser session,
	// reached by a cookie (Tokens.Cookie); no refresh or access token is issued, since
	// the pages never show them and browser sessions are refused at every refresh
	// endpoint.
	Browser bool
}

// Tokens are what a client gets when a session starts or refreshes.
type Tokens struct {
	AccessToken  string
	ExpiresIn    int
	RefreshToken string
	SessionID    string
	Cookie       string // a browser session's cookie value (256 random bits; only its hash is stored)
}

// ReplayAuditEvery: a used refresh token of a session that already ended is answered
// invalid_token every time, but audited at most once per session in this time, so that
// whoever holds a stolen token cannot write unbounded rows.
const ReplayAuditEvery = time.Hour

// Service manages sessions.
type Service struct {
	// Audit records security events in the transaction of the change.
	Audit       *audit.Log
	Store       Store
	Access      *token.Access
	IdleTTL     time.Duration // a session unused this long ends
	AbsoluteTTL time.Duration // a session ends this long after it started, whatever happens
	Now         func() time.Time
	// CacheTTL is how long a session's liveness is reused on bearer calls (≤ 5 s).
	CacheTTL time.Duration
	Scoper   Scoper // decides organization scopes; nil refuses every org_id
	// Limiter bounds how often replays of an ended session's refresh tokens are audited
	// (once per session per ReplayAuditEvery); nil audits none of them.
	Limiter ratelimit.Limiter

	refreshes *prometheus.CounterVec
	cacheOnce sync.Once
	live      *cache.Cache[string, store.Session]
}

// Store is what the service uses outside the transactions of its callers: it lists,
// reads and touches sessions, and runs its own transactions (refresh, revocation).
type Store interface {
	store.Sessions
	store.BrowserSessions
	RefreshTokenByHash(ctx context.Context, hash string) (*store.RefreshToken, error)
	store.Transactor
}

// NewService returns a session service and registers its metrics.
func NewService(s *Service, reg prometheus.Registerer) *Service {
	s.refreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_token_refreshes_total", Help: "Refresh-token exchanges by result.",
	}, []string{"result"})
	if reg != nil {
		reg.MustRegister(s.refreshes)
	}
	return s
}

// Start creates a session with its first refresh token through q (the caller's
// transaction, which also records the login) and signs an access token.
func (s *Service) Start(ctx context.Context, q store.Queries, userID string, amr []string, orgID string, dev Device) (*Tokens, error) {
	now := s.Now()
	sess := &store.Session{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, AMR: amr,
		IP: dev.IP, UserAgent: dev.UserAgent, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.AbsoluteTTL),
	}
	var sc *OrgScope
	if orgID != "" {
		var err error
		if sc, err = s.scope(ctx, q, sess, orgID); err != nil {
			return nil, err
		}
		sess.OrgID = orgID
		limit(sess, sc, now)
	}
	var cookie string
	if dev.Browser {
		sess.Kind = store.SessionBrowser
		cookie, sess.CookieHash = token.NewOpaque()
	}
	if err := q.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	if dev.Browser {
		return &Tokens{SessionID: sess.ID, Cookie: cookie}, nil
	}
	return s.issue(ctx, q, sess, sc)
}

// issue stores a new refresh token for sess and signs an access token carrying scope.
func (s *Service) issue(ctx context.Context, q store.RefreshTokens, sess *store.Session, sc *OrgScope) (*Tokens, error) {
	t, sub, err := s.rotate(ctx, q, sess, sc)
	if err != nil {
		return nil, err
	}
	return t, s.sign(t, sub)
}

// rotate stores a new refresh token for sess and returns what the access token will say.
func (s *Service) rotate(ctx context.Context, q store.RefreshTokens, sess *store.Session, sc *OrgScope) (*Tokens, token.Subject, error) {
	refresh, hash := token.NewOpaque()
	if err := q.CreateRefreshToken(ctx, &store.RefreshToken{Hash: hash, SessionID: sess.ID, CreatedAt: s.Now()}); err != nil {
		return nil, token.Subject{}, err
	}
	sub := token.Subject{UserID: sess.UserID, SessionID: sess.ID, AMR: sess.AMR}
	if sc != nil {
		sub.OrgID, sub.Roles, sub.Permissions = sc.OrgID, sc.Roles, sc.Permissions
	}
	return &Tokens{RefreshToken: refresh, SessionID: sess.ID}, sub, nil
}

// sign adds the access token.
func (s *Service) sign(t *Tokens, sub token.Subject) error {
	access, ttl, err := s.Access.Issue(sub)
	if err != nil {
		return err
	}
	t.AccessToken, t.ExpiresIn = access, ttl
	return nil
}

// Refresh exchanges a refresh token for new tokens, rotating it. A token that was already
// used revokes its session (and ErrReused is returned); of two concurrent exchanges of one
// token exactly one succeeds. A non-empty orgID switches the session's organization (or
// confirms the current one: refused with the scope's error when the user no longer
// qualifies); the roles and permissions of the current one are read afresh, and without
// orgID a session whose user left its organization continues unscoped.
func (s *Service) Refresh(ctx context.Context, refreshToken, orgID string) (*Tokens, error) {
	out, sub, _, err := s.exchange(ctx, refreshToken, orgID, "")
	if err != nil {
		return nil, err
	}
	if err := s.sign(out, sub); err != nil {
		return nil, fmt.Errorf("session: refresh: %w", err)
	}
	return out, nil
}

// exchange rotates a refresh token of an API session (clientID empty) or of the client's
// OAuth grant, with Refresh's reuse rules, and returns the new refresh token, what the
// access token will say and the session. A token of another kind of session or of
// another client is ErrInvalidToken and changes nothing.
func (s *Service) exchange(ctx context.Context, refreshToken, orgID, clientID string) (*Tokens, token.Subject, *store.Session, error) {
	hash := token.Hash(refreshToken)
	var out *Tokens
	var sub token.Subject
	var live *store.Session
	var reused string      // the session revoked for reuse
	var ended string       // the session found past its organization's lifetime
	var replayedEnded bool // a used token of a session that had already ended
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		rt, err := q.RefreshTokenByHash(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		sess, err := q.SessionByID(ctx, rt.SessionID)
		if err != nil {
			return err
		}
		if !refreshable(sess, clientID) {
			return ErrInvalidToken
		}
		now := s.Now()
		if rt.UsedAt == nil {
			if !sess.Live(now, s.IdleTTL) {
				return ErrInvalidToken
			}
			// Use the token first: its row lock orders concurrent exchanges before anything
			// writes the session row (so they cannot deadlock). A refused switch returns an
			// error, and the rollback leaves the token valid.
			err = q.UseRefreshToken(ctx, hash, now)
			if err == nil {
				sc, err := s.rescope(ctx, q, sess, orgID, now)
				if errors.Is(err, errPastEnd) {
					ended = sess.ID // commit the stored end, then refuse
					return nil
				}
				if err != nil {
					return err
				}
				if err := q.TouchSession(ctx, sess.ID, now); err != nil {
					return err
				}
				sess.LastSeenAt = now
				// Signing waits for the commit: the write transaction stays short.
				out, sub, err = s.rotate(ctx, q, sess, sc)
				live = sess
				return err
			}
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
			// Lost the race to a concurrent exchange of the same token: that is reuse too.
		}
		if sess.RevokedAt != nil || !sess.Live(now, s.IdleTTL) {
			// Already over: nothing left to revoke, but a replayed token is worth a row.
			replayedEnded = true
			return s.auditEndedReplay(ctx, q, sess, now)
		}
		err = q.RevokeSession(ctx, sess.ID, ReasonRefreshReused, now)
		if errors.Is(err, store.ErrNotFound) {
			// A concurrent exchange of the same token revoked it first (and audited it).
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		reused = sess.ID
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.TokenRefreshReused, ActorID: sess.UserID, TargetType: "session",
			TargetID: sess.ID, Outcome: audit.Failure, Time: now, Details: map[string]any{"revoked_session": true}})
	})
	switch {
	case err == nil && replayedEnded:
		s.refreshes.WithLabelValues("reused").Inc()
		return nil, token.Subject{}, nil, ErrInvalidToken
	case err == nil && ended != "":
		s.Forget(ended)
		s.refreshes.WithLabelValues("invalid").Inc()
		return nil, token.Subject{}, nil, ErrInvalidToken
	case err == nil && reused != "":
		s.Forget(reused)
		s.refreshes.WithLabelValues("reused").Inc()
		return nil, token.Subject{}, nil, ErrReused
	case errors.Is(err, ErrInvalidToken):
		s.refreshes.WithLabelValues("invalid").Inc()
		return nil, token.Subject{}, nil, err
	case IsRefusal(err):
		s.refreshes.WithLabelValues("forbidden").Inc()
		return nil, token.Subject{}, nil, err
	case err != nil:
		s.refreshes.WithLabelValues("error").Inc()
		return nil, token.Subject{}, nil, fmt.Errorf("session: refresh: %w", err)
	}
	s.refreshes.WithLabelValues("succeeded").Inc()
	return out, sub, live, nil
}

// refreshable: API sessions refresh at /v1/auth/token/refresh, a grant only at the
// token endpoint of its own client; browser sessions never do.
func refreshable(sess *store.Session, clientID string) bool {
	if clientID == "" {
		return sess.Kind == "" || sess.Kind == store.SessionAPI
	}
	return sess.Kind == store.SessionGrant && sess.ClientID == clientID
}

// auditEndedReplay records, through q, a used refresh token presented again after its
// session ended (at most once per session per ReplayAuditEvery).
func (s *Service) auditEndedReplay(ctx context.Context, q store.Audit, sess *store.Session, now time.Time) error {
	if s.Limiter == nil {
		return nil
	}
	r, err := s.Limiter.Hit(ctx, "replay-audit:"+sess.ID, 1, ReplayAuditEvery)
	if err != nil || !r.Allowed {
		return err
	}
	return s.Audit.Record(ctx, q, audit.Event{Action: audit.TokenRefreshReused, ActorID: sess.UserID, TargetType: "session",
		TargetID: sess.ID, Outcome: audit.Failure, Time: now, Details: map[string]any{"session_ended": true}})
}

// errPastEnd: the org's session lifetime, counted from the session's start, is already
// over. rescope has stored the shortened end; Refresh commits it and answers ErrInvalidToken.
var errPastEnd = errors.New("session: past the organization's session lifetime")

// rescope works out the organization scope of a refreshed session and stores any change.
// The org's session_ttl_seconds always counts from the session's start (sess.CreatedAt),
// whether the session switches into the org or refreshes within it after a policy change.
// An explicit orgID that is refused is an error; only when no orgID was sent does a
// session whose user no longer qualifies for its current org continue unscoped.
func (s *Service) rescope(ctx context.Context, q store.Queries, sess *store.Session, orgID string, now time.Time) (*OrgScope, error) {
	switch {
	case orgID != "" && orgID != sess.OrgID: // a switch: the user must qualify now
		sc, err := s.scope(ctx, q, sess, orgID)
		if err != nil {
			return nil, err
		}
		sess.OrgID = orgID
		limit(sess, sc, sess.CreatedAt)
		if !sess.Live(now, s.IdleTTL) {
			// Too old for this org: the switch is refused and the session stays as it was.
			return nil, ErrTooOldForOrg
		}
		return sc, q.SetSessionOrg(ctx, sess.ID, sess.OrgID, sess.ExpiresAt)
	case sess.OrgID != "": // the current org: read roles afresh; drop it if no longer allowed
		sc, err := s.scope(ctx, q, sess, sess.OrgID)
		if err != nil {
			if !IsRefusal(err) || orgID != "" {
				return nil, err
			}
			sess.OrgID = ""
			return nil, q.SetSessionOrg(ctx, sess.ID, "", sess.ExpiresAt)
		}
		end := sess.ExpiresAt
		limit(sess, sc, sess.CreatedAt)
		if sess.ExpiresAt.Equal(end) {
			return sc, nil
		}
		if err := q.SetSessionOrg(ctx, sess.ID, sess.OrgID, sess.ExpiresAt); err != nil {
			return nil, err
		}
		if !sess.Live(now, s.IdleTTL) {
			return nil, errPastEnd
		}
		return sc, nil
	}
	return nil, nil
}
