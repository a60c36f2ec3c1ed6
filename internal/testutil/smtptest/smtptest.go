// Package smtptest runs a real SMTP server (emersion/go-smtp) on loopback for tests and
// collects what it receives.
package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received email, decoded.
type Message struct {
	From    string
	To      []string
	Subject string
	Text    string
	HTML    string
	Raw     []byte
}

// Token returns the value of token= in the message's link.
func (m Message) Token() string {
	match := tokenRE.FindStringSubmatch(m.Text)
	if match == nil {
		return ""
	}
	return match[1]
}

// Code returns the first 6-digit code in the message.
func (m Message) Code() string { return codeRE.FindString(m.Text) }

var (
	tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_%-]+)`)
	codeRE  = regexp.MustCompile(`\b\d{6}\b`)
)

// Server is a running SMTP listener.
type Server struct {
	Addr string
	URL  string // smtp://127.0.0.1:port?tls=none: plain SMTP, allowed because it is loopback

	mu   sync.Mutex
	msgs []Message
	cond *sync.Cond
	srv  *smtp.Server
	ln   net.Listener
}

// Start listens on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.cond = sync.NewCond(&s.mu)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.URL = "smtp://" + s.Addr + "?tls=none"
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(&backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	s.srv, s.ln = srv, ln
	go srv.Serve(ln)
}

// Stop closes the listener (the mail server goes away).
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// Restart listens again on the same address (the mail server comes back).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restart SMTP on %s: %v", s.Addr, err)
	}
	s.serve(ln)
}

// Messages returns everything received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitTimeout bounds every wait; a wait that needs longer fails the test.
const WaitTimeout = 15 * time.Second

// Wait blocks until ok holds for the messages received so far, checking again on every
// arrival (no polling), and returns those messages. The test fails, naming what, when it
// still does not hold after WaitTimeout. ok runs with the server locked and must not keep
// the slice.
func (s *Server) Wait(t testing.TB, what string, ok func(msgs []Message) bool) []Message {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	timer := time.AfterFunc(WaitTimeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !ok(s.msgs) {
		if !time.Now().Before(deadline) {
			t.Fatalf("no %s within %s; got %d messages", what, WaitTimeout, len(s.msgs))
		}
		s.cond.Wait()
	}
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until a message to the address matching subject (substring) arrives and
// returns the latest such message.
func (s *Server) WaitFor(t testing.TB, to, subject string) Message {
	t.Helper()
	msgs := s.Wait(t, fmt.Sprintf("email to %s about %q", to, subject), func(msgs []Message) bool {
		return len(matching(msgs, to, subject)) > 0
	})
	found := matching(msgs, to, subject)
	return found[len(found)-1]
}

// WaitNth waits for the n-th message (1-based, in order of arrival) to the address whose
// subject contains subject, and returns it.
func (s *Server) WaitNth(t testing.TB, to, subject string, n int) Message {
	t.Helper()
	msgs := s.Wait(t, fmt.Sprintf("email #%d to %s about %q", n, to, subject), func(msgs []Message) bool {
		return len(matching(msgs, to, subject)) >= n
	})
	return matching(msgs, to, subject)[n-1]
}

// Matching returns the messages received so far to the address (any case) whose subject
// contains subject ("" for any), in order of arrival.
func (s *Server) Matching(to, subject string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return matching(s.msgs, to, subject)
}

// Count returns how many messages went to an address.
func (s *Server) Count(to string) int { return len(s.Matching(to, "")) }

// IsTo reports whether the message went to exactly this address (in any case).
func (m Message) IsTo(addr string) bool { return strings.EqualFold(strings.Join(m.To, ","), addr) }

func matching(msgs []Message, to, subject string) []Message {
	var out []Message
	for _, m := range msgs {
		if m.IsTo(to) && strings.Contains(m.Subject, subject) {
			out = append(out, m)
		}
	}
	return out
}

type backend struct{ s *Server }

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: b.s}, nil }

type smtpSession struct {
	s    *Server
	from string
	to   []string
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error   { x.to = append(x.to, to); return nil }
func (x *smtpSession) Reset()                                      { x.from, x.to = "", nil }
func (x *smtpSession) Logout() error                               { return nil }

func (x *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: x.from, To: x.to, Raw: raw}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		dec := new(mime.WordDecoder)
		m.Subject, _ = dec.DecodeHeader(msg.Header.Get("Subject"))
		readPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, m)
	x.s.cond.Broadcast()
	x.s.mu.Unlock()
	return nil
}

// readPart stores a text/plain or text/html body in m, descending into multipart bodies.
func readPart(m *Message, contentType, encoding string, body io.Reader) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain" // RFC 2045's default
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart() // decodes quoted-printable itself and drops the header
			if err != nil {
				return
			}
			readPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips the line breaks
	}
	text, _ := io.ReadAll(body)
	switch mediaType {
	case "text/html":
		m.HTML = string(text)
	case "text/plain":
		m.Text = string(text)
	}
}
