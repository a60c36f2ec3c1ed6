package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/smtptest"
)

const testFrom = "Gatehouse <no-reply@example.com>"

// tlsBackend records what each session did (AUTH, MAIL FROM) and whether each message
// arrived over TLS and with which login.
type tlsBackend struct {
	got chan string

	mu       sync.Mutex
	commands []string
}

func (b *tlsBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &tlsSession{b: b, tls: isTLS}, nil
}

func (b *tlsBackend) record(cmd string) {
	b.mu.Lock()
	b.commands = append(b.commands, cmd)
	b.mu.Unlock()
}

// seen returns the AUTH and MAIL FROM commands the server received.
func (b *tlsBackend) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.commands...)
}

type tlsSession struct {
	b    *tlsBackend
	tls  bool
	user string
}

func (s *tlsSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *tlsSession) Auth(mech string) (sasl.Server, error) {
	s.b.record("AUTH " + mech)
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "mailer" || password != "s3cret" {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}
func (s *tlsSession) Mail(from string, _ *smtp.MailOptions) error {
	s.b.record("MAIL FROM " + from)
	return nil
}
func (s *tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsSession) Reset()                               {}
func (s *tlsSession) Logout() error                        { return nil }
func (s *tlsSession) Data(r io.Reader) error {
	body, _ := io.ReadAll(r)
	state := "plain"
	if s.tls {
		state = "tls"
	}
	s.b.got <- state + " " + s.user + " " + string(body)
	return nil
}

// selfSigned makes a certificate for 127.0.0.1 and returns it with its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// mailServer starts a go-smtp server on ln until the test ends. With tlsConfig set it
// offers STARTTLS; without, it offers AUTH in clear text, as a careless relay would.
func mailServer(t *testing.T, ln net.Listener, tlsConfig *tls.Config) *tlsBackend {
	b := &tlsBackend{got: make(chan string, 1)}
	srv := smtp.NewServer(b)
	srv.Domain = "mail.test"
	srv.TLSConfig = tlsConfig
	srv.AllowInsecureAuth = tlsConfig == nil
	srv.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func listen(t *testing.T, network, addr string) net.Listener {
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// received waits for the one message a server should have got.
func received(t *testing.T, b *tlsBackend) string {
	t.Helper()
	select {
	case got := <-b.got:
		return got
	case <-time.After(5 * time.Second):
		t.Fatal("the server received nothing")
		return ""
	}
}

func mustSMTP(t *testing.T, rawURL string, caPEM []byte) *SMTP {
	t.Helper()
	s, err := NewSMTP(rawURL, testFrom, caPEM)
	if err != nil {
		t.Fatalf("NewSMTP(%s): %v", rawURL, err)
	}
	return s
}

var testMsg = &store.Message{Recipient: "a@example.com", Subject: "hi", BodyText: "over tls"}

// A server that offers STARTTLS gets the message over TLS, credentials included, and a
// certificate that does not verify is refused before anything is sent.
func TestSMTPUpgradesWithSTARTTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	ln := listen(t, "tcp", "127.0.0.1:0")
	b := mailServer(t, ln, &tls.Config{Certificates: []tls.Certificate{cert}})

	s := mustSMTP(t, "smtp://mailer:s3cret@"+ln.Addr().String(), caPEM)
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := received(t, b); !strings.HasPrefix(got, "tls mailer ") || !strings.Contains(got, "over tls") {
		t.Fatalf("server received %.40q", got)
	}
	before := len(b.seen())
	untrusted := mustSMTP(t, "smtp://mailer:s3cret@"+ln.Addr().String(), nil)
	if err := untrusted.Send(context.Background(), testMsg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a certificate outside the trusted roots was accepted: %v", err)
	}
	if after := b.seen(); len(after) != before {
		t.Fatalf("after a failed certificate check the server saw %q", after[before:])
	}
	if _, err := NewSMTP("smtp://x:25", testFrom, []byte("not pem")); err == nil {
		t.Fatal("a CA file without certificates was accepted")
	}
}

// Someone on the path who strips STARTTLS from the server's EHLO reply gets nothing: no
// credentials, not even the envelope.
func TestSMTPRefusesAServerWithoutSTARTTLS(t *testing.T) {
	_, caPEM := selfSigned(t)
	ln := listen(t, "tcp", "127.0.0.1:0")
	b := mailServer(t, ln, nil)

	s := mustSMTP(t, "smtp://mailer:s3cret@"+ln.Addr().String(), caPEM)
	err := s.Send(context.Background(), testMsg)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("sent without STARTTLS: %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error carries the password: %v", err)
	}
	if seen := b.seen(); len(seen) != 0 {
		t.Fatalf("the server received %q", seen)
	}
}

func TestSMTPSUsesTLSFromTheStart(t *testing.T) {
	cert, caPEM := selfSigned(t)
	ln := tls.NewListener(listen(t, "tcp", "127.0.0.1:0"), &tls.Config{Certificates: []tls.Certificate{cert}})
	b := mailServer(t, ln, nil)

	s := mustSMTP(t, "smtps://mailer:s3cret@"+ln.Addr().String(), caPEM)
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := received(t, b); !strings.HasPrefix(got, "tls mailer ") || !strings.Contains(got, "over tls") {
		t.Fatalf("server received %.40q", got)
	}
	untrusted := mustSMTP(t, "smtps://"+ln.Addr().String(), nil)
	if err := untrusted.Send(context.Background(), testMsg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a certificate outside the trusted roots was accepted: %v", err)
	}
}

// ?tls=none is plain SMTP to a relay on this machine, IPv4 or IPv6, with or without login.
func TestSMTPPlainToALoopbackRelay(t *testing.T) {
	ln := listen(t, "tcp", "127.0.0.1:0")
	b := mailServer(t, ln, nil)
	for _, rawURL := range []string{"smtp://" + ln.Addr().String() + "?tls=none", "smtp://mailer:s3cret@" + ln.Addr().String() + "?tls=none"} {
		if err := mustSMTP(t, rawURL, nil).Send(context.Background(), testMsg); err != nil {
			t.Fatalf("%s: %v", rawURL, err)
		}
		if got := received(t, b); !strings.HasPrefix(got, "plain ") || !strings.Contains(got, "over tls") {
			t.Fatalf("%s: server received %.40q", rawURL, got)
		}
	}

	ln6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	b6 := mailServer(t, ln6, nil)
	if err := mustSMTP(t, "smtp://"+ln6.Addr().String()+"?tls=none", nil).Send(context.Background(), testMsg); err != nil {
		t.Fatalf("[::1]: %v", err)
	}
	if got := received(t, b6); !strings.HasPrefix(got, "plain ") {
		t.Fatalf("[::1]: server received %.40q", got)
	}
}

func TestNewSMTPRefusesBadURLs(t *testing.T) {
	for _, rawURL := range []string{
		"smtp://mail.example.com:25?tls=none",
		"smtp://10.0.0.1?tls=none",
		"smtp://[2001:db8::1]?tls=none",
		"smtps://127.0.0.1?tls=none",
		"smtp://127.0.0.1?tls=plain",
		"smtp://127.0.0.1?tls=",
		"smtp://127.0.0.1?tls=none&tls=none",
		"smtp://127.0.0.1?tls=none&insecure=1",
		"smtp://mail.example.com?starttls=optional",
		"smtp://127.0.0.1?tls=%zz",
		"http://mail.example.com",
		"smtp://:25",
		"smtp://mail.example.com:0",
		"smtp://mail.example.com:70000",
		"smtp://u:hunter2@mail.example.com:bad",
		"smtp://u:hunter2@mail.example.com\n",
	} {
		_, err := NewSMTP(rawURL, testFrom, nil)
		if err == nil {
			t.Errorf("NewSMTP(%q) was accepted", rawURL)
		} else if strings.Contains(err.Error(), "hunter2") || !strings.HasPrefix(err.Error(), "smtp: ") {
			t.Errorf("NewSMTP(%q): %v", rawURL, err)
		}
	}
	if _, err := NewSMTP("smtp://mail.example.com", "not an address", nil); err == nil {
		t.Error("a bad From address was accepted")
	}
	for rawURL, port := range map[string]int{"smtp://mail.example.com": 587, "smtps://mail.example.com": 465, "smtp://localhost:2525?tls=none": 2525} {
		if s := mustSMTP(t, rawURL, nil); s.port != port {
			t.Errorf("%s: port %d, want %d", rawURL, s.port, port)
		}
	}
}

// The message carries the subject, both parts and Auto-Submitted, and neither the subject
// nor the recipient can add a header.
func TestSMTPMessage(t *testing.T) {
	srv := smtptest.Start(t)
	s := mustSMTP(t, srv.URL, nil)
	m := &store.Message{Recipient: "a@example.com", Subject: "Reset your password\r\nBcc: victim@example.com",
		BodyText: "Open https://id.example.com/password/reset?token=abc_DEF-123 — code 123456\n", BodyHTML: "<p>Open <a href=\"https://id.example.com/password/reset?token=abc_DEF-123\">the link</a></p>"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, "a@example.com", "Reset your password")
	head, _, _ := strings.Cut(string(got.Raw), "\r\n\r\n")
	if got.Subject != "Reset your password  Bcc: victim@example.com" || strings.Contains(head, "\nBcc:") {
		t.Fatalf("subject %q, header:\n%s", got.Subject, head)
	}
	if !strings.Contains("\r\n"+head+"\r\n", "\r\nAuto-Submitted: auto-generated\r\n") {
		t.Fatalf("no Auto-Submitted header:\n%s", head)
	}
	if got.Text != strings.ReplaceAll(m.BodyText, "\n", "\r\n") || got.HTML != m.BodyHTML || got.Token() != "abc_DEF-123" || got.Code() != "123456" {
		t.Fatalf("text %q html %q", got.Text, got.HTML)
	}
	if strings.Join(got.To, ",") != "a@example.com" {
		t.Fatalf("envelope recipients %q", got.To)
	}

	textOnly := &store.Message{Recipient: "b@example.com", Subject: "plain only", BodyText: "code 654321"}
	if err := s.Send(context.Background(), textOnly); err != nil {
		t.Fatal(err)
	}
	// A single-part message ends with the CRLF that closes its last line.
	if got := srv.WaitFor(t, "b@example.com", "plain only"); strings.TrimSuffix(got.Text, "\r\n") != "code 654321" || got.HTML != "" || got.Code() != "654321" {
		t.Fatalf("text-only message: text %q html %q", got.Text, got.HTML)
	}

	for _, rcpt := range []string{"a@example.com\r\nBcc: x@example.com", "a@example.com\n", "not an address"} {
		if err := s.Send(context.Background(), &store.Message{Recipient: rcpt, Subject: "x", BodyText: "x"}); err == nil {
			t.Errorf("recipient %q was accepted", rcpt)
		}
	}
	if n := len(srv.Messages()); n != 2 {
		t.Fatalf("the server received %d messages, want 2", n)
	}
}

// A server that greets and then stalls cannot hold Send past the caller's deadline.
func TestSMTPSendRespectsTheContext(t *testing.T) {
	ln := listen(t, "tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			io.WriteString(c, "220 mail.test ESMTP\r\n") // then never answers EHLO
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := mustSMTP(t, "smtp://"+ln.Addr().String()+"?tls=none", nil).Send(ctx, testMsg)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("send to a stalled server: %v after %v", err, time.Since(start))
	}
}
