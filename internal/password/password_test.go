package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

var fast = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func newHasher(t *testing.T, p Params, workers, queue int) *Hasher {
	h, err := NewHasher(p, workers, queue, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestProductionParametersAreOWASP(t *testing.T) {
	h := newHasher(t, DefaultParams, 1, 0)
	phc, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not use m=19456,t=2,p=1", phc)
	}
	ok, rehash, err := h.Verify(t.Context(), "correct horse battery staple", phc)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify = %v %v %v", ok, rehash, err)
	}
}

func TestVerify(t *testing.T) {
	h := newHasher(t, fast, 2, 10)
	ctx := t.Context()
	phc, _ := h.Hash(ctx, "pässwörd with spaces")
	if ok, _, _ := h.Verify(ctx, "pässwörd with spaces", phc); !ok {
		t.Fatal("right password refused")
	}
	if ok, _, _ := h.Verify(ctx, "pässwörd with space", phc); ok {
		t.Fatal("wrong password accepted")
	}
	// An argon2id hash with other parameters verifies and asks to be upgraded.
	old, _ := hashWith(Params{MemoryKiB: 32, Iterations: 1, Parallelism: 1}, "legacy password")
	if ok, rehash, _ := h.Verify(ctx, "legacy password", old); !ok || !rehash {
		t.Fatalf("outdated argon2id: ok=%v rehash=%v", ok, rehash)
	}
	// bcrypt (imported accounts) verifies at several costs and asks to be upgraded.
	for _, cost := range []int{10, 12} {
		b, _ := bcrypt.GenerateFromPassword([]byte("imported password"), cost)
		if ok, rehash, err := h.Verify(ctx, "imported password", string(b)); !ok || !rehash || err != nil {
			t.Fatalf("bcrypt cost %d: ok=%v rehash=%v err=%v", cost, ok, rehash, err)
		}
		if ok, _, _ := h.Verify(ctx, "imported passwor", string(b)); ok {
			t.Fatal("wrong password accepted against bcrypt")
		}
	}
	// bcrypt would compare only 72 bytes; a longer password must not match a prefix.
	long := strings.Repeat("a", 72)
	b, _ := bcrypt.GenerateFromPassword([]byte(long), 10)
	if ok, _, _ := h.Verify(ctx, long+"extra", string(b)); ok {
		t.Fatal("a password longer than 72 bytes matched a bcrypt hash of its prefix")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=64,t=1,p=1$xx", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		if _, _, err := h.Verify(ctx, "x", bad); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify against %q: err = %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestHasherRefusesPastItsQueue(t *testing.T) {
	h := newHasher(t, Params{MemoryKiB: 8 * 1024, Iterations: 3, Parallelism: 1}, 1, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy, done := 0, 0
	for range 12 {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "some password here")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBusy):
				busy++
			case err == nil:
				done++
			default:
				t.Errorf("Hash: %v", err)
			}
		})
	}
	wg.Wait()
	if busy == 0 || done < 3 {
		t.Fatalf("12 hashes on 1 worker with a queue of 2: %d done, %d refused; want some refused and at least 3 done", done, busy)
	}
}

func TestPolicy(t *testing.T) {
	p := Policy{MinLength: 12}
	tests := []struct {
		pw      string
		context []string
		weak    string // part of the reason, or "" for accepted
	}{
		{"correct horse battery", nil, ""},
		{"ünïcödé pässwörd 🔑", nil, ""},
		{"           x", nil, ""},                      // spaces count, no composition rules
		{"short", nil, "at least 12"},                  // too short
		{"ｐａｓｓｗｏｒｄ１２３", nil, "at least 12"},            // NFKC folds full-width to 11 ASCII characters
		{strings.Repeat("z", 300), nil, "at most 256"}, // hard cap
		{strings.Repeat("é", 257), nil, "at most 256"},
		{"QWERTY123456", nil, "too common"},             // blocklisted, any case
		{"1qaz2wsx3edc", nil, "too common"},             // from the list
		{"PasswordPassword", nil, "repeated"},           // a word twice
		{"password2024!!", nil, "too common"},           // listed word + digits
		{"abcabcabcabcabc", nil, "repeated"},            // repetition
		{"aaaaaaaaaaaaaaaaaaaa", nil, "repeated"},       // repetition
		{strings.Repeat("a", 64), nil, ""},              // 64 characters are always allowed ...
		{strings.Repeat("correct horse ", 18), nil, ""}, // ... whatever their pattern
		{strings.Repeat("Xy9!", 64), nil, ""},           // 256: the cap itself
		{strings.Repeat("ab", 31), nil, "repeated"},     // 62: still a pattern
		{"jsmith-is-my-handle", []string{"jsmith"}, "email"},
		{"bad\x00password123", nil, "control"},
	}
	for _, tc := range tests {
		err := p.Check(tc.pw, tc.context...)
		var w *Weak
		switch {
		case tc.weak == "" && err != nil:
			t.Errorf("Check(%q) = %v, want accepted", tc.pw, err)
		case tc.weak != "" && (!errors.As(err, &w) || !strings.Contains(w.Reason, tc.weak)):
			t.Errorf("Check(%q) = %v, want a reason mentioning %q", tc.pw, err, tc.weak)
		}
	}
	if n := CommonCount(); n < 10000 {
		t.Fatalf("blocklist has %d entries, want at least 10,000", n)
	}
	// Each code point counts once: 12 emoji are 12 characters.
	if err := p.Check(strings.Repeat("🔑🗝", 6)); err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Fatalf("emoji password: %v", err)
	}
	if err := p.Check("🔑🗝🔒🔓🛡⚔🏰🚪🧱🪟🕯📜"); err != nil {
		t.Fatalf("12 distinct emoji refused: %v", err)
	}
}
