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
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// tlsBackend records whether each message arrived over TLS and with which login.
type tlsBackend struct {
	got chan string
}

func (b *tlsBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &tlsSession{b: b, tls: isTLS}, nil
}

type tlsSession struct {
	b    *tlsBackend
	tls  bool
	user string
}

func (s *tlsSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *tlsSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "mailer" || password != "s3cret" {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}
func (s *tlsSession) Mail(string, *smtp.MailOptions) error { return nil }
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

// A server that offers STARTTLS gets the message over TLS, credentials included, and a
// certificate that does not verify is refused.
func TestSMTPUpgradesWithSTARTTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	b := &tlsBackend{got: make(chan string, 1)}
	srv := smtp.NewServer(b)
	srv.Domain = "mail.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	msg := &store.Message{Recipient: "a@example.com", Subject: "hi", BodyText: "over tls"}

	s, err := NewSMTP("smtp://mailer:s3cret@"+ln.Addr().String(), "Gatehouse <no-reply@example.com>", caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := <-b.got; !strings.HasPrefix(got, "tls mailer ") || !strings.Contains(got, "over tls") {
		t.Fatalf("server received %.40q", got)
	}
	untrusted, _ := NewSMTP("smtp://"+ln.Addr().String(), "Gatehouse <no-reply@example.com>", nil)
	if err := untrusted.Send(context.Background(), msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("a certificate outside the trusted roots was accepted: %v", err)
	}
	if _, err := NewSMTP("smtp://x:25", "a@b.co", []byte("not pem")); err == nil {
		t.Fatal("a CA file without certificates was accepted")
	}
}
