package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SMTP sends email to one server: smtp:// upgrades with STARTTLS when the server offers
// it, smtps:// uses TLS from the start. Credentials in the URL are sent only over TLS
// (or to a loopback server).
type SMTP struct {
	host, port string
	implicit   bool
	user, pass string
	from       *mail.Address
	timeout    time.Duration
	tlsConfig  *tls.Config
}

// NewSMTP parses a GATEHOUSE_SMTP_URL and a From address. caPEM, when not empty, holds the
// certificates the mail server's must chain to (instead of the system roots).
func NewSMTP(rawURL, from string, caPEM []byte) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP URL: %w", err)
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("notify: From address %q: %w", from, err)
	}
	s := &SMTP{host: u.Hostname(), port: u.Port(), implicit: u.Scheme == "smtps", from: addr, timeout: 30 * time.Second}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("notify: the SMTP CA file holds no PEM certificate")
		}
		s.tlsConfig.RootCAs = pool
	}
	return s, nil
}

func (s *SMTP) Send(ctx context.Context, m *store.Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dialer := &net.Dialer{Deadline: deadline}
	addr := net.JoinHostPort(s.host, s.port)
	var conn net.Conn
	if s.implicit {
		conn, err = tls.DialWithDialer(dialer, "tcp", addr, s.tlsConfig)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: connect: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		}
	}
	if s.user != "" {
		// net/smtp's PLAIN auth itself refuses to send credentials in clear text to a
		// server that is not on loopback.
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.Recipient); err != nil {
		return fmt.Errorf("smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: end of data: %w", err)
	}
	return c.Quit()
}

// build renders a multipart/alternative message. Header values never carry CR or LF.
func (s *SMTP) build(m *store.Message) ([]byte, error) {
	to, err := mail.ParseAddress(m.Recipient)
	if err != nil || strings.ContainsAny(m.Recipient, "\r\n") {
		return nil, fmt.Errorf("smtp: bad recipient")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	idBytes := make([]byte, 12)
	rand.Read(idBytes)
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	h := []string{
		"From: " + s.from.String(),
		"To: " + to.String(),
		"Subject: " + mime.QEncoding.Encode("utf-8", strings.NewReplacer("\r", " ", "\n", " ").Replace(m.Subject)),
		"Date: " + time.Now().UTC().Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(idBytes) + "@" + domain + ">",
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
		`Content-Type: multipart/alternative; boundary="` + mw.Boundary() + `"`,
	}
	head := strings.Join(h, "\r\n") + "\r\n\r\n"
	for _, part := range []struct{ ctype, body string }{{"text/plain; charset=utf-8", m.BodyText}, {"text/html; charset=utf-8", m.BodyHTML}} {
		if part.body == "" {
			continue
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		if err := writeQP(pw, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return append([]byte(head), buf.Bytes()...), nil
}
