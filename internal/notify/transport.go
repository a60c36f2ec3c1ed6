package notify

import (
	"context"
	"log/slog"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Transport delivers one message.
type Transport interface {
	Send(ctx context.Context, m *store.Message) error
}

// LogTransport writes messages to the log instead of sending them: development mode
// without SMTP or an SMS webhook. Links and codes are included so a developer can use them.
type LogTransport struct{ Log *slog.Logger }

func (t LogTransport) Send(ctx context.Context, m *store.Message) error {
	t.Log.InfoContext(ctx, "outgoing message (development: not sent)",
		"channel", m.Channel, "to", m.Recipient, "subject", m.Subject, "body", m.BodyText)
	return nil
}
