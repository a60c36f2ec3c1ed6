package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Backup codes: 10 codes of 10 characters from an alphabet without look-alikes
// (no 0/O, 1/I/L), shown once as xxxxx-xxxxx, about 50 bits each.
const (
	backupCount  = 10
	backupLength = 10
	alphabet     = "23456789abcdefghjkmnpqrstuvwxyz"
)

func newBackupCode() string {
	b := make([]byte, backupLength)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

// randIndex draws uniformly from [0, n) by rejection.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("mfa: crypto/rand failed: " + err.Error())
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// normalizeBackup accepts a code typed with or without the dash, in any case.
func normalizeBackup(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	return strings.ReplaceAll(strings.ReplaceAll(code, "-", ""), " ", "")
}

func (s *Service) newBackupCodes(ctx context.Context, q store.MFA, u *store.User) ([]string, error) {
	codes := make([]string, backupCount)
	hashes := make([]string, backupCount)
	for i := range codes {
		codes[i] = newBackupCode()
		hashes[i] = s.hashCode("backup:"+u.ID, normalizeBackup(codes[i]))
	}
	if err := q.ReplaceBackupCodes(ctx, u.ID, hashes, s.Now()); err != nil {
		return nil, err
	}
	return codes, nil
}

// RegenerateBackupCodes replaces the user's backup codes. It needs MFA on and a session
// that used a second factor.
func (s *Service) RegenerateBackupCodes(ctx context.Context, userID string, proof Proof) ([]string, error) {
	var codes []string
	err := s.inTx(ctx, func(q store.Queries) error {
		u, err := user(ctx, q, userID)
		if err != nil {
			return err
		}
		if !u.MFAEnabled {
			return ErrConflict
		}
		if err := s.stepUp(u, proof); err != nil {
			return err
		}
		if codes, err = s.newBackupCodes(ctx, q, u); err != nil {
			return err
		}
		if err := s.record(ctx, q, u, audit.MFABackupRegenerated, nil); err != nil {
			return err
		}
		return s.notifyChange(ctx, q, u, "New backup codes were generated (the old ones no longer work)")
	})
	return codes, wrap("regenerate backup codes", err)
}

func (s *Service) useBackupCode(ctx context.Context, q tx, u *store.User, code string) (bool, error) {
	norm := normalizeBackup(code)
	if len(norm) != backupLength {
		return false, nil
	}
	err := q.UseBackupCode(ctx, u.ID, s.hashCode("backup:"+u.ID, norm), s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	left, err := q.CountBackupCodes(ctx, u.ID)
	if err != nil {
		return false, err
	}
	return true, s.record(ctx, q, u, audit.MFABackupUsed, map[string]any{"remaining": left})
}
