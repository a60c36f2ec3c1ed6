package store

import (
	"context"
	"time"
)

// Message channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Message is an outgoing email or SMS waiting in the outbox.
type Message struct {
	ID            string
	Channel       string
	Recipient     string
	Subject       string
	BodyText      string
	BodyHTML      string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	Attempts      int
	LastError     string
	SentAt        *time.Time
	Dead          bool
}

// Outbox stores messages durably until sent.
type Outbox interface {
	// EnqueueMessage adds a message; call it in the transaction of the change that caused it.
	EnqueueMessage(ctx context.Context, m *Message) error
	// ClaimMessages leases up to limit due messages to this sender until now+lease, so that
	// other replicas skip them, and returns them.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Message, error)
	// MarkMessageSent records delivery and erases the subject and body (they may hold a
	// code or a token).
	MarkMessageSent(ctx context.Context, id string, now time.Time) error
	// MarkMessageFailed records a failed attempt and when to try again; dead stops retries
	// and erases the subject and body, as delivery does.
	MarkMessageFailed(ctx context.Context, id, lastError string, next time.Time, dead bool) error
	// DeferMessage moves a message's next attempt without counting an attempt (the
	// channel's circuit breaker is open).
	DeferMessage(ctx context.Context, id string, next time.Time) error
	// OutboxDepth counts messages not yet sent and not dead.
	OutboxDepth(ctx context.Context) (int, error)
	// MessageByID returns a message whatever its state; ErrNotFound when there is none.
	MessageByID(ctx context.Context, id string) (*Message, error)
}
