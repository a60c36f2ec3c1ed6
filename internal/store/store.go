// Package store is Gatehouse's storage contract: domain records in and out, sentinel
// errors, and small interfaces per domain composed into one Store. Services declare
// the few of them they use (with Transactor when they run transactions), so their
// field's type says what they may touch. Backends live in subpackages (sqlstore) and
// must pass the conformance suite in storetest.
package store

import (
	"context"
	"errors"
)

var (
	// ErrNotFound: no such record (or not visible to the caller's scope).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique value is taken, or a conditional update lost its race.
	ErrConflict = errors.New("store: conflict")
)

// Queries is everything that can run inside or outside a transaction.
type Queries interface {
	Users
	Credentials
	Transfer
	Sessions
	RefreshTokens
	SigningKeys
	Audit
	Outbox
	OneTimeTokens
	Orgs
	MFA
	Purge
	Clients
	AuthRequests
	Consents
	BrowserSessions
}

// Transactor runs transactions.
type Transactor interface {
	// InTx runs fn in one transaction: committed if fn returns nil, rolled back otherwise.
	InTx(ctx context.Context, fn func(q Queries) error) error
}

// Store is a backend: Queries plus transactions and lifecycle.
type Store interface {
	Queries
	Transactor
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Dialect names the backend: "sqlite" or "postgres".
	Dialect() string
	Close() error
}
