package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Event is what a service knows about something that happened; Record adds the time,
// id and the request's IP, user agent and request id.
type Event struct {
	Action     Action
	ActorID    string // who did it; empty for an anonymous caller
	OrgID      string
	TargetType string // "user", "session", "signing_key", ...
	TargetID   string
	Outcome    string         // Success unless set
	Details    map[string]any // never secrets: no passwords, tokens or codes
	Time       time.Time      // now unless set
}

// Log appends events to the audit log, each with a keyed MAC of its content. It holds
// the key; the Chainer links what it appended into the chain.
type Log struct {
	key []byte
	// appended, when set, is told that an event was appended (the chainer's Wake).
	appended func()
}

// NewLog returns a log keyed with key (see KeyFromMaster).
func NewLog(key []byte) *Log { return &Log{key: key} }

// OnAppend sets a function told after each append, to wake the chainer.
func (l *Log) OnAppend(fn func()) { l.appended = fn }

// Record appends e to the audit log through q; call it with the transaction's Queries
// so that the event commits or rolls back with the change. It touches no shared row.
func (l *Log) Record(ctx context.Context, q store.Audit, e Event) error {
	row, err := l.row(ctx, e)
	if err != nil {
		return err
	}
	if err := q.AppendAudit(ctx, row); err != nil {
		return fmt.Errorf("audit: %s: %w", e.Action, err)
	}
	if l.appended != nil {
		l.appended()
	}
	return nil
}

// RecordAll appends events through q in one statement: Record for batches (an import's).
func (l *Log) RecordAll(ctx context.Context, q store.Audit, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]*store.AuditEvent, len(events))
	for i, e := range events {
		var err error
		if rows[i], err = l.row(ctx, e); err != nil {
			return err
		}
	}
	if err := q.AppendAudits(ctx, rows); err != nil {
		return fmt.Errorf("audit: %d events: %w", len(rows), err)
	}
	if l.appended != nil {
		l.appended()
	}
	return nil
}

// row makes e's sealed row, with the request's IP, user agent and id.
func (l *Log) row(ctx context.Context, e Event) (*store.AuditEvent, error) {
	info := reqinfo.From(ctx)
	if e.Outcome == "" {
		e.Outcome = Success
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	details := "{}"
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return nil, fmt.Errorf("audit: details: %w", err)
		}
		details = string(b)
	}
	row := &store.AuditEvent{
		ID:         uuid.Must(uuid.NewV7()).String(),
		Time:       e.Time.UTC().Truncate(time.Microsecond), // what both databases keep
		Action:     string(e.Action),
		ActorID:    e.ActorID,
		OrgID:      e.OrgID,
		TargetType: e.TargetType,
		TargetID:   e.TargetID,
		IP:         info.IP,
		UserAgent:  info.UserAgent,
		RequestID:  info.RequestID,
		Outcome:    e.Outcome,
		Details:    details,
	}
	seal(l.key, row)
	return row, nil
}

// MemberReader reads a membership: what MemberOrg needs.
type MemberReader interface {
	MemberOf(ctx context.Context, orgID, userID string) (*store.Member, error)
}

// MemberOrg is the organization to file a user's event under: orgID when the user is a
// member there, "" otherwise, so that nobody can write into the log of an organization
// they do not belong to by naming it. A failed read is an error: inside a PostgreSQL
// transaction it has already aborted the transaction.
func MemberOrg(ctx context.Context, q MemberReader, orgID, userID string) (string, error) {
	if orgID == "" || userID == "" {
		return "", nil
	}
	_, err := q.MemberOf(ctx, orgID, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("audit: membership: %w", err)
	}
	return orgID, nil
}
