package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "Alice@Example.com")

	got, err := s.UserByEmail(ctx, "alice@EXAMPLE.com")
	if err != nil {
		t.Fatalf("UserByEmail (other case): %v", err)
	}
	if got.ID != u.ID || got.Email != "Alice@Example.com" || !got.CreatedAt.Equal(base) || got.LastLoginAt != nil {
		t.Fatalf("UserByEmail = %+v, want the created user with its email as given", got)
	}
	dup := &store.User{ID: newID(), Email: "ALICE@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser with a taken email (other case) = %v, want ErrConflict", err)
	}
	if _, err := s.UserByID(ctx, "no-such-id"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByID(unknown) = %v, want ErrNotFound", err)
	}
	// Injection-looking input is stored verbatim.
	odd := "Robert'); DROP TABLE users;--"
	if err := s.UpdateUserName(ctx, u.ID, odd, base.Add(1)); err != nil {
		t.Fatalf("UpdateUserName: %v", err)
	}
	if err := s.SetEmailVerified(ctx, u.ID, base); err != nil {
		t.Fatalf("SetEmailVerified: %v", err)
	}
	if err := s.SetLastLogin(ctx, u.ID, base); err != nil {
		t.Fatalf("SetLastLogin: %v", err)
	}
	if err := s.SetUserDisabled(ctx, u.ID, true, base); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	got, err = s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if !got.Disabled {
		t.Fatal("user not disabled")
	}
	if got.Name != odd || !got.EmailVerified || got.LastLoginAt == nil || !got.LastLoginAt.Equal(base) {
		t.Fatalf("after updates user = %+v", got)
	}
	if err := s.UpdateUserName(ctx, "no-such-id", "x", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUserName(unknown) = %v, want ErrNotFound", err)
	}
}

func testPasswords(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "p@example.com")
	if _, err := s.PasswordHash(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PasswordHash before set = %v, want ErrNotFound", err)
	}
	for _, h := range []string{"$argon2id$v=19$m=8,t=1,p=1$first", "$argon2id$v=19$m=8,t=1,p=1$second"} {
		if err := s.SetPasswordHash(ctx, u.ID, h, base); err != nil {
			t.Fatalf("SetPasswordHash: %v", err)
		}
		got, err := s.PasswordHash(ctx, u.ID)
		if err != nil || got != h {
			t.Fatalf("PasswordHash = %q, %v; want %q", got, err, h)
		}
	}
}

// Administrators are counted while enabled; granting the flag is a conditional write, so
// of two replicas promoting one account one wins and the other is told.
func testAdmins(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n, err := s.CountAdmins(ctx); err != nil || n != 0 {
		t.Fatalf("CountAdmins on an empty store = %d, %v", n, err)
	}
	a := newUser(t, s, "a@example.com")
	b := newUser(t, s, "b@example.com")
	if err := s.SetUserAdmin(ctx, a.ID, true, base.Add(time.Minute)); err != nil {
		t.Fatalf("SetUserAdmin: %v", err)
	}
	if err := s.SetUserAdmin(ctx, a.ID, true, base.Add(2*time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SetUserAdmin on an administrator = %v, want ErrConflict", err)
	}
	if err := s.SetUserAdmin(ctx, "no-such-id", true, base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetUserAdmin(unknown) = %v, want ErrNotFound", err)
	}
	got, err := s.UserByID(ctx, a.ID)
	if err != nil || !got.Admin || !got.UpdatedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("after promotion user = %+v, %v", got, err)
	}
	if got, _ := s.UserByID(ctx, b.ID); got.Admin {
		t.Fatal("another user was promoted")
	}
	if err := s.CreateUser(ctx, &store.User{ID: newID(), Email: "c@example.com", Admin: true, CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountAdmins(ctx); err != nil || n != 2 {
		t.Fatalf("CountAdmins = %d, %v; want 2", n, err)
	}
	if err := s.SetUserDisabled(ctx, a.ID, true, base); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountAdmins(ctx); n != 1 {
		t.Fatalf("CountAdmins with one administrator disabled = %d, want 1", n)
	}
	if err := s.SetUserAdmin(ctx, a.ID, false, base); err != nil {
		t.Fatalf("SetUserAdmin(false): %v", err)
	}
	if got, _ := s.UserByID(ctx, a.ID); got.Admin {
		t.Fatal("the administrator was not demoted")
	}
	// Concurrent promotions of one account: exactly one changes it.
	const n = 6
	results := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			results <- s.InTx(ctx, func(q store.Queries) error { return q.SetUserAdmin(ctx, b.ID, true, base) })
		})
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("concurrent SetUserAdmin: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent promotions succeeded, want exactly 1", wins)
	}
}
