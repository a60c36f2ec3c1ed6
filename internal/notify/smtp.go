package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SMTP sends email to one server. TLS is required: smtp:// must upgrade with STARTTLS and
// smtps:// uses TLS from the start; only smtp://...?tls=none to a loopback relay is plain.
// The server's certificate must chain to the system roots or to the configured CA.
type SMTP struct {
	host       string
	port       int
	implicit   bool // smtps://
	plain      bool // ?tls=none, loopback only
	user, pass string
	from       *netmail.Address
	timeout    time.Duration
	tlsConfig  *tls.Config
}

// NewSMTP parses a GATEHOUSE_SMTP_URL and a From address. caPEM, when not empty, holds the
// certificates the mail server's must chain to (instead of the system roots).
func NewSMTP(rawURL, from string, caPEM []byte) (*SMTP, error) {
	s := &SMTP{timeout: 30 * time.Second}
	if err := s.parseURL(rawURL); err != nil {
		return nil, err
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("smtp: From address %q: %w", from, err)
	}
	s.from = addr
	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("smtp: the CA file holds no PEM certificate")
		}
		s.tlsConfig.RootCAs = pool
	}
	return s, nil
}

// parseURL applies the URL rules (config.parseSMTPURL checks the same ones at start-up).
func (s *SMTP) parseURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		// A url.Error repeats the whole URL, password included: keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("smtp: URL: %w", err)
	}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.implicit, s.port = true, 465
	default:
		return errors.New("smtp: URL: the scheme must be smtp or smtps")
	}
	if s.host = u.Hostname(); s.host == "" {
		return errors.New("smtp: URL: no host")
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return fmt.Errorf("smtp: URL: bad port %q", p)
		}
	}
	if s.plain, err = plainTLSOption(u.RawQuery); err != nil {
		return fmt.Errorf("smtp: URL: %w", err)
	}
	if s.plain && (s.implicit || !isLoopback(s.host)) {
		return errors.New("smtp: URL: tls=none is allowed only with smtp:// to a loopback host (127.0.0.0/8, ::1, localhost)")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	return nil
}

// plainTLSOption reports whether the query is tls=none, the only query the URL may carry.
func plainTLSOption(rawQuery string) (bool, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return false, err
	}
	for k, v := range q {
		if k != "tls" {
			return false, fmt.Errorf("unknown query parameter %q (only tls=none)", k)
		}
		if len(v) != 1 || v[0] != "none" {
			return false, errors.New("the only tls value is none")
		}
	}
	return q.Has("tls"), nil
}

// isLoopback reports whether host names this machine, where plain SMTP cannot be read on
// the network.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *SMTP) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Send delivers m within 30 s or ctx's deadline, whichever comes first.
func (s *SMTP) Send(ctx context.Context, m *store.Message) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c, err := mail.NewClient(s.host, s.options(ctx)...)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp: %s: %w", s.addr(), err)
	}
	return nil
}

// options configures one go-mail client for a send bounded by ctx.
func (s *SMTP) options(ctx context.Context) []mail.Option {
	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tlsConfig),
		mail.WithDialContextFunc(s.dialer(ctx)),
	}
	switch {
	case s.implicit:
		opts = append(opts, mail.WithSSL())
	case s.plain:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		// No STARTTLS offered, or a certificate that does not verify, ends the session
		// before AUTH or MAIL FROM: a stripped upgrade cannot expose anything.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.user != "" {
		// PLAIN refuses to send credentials in clear text to a server not on loopback.
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.user), mail.WithPassword(s.pass))
	}
	return opts
}

// dialer connects to the server (and for smtps:// completes the TLS handshake). Our own
// dialer because go-mail builds "host:port" without brackets, which breaks IPv6 literals,
// and watches ctx only while dialing: closing the connection when ctx ends bounds the
// whole session.
func (s *SMTP) dialer(sendCtx context.Context) mail.DialContextFunc {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, s.addr())
		if err != nil {
			return nil, err
		}
		context.AfterFunc(sendCtx, func() { conn.Close() })
		if !s.implicit {
			return conn, nil
		}
		tc := tls.Client(conn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
		return tc, nil
	}
}

// message renders m as text/plain with an optional text/html alternative. Header values
// never carry CR or LF.
func (s *SMTP) message(m *store.Message) (*mail.Msg, error) {
	if strings.ContainsAny(m.Recipient, "\r\n") {
		return nil, errors.New("smtp: bad recipient")
	}
	to, err := netmail.ParseAddress(m.Recipient)
	if err != nil {
		return nil, fmt.Errorf("smtp: bad recipient: %w", err)
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(strings.NewReplacer("\r", " ", "\n", " ").Replace(m.Subject))
	msg.SetDateWithValue(time.Now().UTC())
	// The From domain, not this host's name: the Message-ID should not reveal internal hostnames.
	msg.SetMessageIDWithValue(rand.Text() + "@" + s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:])
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, m.BodyText)
	if m.BodyHTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.BodyHTML)
	}
	return msg, nil
}
