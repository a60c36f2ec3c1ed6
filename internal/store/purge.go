package store

import (
	"context"
	"time"
)

// Expired names a kind of row that outlives its use and is removed by the janitor.
type Expired string

// The kinds of expired rows.
const (
	ExpiredCeremonies    Expired = "webauthn_ceremonies" // WebAuthn ceremonies past their expiry
	ExpiredChallenges    Expired = "mfa_challenges"      // pending second-factor logins past their expiry
	ExpiredCodes         Expired = "mfa_codes"           // email and SMS codes past their expiry
	ExpiredOneTimeTokens Expired = "one_time_tokens"     // verification and reset tokens past their expiry
	EndedSessions        Expired = "sessions"            // sessions revoked or expired before the cutoff (with their refresh tokens)
	ExpiredAuthRequests  Expired = "oauth_auth_requests" // OAuth authorization requests past their expiry
)

// AllExpired lists every kind, in the order the janitor removes them.
var AllExpired = []Expired{ExpiredCeremonies, ExpiredChallenges, ExpiredCodes, ExpiredOneTimeTokens, EndedSessions, ExpiredAuthRequests}

// Purge removes rows that outlived their use.
type Purge interface {
	// PurgeExpired deletes at most limit rows of the kind that expired (or, for
	// sessions, ended) before cutoff, and returns how many it deleted.
	PurgeExpired(ctx context.Context, kind Expired, cutoff time.Time, limit int) (int, error)
}
