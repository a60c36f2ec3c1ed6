package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// AuditEvent is one append-only, hash-chained row of the audit log.
type AuditEvent struct {
	Seq        int64
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
	PrevHash   string
	Hash       string
}

// ChainHash is the hash of this event linked to the previous one. Every field is
// length-prefixed so that no two different events encode alike.
func (e *AuditEvent) ChainHash(prev string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	for _, f := range []string{prev, e.ID, e.Time.UTC().Format(time.RFC3339Nano), e.Action, e.ActorID, e.OrgID,
		e.TargetType, e.TargetID, e.IP, e.UserAgent, e.RequestID, e.Outcome, e.Details} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditFilter selects events for listing. Empty fields match everything.
type AuditFilter struct {
	// SubjectID matches events whose actor or target user is this id.
	SubjectID string
	ActorID   string
	OrgID     string
	Action    string
	Since     *time.Time
	Until     *time.Time
	// BeforeSeq pages backwards: only events older than this sequence number.
	BeforeSeq int64
	Limit     int
}

// Audit stores the audit log.
type Audit interface {
	// AppendAudit assigns the event its sequence number and chain hash and stores it.
	// Call it in the transaction of the change it records.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns matching events, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// ScanAudit calls fn for every event in chain order.
	ScanAudit(ctx context.Context, fn func(*AuditEvent) error) error
	// AuditHead returns the sequence number and hash of the newest event, so that a
	// verifier notices rows cut from the end of the chain.
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
}
