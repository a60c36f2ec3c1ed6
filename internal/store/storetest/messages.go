package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testOneTimeTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "o@example.com")
	mk := func(hash, kind string, at time.Time) {
		t.Helper()
		tok := &store.OneTimeToken{Hash: hash, Kind: kind, UserID: u.ID, Email: u.Email, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateOneTimeToken(ctx, tok); err != nil {
			t.Fatalf("CreateOneTimeToken: %v", err)
		}
	}
	mk("old", store.TokenPasswordReset, base)
	mk("verify", store.TokenVerifyEmail, base)
	mk("new", store.TokenPasswordReset, base.Add(time.Minute))

	if _, err := s.ConsumeOneTimeToken(ctx, "old", store.TokenPasswordReset, base.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("older token after a newer one = %v, want ErrNotFound", err)
	}
	if _, err := s.ConsumeOneTimeToken(ctx, "new", store.TokenVerifyEmail, base.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of another kind = %v, want ErrNotFound", err)
	}
	if peek, err := s.PeekOneTimeToken(ctx, "new", store.TokenPasswordReset, base.Add(2*time.Minute)); err != nil || peek.UserID != u.ID {
		t.Fatalf("PeekOneTimeToken = %+v, %v", peek, err)
	}
	if _, err := s.PeekOneTimeToken(ctx, "old", store.TokenPasswordReset, base.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PeekOneTimeToken(voided) = %v, want ErrNotFound", err)
	}
	got, err := s.ConsumeOneTimeToken(ctx, "new", store.TokenPasswordReset, base.Add(2*time.Minute))
	if err != nil || got.UserID != u.ID || got.Email != u.Email {
		t.Fatalf("ConsumeOneTimeToken = %+v, %v", got, err)
	}
	if _, err := s.ConsumeOneTimeToken(ctx, "new", store.TokenPasswordReset, base.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second use = %v, want ErrNotFound", err)
	}
	// The verification token was not voided by reset tokens, but it expires.
	if _, err := s.ConsumeOneTimeToken(ctx, "verify", store.TokenVerifyEmail, base.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token = %v, want ErrNotFound", err)
	}
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, id := range []string{newID(), newID(), newID()} {
		m := &store.Message{ID: id, Channel: store.ChannelEmail, Recipient: "x@example.com", Subject: "Your code: 123456",
			BodyText: "token=secret", BodyHTML: "<p>token=secret</p>", CreatedAt: base, NextAttemptAt: base.Add(time.Duration(i) * time.Minute)}
		if err := s.EnqueueMessage(ctx, m); err != nil {
			t.Fatalf("EnqueueMessage: %v", err)
		}
	}
	if n, err := s.OutboxDepth(ctx); err != nil || n != 3 {
		t.Fatalf("OutboxDepth = %d, %v; want 3", n, err)
	}
	now := base.Add(90 * time.Second)
	got, err := s.ClaimMessages(ctx, now, time.Minute, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("ClaimMessages = %d messages, %v; want the 2 due", len(got), err)
	}
	if again, err := s.ClaimMessages(ctx, now, time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claiming again within the lease = %d messages, %v; want 0", len(again), err)
	}
	// The text of a message (it may hold a code or a token) is stored only until it is
	// delivered or given up.
	erased := func(id, state string) *store.Message {
		t.Helper()
		m, err := s.MessageByID(ctx, id)
		if err != nil {
			t.Fatalf("MessageByID: %v", err)
		}
		if m.Subject != "" || m.BodyText != "" || m.BodyHTML != "" || m.Recipient != "x@example.com" {
			t.Fatalf("%s message kept its text: subject %q, text %q, html %q (recipient %q)", state, m.Subject, m.BodyText, m.BodyHTML, m.Recipient)
		}
		return m
	}
	if m, err := s.MessageByID(ctx, got[0].ID); err != nil || m.BodyText != "token=secret" || m.Subject != "Your code: 123456" || m.SentAt != nil || m.Dead {
		t.Fatalf("MessageByID before delivery = %+v, %v", m, err)
	}
	if _, err := s.MessageByID(ctx, newID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MessageByID(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.MarkMessageSent(ctx, got[0].ID, now); err != nil {
		t.Fatalf("MarkMessageSent: %v", err)
	}
	if m := erased(got[0].ID, "a sent"); m.SentAt == nil || !m.SentAt.Equal(now) {
		t.Fatalf("sent message = %+v", m)
	}
	if err := s.MarkMessageFailed(ctx, got[1].ID, "connection refused", now.Add(time.Second), false); err != nil {
		t.Fatalf("MarkMessageFailed: %v", err)
	}
	if m, _ := s.MessageByID(ctx, got[1].ID); m.BodyText != "token=secret" || m.Subject == "" {
		t.Fatalf("a message to retry lost its text: %+v", m)
	}
	retry, err := s.ClaimMessages(ctx, now.Add(2*time.Second), time.Minute, 10)
	if err != nil || len(retry) != 1 || retry[0].ID != got[1].ID || retry[0].Attempts != 1 || retry[0].LastError != "connection refused" {
		t.Fatalf("retry claim = %+v, %v", retry, err)
	}
	if err := s.DeferMessage(ctx, retry[0].ID, now.Add(time.Hour)); err != nil {
		t.Fatalf("DeferMessage: %v", err)
	}
	// The third message falls due meanwhile; the deferred one must not come with it.
	if due, _ := s.ClaimMessages(ctx, now.Add(30*time.Minute), time.Minute, 10); len(due) != 1 || due[0].ID == retry[0].ID {
		t.Fatalf("claim before the deferral ends = %+v; want only the third message", due)
	}
	deferred, _ := s.ClaimMessages(ctx, now.Add(2*time.Hour), time.Minute, 10)
	attempts := map[string]int{}
	for _, m := range deferred {
		attempts[m.ID] = m.Attempts
	}
	if n, ok := attempts[retry[0].ID]; len(deferred) != 2 || !ok || n != 1 {
		t.Fatalf("deferred message = %+v; want it due again with its attempt count unchanged", deferred)
	}
	if err := s.MarkMessageFailed(ctx, retry[0].ID, "gave up", now, true); err != nil {
		t.Fatalf("MarkMessageFailed(dead): %v", err)
	}
	if m := erased(retry[0].ID, "a dead"); !m.Dead || m.LastError != "gave up" || m.Attempts != 2 {
		t.Fatalf("dead message = %+v", m)
	}
	if n, _ := s.OutboxDepth(ctx); n != 1 {
		t.Fatalf("OutboxDepth after one sent and one dead = %d, want 1 (the third)", n)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	k1 := &store.SigningKey{KID: "k1", Alg: "RS256", Status: store.KeyActive, PublicJWK: []byte(`{"kty":"RSA"}`),
		PrivateEnc: []byte{0, 1, 2, 255}, CreatedAt: base, ActivatedAt: &base}
	k2 := &store.SigningKey{KID: "k2", Alg: "RS256", Status: store.KeyNext, PublicJWK: []byte(`{"kty":"RSA"}`),
		PrivateEnc: []byte{9}, CreatedAt: base.Add(time.Second)}
	for _, k := range []*store.SigningKey{k1, k2} {
		if err := s.CreateSigningKey(ctx, k); err != nil {
			t.Fatalf("CreateSigningKey: %v", err)
		}
	}
	keys, err := s.ListSigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].KID != "k2" || string(keys[1].PrivateEnc) != string(k1.PrivateEnc) {
		t.Fatalf("ListSigningKeys = %+v, %v", keys, err)
	}
	now := base.Add(time.Hour)
	until := now.Add(time.Hour)
	if err := s.UpdateSigningKeyStatus(ctx, "k1", store.KeyActive, store.KeyRetired, now, &until); err != nil {
		t.Fatalf("retire: %v", err)
	}
	if err := s.UpdateSigningKeyStatus(ctx, "k2", store.KeyNext, store.KeyActive, now, nil); err != nil {
		t.Fatalf("activate: %v", err)
	}
	if err := s.UpdateSigningKeyStatus(ctx, "k2", store.KeyNext, store.KeyActive, now, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("activating twice = %v, want ErrConflict (another replica won)", err)
	}
	if err := s.DeleteExpiredSigningKeys(ctx, until.Add(time.Second)); err != nil {
		t.Fatalf("DeleteExpiredSigningKeys: %v", err)
	}
	keys, _ = s.ListSigningKeys(ctx)
	if len(keys) != 1 || keys[0].KID != "k2" || keys[0].Status != store.KeyActive || keys[0].ActivatedAt == nil {
		t.Fatalf("after rotation keys = %+v", keys)
	}
}
