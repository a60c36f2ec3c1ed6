package secretbox

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte("private key"), "signing_key:k1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("private key")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	if pt, err := b.Open(sealed, "signing_key:k1"); err != nil || string(pt) != "private key" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := b.Open(sealed, "signing_key:k2"); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with another purpose = %v, want ErrOpen", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed, "signing_key:k1"); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with another key = %v, want ErrOpen", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed, "signing_key:k1"); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of a tampered value = %v, want ErrOpen", err)
	}
	if _, err := b.Open([]byte{1, 2}, "x"); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of a short value = %v", err)
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}
