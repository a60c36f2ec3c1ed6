package mfa

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Status is what GET /v1/me/mfa shows.
type Status struct {
	TOTP        bool
	BackupCodes int
	Email       bool
	SMS         bool
	Phone       string // masked
	Credentials []CredentialInfo
}

// Status describes the user's factors.
func (s *Service) Status(ctx context.Context, userID string) (*Status, error) {
	st, err := s.status(ctx, s.Store, userID)
	if err != nil {
		return nil, wrap("status", err)
	}
	return st, nil
}

// Describe lists the user's second factors in words, read through q, for the notices
// that must show them (a password reset: a factor the user did not add is seen).
func (s *Service) Describe(ctx context.Context, q store.Queries, userID string) ([]string, error) {
	st, err := s.status(ctx, q, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	if st.TOTP {
		out = append(out, "an authenticator app")
	}
	if st.Email {
		out = append(out, "codes by email")
	}
	if st.SMS {
		out = append(out, "text-message codes to "+st.Phone)
	}
	for _, c := range st.Credentials {
		out = append(out, fmt.Sprintf("the passkey or security key %q", c.Name))
	}
	if st.BackupCodes > 0 {
		out = append(out, fmt.Sprintf("%d unused backup codes", st.BackupCodes))
	}
	return out, nil
}

func (s *Service) status(ctx context.Context, q store.MFA, userID string) (*Status, error) {
	st := &Status{}
	if t, err := q.TOTPByUser(ctx, userID); err == nil {
		st.TOTP = t.Confirmed
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var err error
	if st.BackupCodes, err = q.CountBackupCodes(ctx, userID); err != nil {
		return nil, err
	}
	channels, err := q.Channels(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, c := range channels {
		switch {
		case c.Channel == store.ChannelEmail && c.Confirmed:
			st.Email = true
		case c.Channel == store.ChannelSMS && c.Confirmed:
			st.SMS, st.Phone = true, MaskPhone(c.Address)
		}
	}
	creds, err := q.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, c := range creds {
		st.Credentials = append(st.Credentials, CredentialInfo{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt})
	}
	return st, nil
}

// Reset removes every second factor of a user (an administrator's action) and ends the
// pending logins.
func (s *Service) Reset(ctx context.Context, actorID, userID string) error {
	err := s.inTx(ctx, func(q store.Queries) error {
		u, err := user(ctx, q, userID)
		if err != nil {
			return err
		}
		if err := q.DeleteFactors(ctx, userID); err != nil {
			return err
		}
		if err := q.SetMFAEnabled(ctx, userID, false, s.Now()); err != nil {
			return err
		}
		s.userChanged(userID)
		if err := q.ReplaceBackupCodes(ctx, userID, nil, s.Now()); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, q, audit.Event{Action: audit.MFAReset, ActorID: actorID, TargetType: "user", TargetID: userID, Time: s.Now()}); err != nil {
			return err
		}
		return s.notifyChange(ctx, q, u, "An administrator removed all your second factors")
	})
	return wrap("reset", err)
}
