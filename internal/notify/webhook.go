package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Webhook delivers SMS by POSTing {"to","body"} to a URL; any 2xx means delivered.
type Webhook struct {
	URL    string
	Client *http.Client
}

// NewWebhook returns an SMS webhook transport with a bounded timeout.
func NewWebhook(url string) *Webhook {
	return &Webhook{URL: url, Client: &http.Client{Timeout: 15 * time.Second}}
}

func (w *Webhook) Send(ctx context.Context, m *store.Message) error {
	body, err := json.Marshal(map[string]string{"to": m.Recipient, "body": m.BodyText})
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gatehouse-sms/1")
	resp, err := w.Client.Do(req)
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sms webhook answered %d", resp.StatusCode)
	}
	return nil
}
