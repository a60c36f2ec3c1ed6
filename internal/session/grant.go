package session

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// More revocation reasons.
const (
	ReasonCodeReused    = "authorization_code_reused"
	ReasonGrantRevoked  = "grant_revoked"
	ReasonClientDeleted = "client_deleted"
	ReasonEndSession    = "end_session"
)

// ByCookie returns the live browser session a cookie value reaches; ErrNotFound for
// anything else. It reads the database each time: the hosted pages are not a hot path,
// and a revocation must show at once.
func (s *Service) ByCookie(ctx context.Context, cookie string) (*store.Session, error) {
	if cookie == "" {
		return nil, ErrNotFound
	}
	sess, err := s.Store.SessionByCookie(ctx, token.Hash(cookie))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session: by cookie: %w", err)
	}
	if sess.Kind != store.SessionBrowser || !sess.Live(s.Now(), s.IdleTTL) {
		return nil, ErrNotFound
	}
	return sess, nil
}

// GrantSpec is what a client was granted from a browser session.
type GrantSpec struct {
	Parent   *store.Session // the browser session the user signed in with
	ClientID string
	Scopes   []string
	OrgID    string
	AMR      []string
}

// StartGrant creates an OAuth grant session through q (the caller's transaction) and,
// when refresh is true, its first refresh token. The grant lasts as long as an API
// session; it inherits the parent's auth_time.
func (s *Service) StartGrant(ctx context.Context, q store.Queries, g GrantSpec, refresh bool) (*store.Session, string, error) {
	now := s.Now()
	amr := g.AMR
	if amr == nil {
		amr = g.Parent.AMR
	}
	sess := &store.Session{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: g.Parent.UserID, OrgID: g.OrgID, AMR: amr, IP: g.Parent.IP,
		UserAgent: g.Parent.UserAgent, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.AbsoluteTTL),
		Kind: store.SessionGrant, ClientID: g.ClientID, Scopes: g.Scopes, ParentID: g.Parent.ID, AuthTime: g.Parent.AuthTime,
	}
	if err := q.CreateSession(ctx, sess); err != nil {
		return nil, "", err
	}
	if !refresh {
		return sess, "", nil
	}
	t, _, err := s.rotate(ctx, q, sess, nil)
	if err != nil {
		return nil, "", err
	}
	return sess, t.RefreshToken, nil
}

// RefreshGrant rotates a refresh token of the client's grant (with the reuse rules of
// Refresh: a rotated token presented again revokes the grant, ErrReused) and returns the
// grant with the new refresh token.
func (s *Service) RefreshGrant(ctx context.Context, refreshToken, clientID string) (*store.Session, string, error) {
	if clientID == "" {
		return nil, "", ErrInvalidToken
	}
	out, _, sess, err := s.exchange(ctx, refreshToken, "", clientID)
	if err != nil {
		return nil, "", err
	}
	return sess, out.RefreshToken, nil
}

// AnyClient asks GrantByRefreshToken for a grant of whichever client (the caller checks
// the client afterwards).
const AnyClient = "*"

// GrantByRefreshToken returns the live grant an unused refresh token of clientID belongs
// to, without using it; ErrInvalidToken otherwise. A used one is reported as ErrReused
// without revoking anything: RefreshGrant decides that.
func (s *Service) GrantByRefreshToken(ctx context.Context, refreshToken, clientID string) (*store.Session, error) {
	rt, err := s.Store.RefreshTokenByHash(ctx, token.Hash(refreshToken))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("session: grant by refresh token: %w", err)
	}
	sess, err := s.Store.SessionByID(ctx, rt.SessionID)
	if err != nil {
		return nil, fmt.Errorf("session: grant by refresh token: %w", err)
	}
	if clientID == "" || sess.Kind != store.SessionGrant || (clientID != AnyClient && sess.ClientID != clientID) {
		return nil, ErrInvalidToken
	}
	if rt.UsedAt != nil {
		return sess, ErrReused
	}
	if !sess.Live(s.Now(), s.IdleTTL) {
		return nil, ErrInvalidToken
	}
	return sess, nil
}

// RevokeGrants ends the grants matching f through q, the caller's transaction, with one
// audit event naming actorID. Call Forget with the result after commit.
func (s *Service) RevokeGrants(ctx context.Context, q store.Queries, actorID string, f store.GrantFilter, reason string) ([]string, error) {
	now := s.Now()
	ids, err := q.RevokeGrants(ctx, f, reason, now)
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	target, targetType := f.UserID, "user"
	if f.ClientID != "" {
		target, targetType = f.ClientID, "client"
	}
	err = s.Audit.Record(ctx, q, audit.Event{Action: audit.SessionRevoked, ActorID: actorID, TargetType: targetType, TargetID: target,
		Time: now, Details: map[string]any{"reason": reason, "grants": len(ids)}})
	return ids, err
}

// Grants returns the user's live grants, newest first.
func (s *Service) Grants(ctx context.Context, userID string) ([]store.Session, error) {
	all, err := s.Store.ListGrants(ctx, userID, s.Now())
	if err != nil {
		return nil, fmt.Errorf("session: grants: %w", err)
	}
	return slices.DeleteFunc(all, func(g store.Session) bool { return !g.Live(s.Now(), s.IdleTTL) }), nil
}

// EndBrowser signs a browser session out: the session and the grants started from it
// end, apart from offline ones (offline_access outlives the sign-in, as it is meant to).
func (s *Service) EndBrowser(ctx context.Context, sess *store.Session, reason string) error {
	var ids []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		now := s.Now()
		err := q.RevokeSession(ctx, sess.ID, reason, now)
		if errors.Is(err, store.ErrNotFound) {
			return nil // already over
		}
		if err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, q, audit.Event{Action: audit.UserLogout, ActorID: sess.UserID, TargetType: "session",
			TargetID: sess.ID, Time: now, Details: map[string]any{"reason": reason}}); err != nil {
			return err
		}
		ids, err = s.RevokeGrants(ctx, q, sess.UserID, store.GrantFilter{UserID: sess.UserID, ParentID: sess.ID, KeepOffline: true}, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("session: end browser session: %w", err)
	}
	s.Forget(append(ids, sess.ID)...)
	return nil
}
