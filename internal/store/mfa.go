package store

import (
	"context"
	"time"
)

// TOTP is a user's authenticator-app secret, encrypted.
type TOTP struct {
	UserID       string
	SecretEnc    []byte
	Confirmed    bool
	LastUsedStep int64 // the newest time step accepted: older or equal steps are replays
	CreatedAt    time.Time
	ConfirmedAt  *time.Time
}

// MFAChannel is an email or SMS one-time-code channel.
type MFAChannel struct {
	UserID    string
	Channel   string // ChannelEmail or ChannelSMS
	Address   string // email address or E.164 phone number
	Confirmed bool
	CreatedAt time.Time
}

// MFACode is a one-time code sent by email or SMS; only its hash is stored.
type MFACode struct {
	ID        string
	UserID    string
	Purpose   string // "login" or "enroll"
	Channel   string
	BoundTo   string // the mfa challenge it was sent for ("" for enrollment)
	Address   string // where it was sent: the email address or phone number
	CodeHash  string
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// MFAChallenge is a login that passed its first factor and waits for the second.
type MFAChallenge struct {
	ID        string
	TokenHash string
	UserID    string
	OrgID     string
	AMR       []string
	IP        string
	UserAgent string
	Failures  int
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// WebAuthnCredential is a registered passkey or security key.
type WebAuthnCredential struct {
	ID           string
	UserID       string
	CredentialID string // base64url of the authenticator's credential id
	Name         string
	Data         []byte // the library's credential record, JSON
	SignCount    uint32
	CreatedAt    time.Time
	LastUsedAt   *time.Time
}

// WebAuthnCeremony is a registration or assertion in progress; its challenge is used once.
type WebAuthnCeremony struct {
	ID          string
	Kind        string // "register", "login", "mfa"
	UserID      string
	ChallengeID string // the mfa challenge, for "mfa"
	Data        []byte // the library's session data, JSON
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// MFA stores second factors.
type MFA interface {
	SetMFAEnabled(ctx context.Context, userID string, enabled bool, now time.Time) error

	PutTOTP(ctx context.Context, t *TOTP) error
	TOTPByUser(ctx context.Context, userID string) (*TOTP, error)
	ConfirmTOTP(ctx context.Context, userID string, step int64, now time.Time) error
	// UseTOTPStep records an accepted time step; ErrConflict when it (or a later one) was
	// already used: a replay.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceBackupCodes stores a new set, discarding the old.
	ReplaceBackupCodes(ctx context.Context, userID string, hashes []string, now time.Time) error
	// UseBackupCode spends one code; ErrNotFound when unknown or spent.
	UseBackupCode(ctx context.Context, userID, hash string, now time.Time) error
	CountBackupCodes(ctx context.Context, userID string) (int, error)

	PutChannel(ctx context.Context, c *MFAChannel) error
	Channels(ctx context.Context, userID string) ([]MFAChannel, error)
	ConfirmChannel(ctx context.Context, userID, channel string) error

	// CreateCode stores a code and voids older unused ones for the same purpose, channel
	// and binding.
	CreateCode(ctx context.Context, c *MFACode) error
	// LatestCode returns the usable code for the binding; ErrNotFound when there is none.
	LatestCode(ctx context.Context, userID, purpose, channel, boundTo string, now time.Time) (*MFACode, error)
	// FailCode counts a wrong attempt and voids the code at max attempts.
	FailCode(ctx context.Context, id string, max int, now time.Time) error
	// UseCode spends a code; ErrConflict when it was spent meanwhile.
	UseCode(ctx context.Context, id string, now time.Time) error

	CreateChallenge(ctx context.Context, c *MFAChallenge) error
	// ChallengeByHash returns a challenge whatever its state.
	ChallengeByHash(ctx context.Context, hash string) (*MFAChallenge, error)
	// CountChallengeAttempt counts an attempt against a live challenge before its code
	// is checked, atomically: it returns the new count, or ErrNotFound when the challenge
	// is used, expired or already has max attempts. Inside a transaction it holds the
	// challenge's row until commit, so concurrent attempts are counted one at a time.
	CountChallengeAttempt(ctx context.Context, id string, max int, now time.Time) (int, error)
	// UseChallenge ends the challenge on success; ErrConflict when it already ended.
	UseChallenge(ctx context.Context, id string, now time.Time) error
	// EndChallenges ends every pending challenge of the user (the account was disabled).
	EndChallenges(ctx context.Context, userID string, now time.Time) error

	AddWebAuthnCredential(ctx context.Context, c *WebAuthnCredential) error
	WebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error)
	WebAuthnCredentialByCredID(ctx context.Context, credentialID string) (*WebAuthnCredential, error)
	// UpdateWebAuthnCredential records a use: the new sign count and record. ErrConflict
	// when the stored count moved meanwhile (a concurrent or replayed assertion).
	UpdateWebAuthnCredential(ctx context.Context, id string, oldCount, newCount uint32, data []byte, now time.Time) error
	DeleteWebAuthnCredential(ctx context.Context, userID, id string) error

	CreateCeremony(ctx context.Context, c *WebAuthnCeremony) error
	// TakeCeremony returns an unexpired ceremony of the kind and deletes it: a challenge
	// is used once. ErrNotFound otherwise.
	TakeCeremony(ctx context.Context, id, kind string, now time.Time) (*WebAuthnCeremony, error)

	// DeleteFactors removes every second factor of a user (admin reset).
	DeleteFactors(ctx context.Context, userID string) error
}
