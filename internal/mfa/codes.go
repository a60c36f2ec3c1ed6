package mfa

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newSixDigits() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("mfa: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// sendCode stores a new code (voiding older ones for the same binding) and queues it.
func (s *Service) sendCode(ctx context.Context, q tx, u *store.User, purpose, channel, boundTo, address string) error {
	now := s.Now()
	code := newSixDigits()
	c := &store.MFACode{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, Purpose: purpose, Channel: channel, BoundTo: boundTo,
		Address: address, CodeHash: s.hashCode(purpose+":"+channel+":"+boundTo+":"+address, code), CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
	if err := q.CreateCode(ctx, c); err != nil {
		return err
	}
	var msg *store.Message
	if channel == store.ChannelSMS {
		msg = notify.SMS(address, fmt.Sprintf("%s code: %s (valid 10 minutes). Do not share it.", s.Product, code))
	} else {
		var err error
		if msg, err = s.Composer.Email(notify.MFACode, address, notify.Data{"Code": code}); err != nil {
			return err
		}
	}
	if err := notify.Enqueue(ctx, q, msg, now); err != nil {
		return err
	}
	return s.Audit.Record(ctx, q, audit.Event{Action: audit.MFACodeSent, TargetType: "user", TargetID: u.ID, Time: now,
		Details: map[string]any{"channel": channel, "purpose": purpose}})
}

// useCode spends the newest code for the binding if code matches; a wrong code counts
// against it, and it dies after MaxCodeTries.
func (s *Service) useCode(ctx context.Context, q store.MFA, userID, purpose, channel, boundTo, code string) (bool, error) {
	c, err := q.LatestCode(ctx, userID, purpose, channel, boundTo, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	want := s.hashCode(purpose+":"+channel+":"+boundTo+":"+c.Address, code)
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.CodeHash)) != 1 {
		return false, q.FailCode(ctx, c.ID, MaxCodeTries, s.Now())
	}
	if err := q.UseCode(ctx, c.ID, s.Now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// throttleSend limits codes sent for one challenge or phone number.
func (s *Service) throttleSend(ctx context.Context, key string) error {
	r, err := s.Limiter.Hit(ctx, "mfa-send:"+key, sendsPerWindow, sendWindow)
	if err != nil {
		return err
	}
	if !r.Allowed {
		return &RateLimited{RetryAfter: r.RetryAfter}
	}
	return nil
}

// SendLoginCode emails or texts a code for a pending login, from the client's per-IP
// budget of unauthenticated writes.
func (s *Service) SendLoginCode(ctx context.Context, ip, mfaToken, channel string) error {
	if err := s.spendBudget(ctx, ip); err != nil {
		return wrap("send login code", err)
	}
	err := s.inTx(ctx, func(q store.Queries) error {
		ch, err := s.challenge(ctx, q, mfaToken)
		if err != nil {
			return err
		}
		channels, err := q.Channels(ctx, ch.UserID)
		if err != nil {
			return err
		}
		var address string
		for _, c := range channels {
			if c.Channel == channel && c.Confirmed {
				address = c.Address
			}
		}
		if address == "" {
			return ErrConflict // this method is not enabled for the user
		}
		if err := s.throttleSend(ctx, ch.ID); err != nil {
			return err
		}
		u, err := pendingUser(ctx, q, ch)
		if err != nil {
			return err
		}
		return s.sendCode(ctx, q, u, "login", channel, ch.ID, address)
	})
	return wrap("send login code", err)
}

// EnableEmail turns on email codes for a verified address.
// sessionID is the session turning them on, which stays when MFA turns on.
func (s *Service) EnableEmail(ctx context.Context, userID, sessionID string, proof Proof) error {
	if err := s.proveFirstFactor(ctx, userID, proof); err != nil {
		return wrap("enable email", err)
	}
	err := s.changeFactors(ctx, func(q store.Queries) ([]string, error) {
		u, err := user(ctx, q, userID)
		if err != nil {
			return nil, err
		}
		if !u.EmailVerified {
			return nil, ErrEmailNotVerified
		}
		if err := s.stepUp(u, proof); err != nil {
			return nil, err
		}
		if err := q.PutChannel(ctx, &store.MFAChannel{UserID: userID, Channel: store.ChannelEmail, Address: u.Email, Confirmed: true, CreatedAt: s.Now()}); err != nil {
			return nil, err
		}
		return s.factorChanged(ctx, q, u, sessionID, audit.MFAEmailEnabled, nil, "Email codes were turned on as a second factor")
	})
	return wrap("enable email", err)
}

// StartSMS texts a confirmation code to phone (E.164), and tells the user by email. The
// number becomes a factor only when the code comes back.
func (s *Service) StartSMS(ctx context.Context, userID string, proof Proof, phone string) error {
	if !s.SMSEnabled {
		return ErrSMSUnavailable
	}
	if err := s.proveFirstFactor(ctx, userID, proof); err != nil {
		return wrap("start sms", err)
	}
	err := s.inTx(ctx, func(q store.Queries) error {
		u, err := user(ctx, q, userID)
		if err != nil {
			return err
		}
		if err := s.stepUp(u, proof); err != nil {
			return err
		}
		if err := s.throttleSend(ctx, "enroll:"+userID); err != nil {
			return err
		}
		if err := s.sendCode(ctx, q, u, "enroll", store.ChannelSMS, "", phone); err != nil {
			return err
		}
		if err := s.record(ctx, q, u, audit.MFASMSEnrolled, map[string]any{"phone": MaskPhone(phone)}); err != nil {
			return err
		}
		return s.notifyChange(ctx, q, u, "Setting up text-message codes to "+MaskPhone(phone)+" as a second factor was started")
	})
	return wrap("start sms", err)
}

// ConfirmSMS turns SMS codes on for the number the code was sent to; sessionID is the
// session confirming it, which stays when MFA turns on. Codes count against the
// account's login throttle, and wrong ones are audited.
func (s *Service) ConfirmSMS(ctx context.Context, userID, sessionID, code string) error {
	err := s.guessLimited(ctx, userID, audit.MFASMSEnabled, func() error { return s.confirmSMS(ctx, userID, sessionID, code) })
	return wrap("confirm sms", err)
}

func (s *Service) confirmSMS(ctx context.Context, userID, sessionID, code string) error {
	var wrong bool
	err := s.changeFactors(ctx, func(q store.Queries) ([]string, error) {
		wrong = false
		u, err := user(ctx, q, userID)
		if err != nil {
			return nil, err
		}
		c, err := q.LatestCode(ctx, userID, "enroll", store.ChannelSMS, "", s.Now())
		if errors.Is(err, store.ErrNotFound) {
			wrong = true
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		ok, err := s.useCode(ctx, q, userID, "enroll", store.ChannelSMS, "", code)
		if err != nil {
			return nil, err
		}
		if !ok {
			wrong = true // commit the failed attempt
			return nil, nil
		}
		if err := q.PutChannel(ctx, &store.MFAChannel{UserID: userID, Channel: store.ChannelSMS, Address: c.Address, Confirmed: true, CreatedAt: s.Now()}); err != nil {
			return nil, err
		}
		return s.factorChanged(ctx, q, u, sessionID, audit.MFASMSEnabled, map[string]any{"phone": MaskPhone(c.Address)},
			"Text-message codes to "+MaskPhone(c.Address)+" were turned on as a second factor")
	})
	if err != nil {
		return err
	}
	if wrong {
		return ErrInvalidCode
	}
	return nil
}

// MaskPhone shows only the last two digits of a number.
func MaskPhone(p string) string {
	if len(p) <= 4 {
		return "****"
	}
	out := []byte(p)
	for i := 1; i < len(out)-2; i++ {
		out[i] = '*'
	}
	return string(out)
}
