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
		TargetID: actor, IP: "192.0.2.1", Outcome: "success", Details: `{"k":"v"}`}
	if err := q.AppendAudit(t.Context(), e); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	return e
}

// verifyChain checks every link and the head, as `gatehouse audit verify` does.
func verifyChain(t *testing.T, s store.Store) int {
	t.Helper()
	prev, n := "", 0
	var last int64
	err := s.ScanAudit(t.Context(), func(e *store.AuditEvent) error {
		if e.Seq != last+1 || e.PrevHash != prev || e.Hash != e.ChainHash(prev) {
			t.Fatalf("chain broken at seq %d", e.Seq)
		}
		prev, last = e.Hash, e.Seq
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("ScanAudit: %v", err)
	}
	seq, hash, err := s.AuditHead(t.Context())
	if err != nil || seq != last || hash != prev {
		t.Fatalf("AuditHead = %d %q %v; want %d %q", seq, hash, err, last, prev)
	}
	return n
}

func testAuditChain(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := appendEvent(t, s, "user.registered", "u1", "", base)
	appendEvent(t, s, "user.login.failed", "u2", "", base.Add(time.Second))
	appendEvent(t, s, "org.created", "u1", "o1", base.Add(2*time.Second))
	if a.Seq != 1 || a.PrevHash != "" || a.Hash == "" {
		t.Fatalf("first event = %+v", a)
	}
	if n := verifyChain(t, s); n != 3 {
		t.Fatalf("chain has %d events, want 3", n)
	}
	mine, err := s.ListAudit(ctx, store.AuditFilter{SubjectID: "u1"})
	if err != nil || len(mine) != 2 || mine[0].Action != "org.created" || mine[1].Details != `{"k":"v"}` {
		t.Fatalf("ListAudit(subject u1) = %+v, %v", mine, err)
	}
	if !mine[1].Time.Equal(base) {
		t.Fatalf("time = %v, want %v", mine[1].Time, base)
	}
	org, _ := s.ListAudit(ctx, store.AuditFilter{OrgID: "o1"})
	if len(org) != 1 {
		t.Fatalf("ListAudit(org) = %d events, want 1", len(org))
	}
	page, _ := s.ListAudit(ctx, store.AuditFilter{Limit: 2})
	rest, _ := s.ListAudit(ctx, store.AuditFilter{Limit: 2, BeforeSeq: page[1].Seq})
	if len(page) != 2 || len(rest) != 1 || rest[0].Seq != 1 {
		t.Fatalf("paging = %d then %d events", len(page), len(rest))
	}
	since := base.Add(time.Second)
	if r, _ := s.ListAudit(ctx, store.AuditFilter{Since: &since, Action: "user.login.failed"}); len(r) != 1 {
		t.Fatalf("ListAudit(since, action) = %d, want 1", len(r))
	}
}

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
	if n := verifyChain(t, s); n != 20 {
		t.Fatalf("chain has %d events, want 20", n)
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
	if n := verifyChain(t, s); n != 0 {
		t.Fatalf("audit events after rollback = %d, want 0", n)
	}
}
