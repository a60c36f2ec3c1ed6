package storetest

import (
	"errors"
	"testing"

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
