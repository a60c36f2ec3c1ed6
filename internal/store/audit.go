package store

import (
	"context"
	"time"
)

// AuditEvent is one append-only row of the audit log. A request appends it in the
// transaction of the change it records, with a keyed MAC of its content; the chainer
// later links committed rows into the hash chain (Seq, PrevHash, Hash), so appending
// never waits on a shared row. The store never computes MACs: it does not hold the key.
type AuditEvent struct {
	Pos        int64 // insertion order, assigned by AppendAudit
	ID         string
	Time       time.Time
	Action     string
	ActorID    string
	OrgID      string
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	RequestID  string
	Outcome    string
	Details    string // JSON object
	// PersonalMAC covers the fields that may hold personal data (IP, user agent,
	// details); MAC covers the rest and PersonalMAC, so those fields can be erased
	// without breaking the chain. Empty on a row written before the chain was keyed.
	PersonalMAC string
	MAC         string
	ErasedAt    *time.Time // set when IP, user agent and details were erased
	// Chain fields: zero until the chainer links the row.
	Seq      int64
	PrevHash string
	Hash     string
}

// AuditFilter selects events for listing. Empty fields match everything.
type AuditFilter struct {
	// SubjectID matches events whose actor or target user is this id.
	SubjectID string
	ActorID   string
	// TargetID matches events about this target (any kind).
	TargetID string
	OrgID    string
	Action   string
	Since    *time.Time
	Until    *time.Time
	// BeforePos pages backwards: only events appended before this position.
	BeforePos int64
	// AfterPos with Ascending pages forwards, oldest first (for exports).
	AfterPos  int64
	Ascending bool
	Limit     int
}

// Audit stores the audit log.
type Audit interface {
	// AppendAudit stores the event, unchained, and sets its Pos. Call it in the
	// transaction of the change it records.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// AppendAudits inserts many events unchained in one statement, in their order (Pos is
	// not set).
	AppendAudits(ctx context.Context, events []*AuditEvent) error
	// ListAudit returns matching events, chained or not, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// ScanAudit calls fn for every chained event in chain order.
	ScanAudit(ctx context.Context, fn func(*AuditEvent) error) error
	// ScanUnchainedAudit calls fn for every event not yet chained, in insertion order.
	ScanUnchainedAudit(ctx context.Context, fn func(*AuditEvent) error) error

	// The chainer's part. LockAuditChain takes, inside a transaction, the lock that
	// makes one chainer at a time extend the chain; false when another holds it.
	LockAuditChain(ctx context.Context) (bool, error)
	// AuditChainHead is the newest chained event's sequence number and hash (0, "" for
	// an empty chain).
	AuditChainHead(ctx context.Context) (seq int64, hash string, err error)
	// UnchainedAudit returns up to limit events not yet chained and appended after
	// afterPos, in insertion order.
	UnchainedAudit(ctx context.Context, afterPos int64, limit int) ([]AuditEvent, error)
	// SealAudit stores e's MACs and chain fields (by Pos).
	SealAudit(ctx context.Context, e *AuditEvent) error
}
