package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

func eachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.URL(t)) })
	}
}

// Appended events wait unchained (listed at once), the chainer links them in order, and
// the whole log verifies; a checkpoint taken from the head verifies too.
func TestChainerLinksAppendedEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		f := newFixture(t, url)
		f.record(t, 5)
		if rep := f.verify(t, audit.VerifyOptions{}); !rep.OK() || rep.Events != 0 || rep.Pending != 5 {
			t.Fatalf("before chaining: %+v", rep)
		}
		if n := f.chain(t); n != 5 {
			t.Fatalf("chained %d events, want 5", n)
		}
		seq, hash, err := f.db.AuditChainHead(t.Context())
		if err != nil || seq != 5 {
			t.Fatalf("head = %d %v", seq, err)
		}
		rep := f.verify(t, audit.VerifyOptions{Checkpoint: &audit.Checkpoint{Seq: seq, Hash: hash}})
		if !rep.OK() || rep.Events != 5 || rep.Pending != 0 || !rep.CheckpointSeen {
			t.Fatalf("after chaining: %+v", rep)
		}
		if n := f.chain(t); n != 0 {
			t.Fatalf("a second pass chained %d events", n)
		}
	})
}

// Every column is covered by a MAC or the link: changing any one is reported.
func TestEveryColumnIsCovered(t *testing.T) {
	columns := map[string]string{
		"id": "'forged-id'", "time": "'2020-01-01T00:00:00.000000Z'", "action": "'user.deleted'", "actor_id": "'x'",
		"org_id": "'x'", "target_type": "'x'", "target_id": "'x'", "ip": "'10.6.6.6'", "user_agent": "'x'",
		"request_id": "'x'", "outcome": "'failure'", "details": `'{"i":99}'`, "personal_mac": "'00'", "mac": "'00'",
		"prev_hash": "'00'", "hash": "'00'", "seq": "seq + 100",
	}
	for col, value := range columns {
		t.Run(col, func(t *testing.T) {
			f := newFixture(t, testdb.SQLiteURL(t))
			f.record(t, 4)
			f.chain(t)
			f.exec(t, fmt.Sprintf(`UPDATE audit_events SET %s = %s WHERE seq = 2`, col, value))
			if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() {
				t.Fatalf("changing %s went unnoticed: %+v", col, rep)
			}
		})
	}
}

// Attack 1 of the review: delete a middle row and recompute the chain. Without the key
// the attacker can only relink with a key of their own (or the old unkeyed hash): the
// result never verifies.
func TestRecomputedChainWithoutTheKeyFails(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		f := newFixture(t, url)
		f.record(t, 6)
		f.chain(t)
		f.exec(t, `DELETE FROM audit_events WHERE seq = 3`)
		f.exec(t, `UPDATE audit_events SET seq = seq + 1000 WHERE seq > 3`)
		f.exec(t, `UPDATE audit_events SET seq = seq - 1001 WHERE seq > 1000`)
		relinkWithoutKey(t, f)
		rep := f.verify(t, audit.VerifyOptions{})
		if rep.OK() || rep.Events != 0 {
			t.Fatalf("a chain relinked without the key verified: %+v", rep)
		}
	})
}

