package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func appendEvent(t *testing.T, q store.Queries, action, actor, org string, at time.Time) *store.AuditEvent {
	t.Helper()
	e := &store.AuditEvent{ID: newID(), Time: at, Action: action, ActorID: actor, OrgID: org, TargetType: "user",
		TargetID: actor, IP: "192.0.2.1", Outcome: "success", Details: `{"k":"v"}`, PersonalMAC: "p-" + action, MAC: "m-" + action}
	if err := q.AppendAudit(t.Context(), e); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if e.Pos == 0 {
		t.Fatal("AppendAudit did not set Pos")
	}
	return e
}

func unchained(t *testing.T, s store.Store) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	if err := s.ScanUnchainedAudit(t.Context(), func(e *store.AuditEvent) error { out = append(out, *e); return nil }); err != nil {
		t.Fatalf("ScanUnchainedAudit: %v", err)
	}
	return out
}

func chained(t *testing.T, s store.Store) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	if err := s.ScanAudit(t.Context(), func(e *store.AuditEvent) error { out = append(out, *e); return nil }); err != nil {
		t.Fatalf("ScanAudit: %v", err)
	}
	return out
}

// Appended events are listed at once, unchained, in insertion order; SealAudit chains
// them and the head follows; every column round-trips.
func testAuditLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := appendEvent(t, s, "user.registered", "u1", "", base)
	b := appendEvent(t, s, "user.login.failed", "u2", "", base.Add(time.Second))
	c := appendEvent(t, s, "org.created", "u1", "o1", base.Add(2*time.Second))
	if !(a.Pos < b.Pos && b.Pos < c.Pos) {
		t.Fatalf("positions %d %d %d are not increasing", a.Pos, b.Pos, c.Pos)
	}
	if seq, hash, err := s.AuditChainHead(ctx); err != nil || seq != 0 || hash != "" {
		t.Fatalf("head of an empty chain = %d %q %v", seq, hash, err)
	}
	if got := unchained(t, s); len(got) != 3 || got[0].ID != a.ID || got[0].Seq != 0 || got[0].MAC != "m-user.registered" ||
		got[0].PersonalMAC != "p-user.registered" || got[0].IP != "192.0.2.1" || !got[0].Time.Equal(base) || got[0].ErasedAt != nil {
		t.Fatalf("unchained = %+v", got)
	}
	mine, err := s.ListAudit(ctx, store.AuditFilter{SubjectID: "u1"})
	if err != nil || len(mine) != 2 || mine[0].Action != "org.created" || mine[1].Details != `{"k":"v"}` {
		t.Fatalf("ListAudit(subject u1) = %+v, %v", mine, err)
	}
	if org, _ := s.ListAudit(ctx, store.AuditFilter{OrgID: "o1"}); len(org) != 1 {
		t.Fatalf("ListAudit(org) = %d events, want 1", len(org))
	}
	page, _ := s.ListAudit(ctx, store.AuditFilter{Limit: 2})
	rest, _ := s.ListAudit(ctx, store.AuditFilter{Limit: 2, BeforePos: page[1].Pos})
	if len(page) != 2 || len(rest) != 1 || rest[0].ID != a.ID {
		t.Fatalf("paging = %d then %d events", len(page), len(rest))
	}
	since := base.Add(time.Second)
	if r, _ := s.ListAudit(ctx, store.AuditFilter{Since: &since, Action: "user.login.failed"}); len(r) != 1 {
		t.Fatalf("ListAudit(since, action) = %d, want 1", len(r))
	}
	// The chainer's part: under the lock, head, unchained after a position, seal.
	err = s.InTx(ctx, func(q store.Queries) error {
		ok, err := q.LockAuditChain(ctx)
		if err != nil || !ok {
			t.Fatalf("LockAuditChain = %v %v", ok, err)
		}
		rows, err := q.UnchainedAudit(ctx, a.Pos, 10)
		if err != nil || len(rows) != 2 || rows[0].ID != b.ID {
			t.Fatalf("UnchainedAudit(after a) = %+v %v", rows, err)
		}
		rows[0].Seq, rows[0].PrevHash, rows[0].Hash = 1, "", "h1"
		return q.SealAudit(ctx, &rows[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if seq, hash, err := s.AuditChainHead(ctx); err != nil || seq != 1 || hash != "h1" {
		t.Fatalf("head = %d %q %v; want 1 h1", seq, hash, err)
	}
	if got := chained(t, s); len(got) != 1 || got[0].ID != b.ID || got[0].Seq != 1 || got[0].Hash != "h1" {
		t.Fatalf("chained = %+v", got)
	}
	if got := unchained(t, s); len(got) != 2 || got[0].ID != a.ID || got[1].ID != c.ID {
		t.Fatalf("unchained after sealing b = %+v", got)
	}
	// A sequence number is taken once.
	err = s.InTx(ctx, func(q store.Queries) error {
		e := *c
		e.Seq, e.Hash = 1, "again"
		return q.SealAudit(ctx, &e)
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("sealing a second event at seq 1 = %v; want ErrConflict", err)
	}
}

// Concurrent appends never conflict and all land, with distinct positions.
func testAuditConcurrent(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			err := s.InTx(t.Context(), func(q store.Queries) error {
				e := &store.AuditEvent{ID: newID(), Time: base.Add(time.Duration(i)), Action: "x", Outcome: "success"}
				return q.AppendAudit(t.Context(), e)
			})
			if err != nil {
				t.Errorf("concurrent AppendAudit: %v", err)
			}
		})
	}
	wg.Wait()
	got := unchained(t, s)
	seen := map[int64]bool{}
	for _, e := range got {
		seen[e.Pos] = true
	}
	if len(got) != 20 || len(seen) != 20 {
		t.Fatalf("%d events at %d positions; want 20", len(got), len(seen))
	}
}

// One chainer at a time: while a transaction holds the chain's lock, another's attempt
// says so instead of waiting (PostgreSQL; SQLite's write lock serializes them anyway).
func testAuditChainLock(t *testing.T, s store.Store) {
	ctx := t.Context()
	if s.Dialect() != "postgres" {
		err := s.InTx(ctx, func(q store.Queries) error {
			ok, err := q.LockAuditChain(ctx)
			if err != nil || !ok {
				t.Fatalf("LockAuditChain = %v %v", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(q store.Queries) error {
			if ok, err := q.LockAuditChain(ctx); err != nil || !ok {
				return errors.New("first locker did not get the lock")
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	err := s.InTx(ctx, func(q store.Queries) error {
		ok, err := q.LockAuditChain(ctx)
		if err != nil || ok {
			t.Errorf("second LockAuditChain while held = %v %v; want false", ok, err)
		}
		return nil
	})
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(q store.Queries) error {
		if ok, err := q.LockAuditChain(ctx); err != nil || !ok {
			t.Errorf("LockAuditChain after release = %v %v", ok, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(q store.Queries) error {
		u := &store.User{ID: newID(), Email: "tx@example.com", CreatedAt: base, UpdatedAt: base}
		if err := q.CreateUser(ctx, u); err != nil {
			return err
		}
		appendEvent(t, q, "user.registered", u.ID, "", base)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	if _, err := s.UserByEmail(ctx, "tx@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user after rollback: %v, want ErrNotFound", err)
	}
	if n := len(unchained(t, s)) + len(chained(t, s)); n != 0 {
		t.Fatalf("audit events after rollback = %d, want 0", n)
	}
}
