package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// List returns the user's live sessions, newest first.
func (s *Service) List(ctx context.Context, userID string) ([]store.Session, error) {
	all, err := s.Store.ListSessions(ctx, userID, s.Now())
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	live := all[:0]
	for _, sess := range all {
		if sess.Live(s.Now(), s.IdleTTL) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// Revoke ends one of the user's sessions. ErrNotFound when it is not theirs or not live,
// so nobody learns about other users' sessions.
func (s *Service) Revoke(ctx context.Context, userID, sessionID, reason string) error {
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		sess, err := q.SessionByID(ctx, sessionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (sess.UserID != userID || sess.RevokedAt != nil)) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		now := s.Now()
		if err := q.RevokeSession(ctx, sessionID, reason, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		action := audit.SessionRevoked
		if reason == ReasonLogout {
			action = audit.UserLogout
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: action, ActorID: userID, TargetType: "session", TargetID: sessionID,
			Time: now, Details: map[string]any{"reason": reason}})
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	s.Forget(sessionID)
	return nil
}

// RevokeAll ends every session of the user except keep (may be empty) through q, the
// caller's transaction, recording one audit event. Call Forget with the result after commit.
func (s *Service) RevokeAll(ctx context.Context, q store.Queries, actorID, userID, keep, reason string) ([]string, error) {
	now := s.Now()
	ids, err := q.RevokeUserSessions(ctx, userID, keep, reason, now)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	err = s.Audit.Record(ctx, q, audit.Event{Action: audit.SessionRevoked, ActorID: actorID, TargetType: "user", TargetID: userID,
		Time: now, Details: map[string]any{"reason": reason, "sessions": len(ids)}})
	return ids, err
}

// RevokeOthers ends every session of the user except keep.
func (s *Service) RevokeOthers(ctx context.Context, userID, keep string) error {
	var ids []string
	err := s.Store.InTx(ctx, func(q store.Queries) (err error) {
		ids, err = s.RevokeAll(ctx, q, userID, userID, keep, ReasonUserRevoked)
		return err
	})
	if err != nil {
		return fmt.Errorf("session: revoke others: %w", err)
	}
	s.Forget(ids...)
	return nil
}
