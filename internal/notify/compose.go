// Package notify sends email and SMS through a durable outbox: a message is written in
// the same transaction as the change that caused it, and a background sender delivers
// it, retrying with backoff behind a circuit breaker, so a dead mail server never fails
// or slows the request.
package notify

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Kinds of email.
const (
	VerifyEmail     = "verify_email"
	PasswordReset   = "password_reset"
	PasswordChanged = "password_changed"
	Invitation      = "invitation"
	MFACode         = "mfa_code"
	FactorChanged   = "factor_changed"
)

// Composer renders the embedded templates. Text and HTML parts come from the same file;
// the HTML part is escaped by html/template.
type Composer struct {
	Product string
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
}

// NewComposer parses the templates: one file per kind, each defining subject, text and html.
func NewComposer(product string) (*Composer, error) {
	c := &Composer{Product: product, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	files, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		kind := strings.TrimSuffix(f.Name(), ".tmpl")
		t, err := texttemplate.ParseFS(templateFS, "templates/"+f.Name())
		if err != nil {
			return nil, fmt.Errorf("notify: template %s: %w", kind, err)
		}
		h, err := htmltemplate.ParseFS(templateFS, "templates/"+f.Name())
		if err != nil {
			return nil, fmt.Errorf("notify: template %s: %w", kind, err)
		}
		c.text[kind], c.html[kind] = t, h
	}
	return c, nil
}

// Data fills a template. Product is set by the composer.
type Data map[string]any

// Email renders an email of the given kind to recipient.
func (c *Composer) Email(kind, to string, data Data) (*store.Message, error) {
	d := map[string]any{"Product": c.Product}
	for k, v := range data {
		d[k] = v
	}
	tt, ht := c.text[kind], c.html[kind]
	if tt == nil || ht == nil {
		return nil, fmt.Errorf("notify: no template %q", kind)
	}
	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", d); err != nil {
		return nil, fmt.Errorf("notify: %s: %w", kind, err)
	}
	if err := tt.ExecuteTemplate(&text, "text", d); err != nil {
		return nil, fmt.Errorf("notify: %s: %w", kind, err)
	}
	if err := ht.ExecuteTemplate(&html, "html", d); err != nil {
		return nil, fmt.Errorf("notify: %s: %w", kind, err)
	}
	return &store.Message{
		Channel:   store.ChannelEmail,
		Recipient: to,
		Subject:   strings.TrimSpace(subject.String()),
		BodyText:  strings.TrimSpace(text.String()) + "\n",
		BodyHTML:  strings.TrimSpace(html.String()) + "\n",
	}, nil
}

// SMS renders a text message; SMS bodies are short and plain.
func SMS(to, body string) *store.Message {
	return &store.Message{Channel: store.ChannelSMS, Recipient: to, BodyText: body}
}

// Link builds an emailed link: base + path + "?token=" + the token.
func Link(base, path, token string) string {
	return base + path + "?token=" + url.QueryEscape(token)
}

// Enqueue stores m in the outbox through q (the caller's transaction).
func Enqueue(ctx context.Context, q store.Outbox, m *store.Message, now time.Time) error {
	m.ID = uuid.Must(uuid.NewV7()).String()
	m.CreatedAt, m.NextAttemptAt = now, now
	return q.EnqueueMessage(ctx, m)
}