// The chainer does not relink rows taken out of the chain: an attacker who deletes a row
// and un-chains what follows, hoping the service chains them again, gets them reported.
func TestUnchainedOldRowsAreNotRelinked(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	err := f.db.InTx(t.Context(), func(q store.Queries) error {
		for i := range 5 {
			e := audit.Event{Action: audit.UserLoginFailed, Time: time.Now().Add(-time.Hour + time.Duration(i)*time.Second)}
			if err := f.log.Record(t.Context(), q, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.chainer.LateAfter = 2 * time.Hour // chained when they were new
	f.chain(t)
	f.exec(t, `DELETE FROM audit_events WHERE seq = 3`)
	f.exec(t, `UPDATE audit_events SET seq = NULL, prev_hash = '', hash = '' WHERE seq > 3`)
	g := fixtureOn(t, f.db, f.url) // a chainer of today: ten minutes
	if n := g.chain(t); n != 0 {
		t.Fatalf("the chainer relinked %d rows an hour old", n)
	}
	if !strings.Contains(g.logs.String(), "older than") {
		t.Fatalf("the refused rows were not logged: %s", g.logs.String())
	}
	if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() || !strings.Contains(rep.Broken, "never chained") {
		t.Fatalf("rows taken out of the chain: %+v", rep)
	}
	// The operator, having looked, can have them linked: the log records that.
	g.chainer.AcceptLate = true
	if n := g.chain(t); n != 3 { // the two late rows and the event recording them
		t.Fatalf("with AcceptLate the chainer linked %d rows, want 3", n)
	}
	if rep := f.verify(t, audit.VerifyOptions{}); !rep.OK() || rep.Events != 5 {
		t.Fatalf("after accepting the late rows: %+v", rep)
	}
	events, _ := f.db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.AuditLateAccepted)})
	if len(events) != 1 || !strings.Contains(events[0].Details, `"events":2`) {
		t.Fatalf("late_accepted events = %+v", events)
	}
}

// relinkWithoutKey recomputes prev_hash and hash of every chained row with plain SHA-256,
// as someone without the key would.
func relinkWithoutKey(t *testing.T, f *fixture) {
	t.Helper()
	var rows []store.AuditEvent
	if err := f.db.ScanAudit(t.Context(), func(e *store.AuditEvent) error { rows = append(rows, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, e := range rows {
		sum := sha256.Sum256([]byte(fmt.Sprint(e.Seq, prev, e.MAC)))
		h := hex.EncodeToString(sum[:])
		f.exec(t, `UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE pos = $3`, prev, h, e.Pos)
		prev = h
	}
}

// Attack 2 of the review: cut rows from the end. The chain alone cannot show it; a
// checkpoint logged before the cut can.
func TestTruncatedTailFailsAgainstACheckpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		f := newFixture(t, url)
		f.record(t, 5)
		f.chain(t)
		seq, hash, _ := f.db.AuditChainHead(t.Context())
		cp := &audit.Checkpoint{Seq: seq, Hash: hash}
		f.exec(t, `DELETE FROM audit_events WHERE seq >= 4`)
		if rep := f.verify(t, audit.VerifyOptions{}); !rep.OK() || rep.Events != 3 {
			t.Fatalf("without a checkpoint the shorter chain is consistent: %+v", rep)
		}
		rep := f.verify(t, audit.VerifyOptions{Checkpoint: cp})
		if rep.OK() || !strings.Contains(rep.Broken, "cut from the end") {
			t.Fatalf("with the checkpoint: %+v", rep)
		}
		// A checkpoint whose hash is not on the chain: the chain was rewritten.
		wrong := &audit.Checkpoint{Seq: 2, Hash: strings.Repeat("0", 64)}
		if rep := f.verify(t, audit.VerifyOptions{Checkpoint: wrong}); rep.OK() {
			t.Fatalf("a checkpoint with another hash verified: %+v", rep)
		}
	})
}

// Rows inserted without the key are never chained and are reported; rows swapped are
// reported; rows never chained past the bound are reported.
func TestInsertedReorderedAndUnchainedRows(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	f.record(t, 3)
	f.chain(t)
	f.exec(t, `INSERT INTO audit_events (id, time, action, mac, personal_mac) VALUES ('forged', $1, 'user.login.succeeded', 'ab', 'cd')`,
		time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"))
	if n := f.chain(t); n != 0 {
		t.Fatalf("the chainer linked %d forged rows", n)
	}
	if !strings.Contains(f.logs.String(), "does not verify") {
		t.Fatalf("the forged row was not logged: %s", f.logs.String())
	}
	if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() || !strings.Contains(rep.Broken, "without the key") {
		t.Fatalf("a forged unchained row: %+v", rep)
	}

	g := newFixture(t, testdb.SQLiteURL(t))
	g.record(t, 3)
	g.chain(t)
	g.exec(t, `UPDATE audit_events SET seq = -1 WHERE seq = 1`)
	g.exec(t, `UPDATE audit_events SET seq = 1 WHERE seq = 2`)
	g.exec(t, `UPDATE audit_events SET seq = 2 WHERE seq = -1`)
	if rep := g.verify(t, audit.VerifyOptions{}); rep.OK() {
		t.Fatalf("swapped rows went unnoticed: %+v", rep)
	}

	h := newFixture(t, testdb.SQLiteURL(t))
	h.record(t, 2)
	if rep := h.verify(t, audit.VerifyOptions{Now: time.Now().Add(audit.PendingBound + time.Second)}); rep.OK() || !strings.Contains(rep.Broken, "never chained") {
		t.Fatalf("rows left unchained past the bound: %+v", rep)
	}
}

// The master key is part of the proof: another key cannot verify the log.
func TestAnotherKeyDoesNotVerify(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	f.record(t, 2)
	f.chain(t)
	rep, err := audit.Verify(t.Context(), f.db, []byte(strings.Repeat("k", 32)), audit.VerifyOptions{})
	if err != nil || rep.OK() || !strings.Contains(rep.Broken, "master key") {
		t.Fatalf("verify with another key: %+v %v", rep, err)
	}
}

// Erasure blanks a row's personal fields and keeps the chain verifiable; anything else
// in those fields on an erased row is a change.
func TestErasedPersonalFieldsStillVerify(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	f.record(t, 3)
	f.chain(t)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	f.exec(t, `UPDATE audit_events SET ip = '', user_agent = '', details = '{}', erased_at = $1 WHERE seq = 2`, now)
	if rep := f.verify(t, audit.VerifyOptions{}); !rep.OK() || rep.Erased != 1 {
		t.Fatalf("after erasure: %+v", rep)
	}
	f.exec(t, `UPDATE audit_events SET ip = '10.6.6.6' WHERE seq = 2`)
	if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() {
		t.Fatalf("an erased row with an IP verified: %+v", rep)
	}
}

// Many writers append while the chainer runs (on PostgreSQL, two chainers race for the
// lock): every committed event is chained once, in a gapless sequence, and rolled-back
// events leave no gap.
func TestConcurrentAppendsAndChainers(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		f := newFixture(t, url)
		other := fixtureOn(t, open(t, url), url)
		ctx, cancel := context.WithCancel(context.Background())
		var run sync.WaitGroup
		for _, c := range []*audit.Chainer{f.chainer, other.chainer} {
			c.Every = 5 * time.Millisecond
			run.Go(func() { c.Run(ctx) })
		}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				err := f.db.InTx(context.Background(), func(q store.Queries) error {
					if err := f.log.Record(context.Background(), q, audit.Event{Action: audit.UserLoginFailed, Details: map[string]any{"i": i}}); err != nil {
						return err
					}
					if i%5 == 0 {
						return errRollback
					}
					return nil
				})
				if err != nil && err != errRollback {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		cancel()
		run.Wait()
		f.chain(t)
		rep := f.verify(t, audit.VerifyOptions{})
		if !rep.OK() || rep.Events != 32 || rep.Pending != 0 {
			t.Fatalf("after concurrent appends: %+v", rep)
		}
	})
}

var errRollback = fmt.Errorf("roll back")
