package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RFC 6238 as API.md fixes it: SHA-1, 6 digits, 30-second steps, ±1 step.
const (
	period = 30
	skew   = 1
)

var totpOpts = totp.ValidateOpts{Period: period, Skew: skew, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrollment is a new, unconfirmed TOTP secret.
type Enrollment struct {
	Secret     string
	OTPAuthURL string
	QRPNG      string // base64 PNG of the otpauth URL
}

func totpPurpose(userID string) string { return "totp:" + userID }

// EnrollTOTP creates a pending secret (replacing a pending one), and tells the user by
// email. An account that already has a confirmed one must disable it first; one without
// any factor proves its current password.
func (s *Service) EnrollTOTP(ctx context.Context, userID string, proof Proof) (*Enrollment, error) {
	if err := s.proveFirstFactor(ctx, userID, proof); err != nil {
		return nil, wrap("enroll totp", err)
	}
	var out *Enrollment
	err := s.inTx(ctx, func(q store.Queries) error {
		u, err := user(ctx, q, userID)
		if err != nil {
			return err
		}
		if err := s.stepUp(u, proof); err != nil {
			return err
		}
		if t, err := q.TOTPByUser(ctx, userID); err == nil && t.Confirmed {
			return ErrConflict
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: s.Product, AccountName: u.Email, Period: period,
			Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		sealed, err := s.Box.Seal([]byte(key.Secret()), totpPurpose(userID))
		if err != nil {
			return err
		}
		if err := q.PutTOTP(ctx, &store.TOTP{UserID: userID, SecretEnc: sealed, CreatedAt: s.Now()}); err != nil {
			return err
		}
		img, err := key.Image(256, 256)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return err
		}
		out = &Enrollment{Secret: key.Secret(), OTPAuthURL: key.URL(), QRPNG: base64.StdEncoding.EncodeToString(buf.Bytes())}
		if err := s.record(ctx, q, u, audit.MFATOTPEnrolled, nil); err != nil {
			return err
		}
		return s.notifyChange(ctx, q, u, "Setting up an authenticator app as a second factor was started")
	})
	return out, wrap("enroll totp", err)
}

// matchStep returns the time step whose code equals code (within ±1 step of now), or -1.
func matchStep(secret, code string, now time.Time) int64 {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return -1
	}
	step := now.Unix() / period
	for off := int64(-skew); off <= skew; off++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+off)*period, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + off
		}
	}
	return -1
}

func (s *Service) totpSecret(t *store.TOTP) (string, error) {
	secret, err := s.Box.Open(t.SecretEnc, totpPurpose(t.UserID))
	return string(secret), err
}

// ConfirmTOTP turns the pending secret on with a valid code. When it is the user's first
// factor, MFA turns on, other sessions than sessionID end, and backup codes are returned.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, sessionID, code string) ([]string, error) {
	var codes []string
	err := s.guessLimited(ctx, userID, audit.MFATOTPEnabled, func() error { return s.confirmTOTP(ctx, userID, sessionID, code, &codes) })
	if err != nil {
		return nil, wrap("confirm totp", err)
	}
	return codes, nil
}

func (s *Service) confirmTOTP(ctx context.Context, userID, sessionID, code string, codes *[]string) error {
	return s.changeFactors(ctx, func(q store.Queries) ([]string, error) {
		u, err := user(ctx, q, userID)
		if err != nil {
			return nil, err
		}
		t, err := q.TOTPByUser(ctx, userID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.Confirmed) {
			return nil, ErrConflict
		}
		if err != nil {
			return nil, err
		}
		secret, err := s.totpSecret(t)
		if err != nil {
			return nil, err
		}
		step := matchStep(secret, code, s.Now())
		if step < 0 {
			return nil, ErrInvalidCode
		}
		if err := q.ConfirmTOTP(ctx, userID, step, s.Now()); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, ErrInvalidCode
			}
			return nil, err
		}
		first := !u.MFAEnabled
		if err := s.record(ctx, q, u, audit.MFATOTPEnabled, map[string]any{"first_factor": first}); err != nil {
			return nil, err
		}
		if err := s.notifyChange(ctx, q, u, "An authenticator app was added as a second factor"); err != nil {
			return nil, err
		}
		if first {
			if *codes, err = s.newBackupCodes(ctx, q, u); err != nil {
				return nil, err
			}
		}
		return s.refreshEnabled(ctx, q, u, sessionID)
	})
}

// DisableTOTP removes the authenticator app, which takes a current code.
func (s *Service) DisableTOTP(ctx context.Context, userID, sessionID, code string) error {
	err := s.guessLimited(ctx, userID, audit.MFATOTPDisabled, func() error { return s.disableTOTP(ctx, userID, sessionID, code) })
	return wrap("disable totp", err)
}

func (s *Service) disableTOTP(ctx context.Context, userID, sessionID, code string) error {
	return s.changeFactors(ctx, func(q store.Queries) ([]string, error) {
		u, err := user(ctx, q, userID)
		if err != nil {
			return nil, err
		}
		t, err := q.TOTPByUser(ctx, userID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Confirmed) {
			return nil, ErrConflict
		}
		if err != nil {
			return nil, err
		}
		if ok, err := s.useTOTP(ctx, q, userID, code); err != nil || !ok {
			if err == nil {
				err = ErrInvalidCode
			}
			return nil, err
		}
		if err := q.DeleteTOTP(ctx, userID); err != nil {
			return nil, err
		}
		return s.factorChanged(ctx, q, u, sessionID, audit.MFATOTPDisabled, nil, "The authenticator app was removed as a second factor")
	})
}

// useTOTP accepts a code of a confirmed secret once: a code whose step (or a later one)
// was already accepted is a replay.
func (s *Service) useTOTP(ctx context.Context, q store.MFA, userID, code string) (bool, error) {
	t, err := q.TOTPByUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil || !t.Confirmed {
		return false, err
	}
	secret, err := s.totpSecret(t)
	if err != nil {
		return false, err
	}
	step := matchStep(secret, code, s.Now())
	if step < 0 {
		return false, nil
	}
	if err := q.UseTOTPStep(ctx, userID, step); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
