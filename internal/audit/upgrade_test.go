package audit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// legacyLog builds a database as the release before the keyed chain left it: three
// events chained with plain SHA-256 and the head row.
func legacyLog(t *testing.T, url string, tamper bool) *fixture {
	t.Helper()
	db := open(t, url)
	if _, err := db.MigrateTo(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	prev := ""
	at := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Microsecond)
	for i := int64(1); i <= 3; i++ {
		e := &store.AuditEvent{Seq: i, ID: "legacy-" + string(rune('0'+i)), Time: at.Add(time.Duration(i) * time.Second),
			Action: "user.registered", ActorID: "u", IP: "192.0.2.1", Outcome: "success", Details: "{}"}
		e.Hash = audit.LegacyHash(e, prev)
		ip := e.IP
		if tamper && i == 2 {
			ip = "10.6.6.6" // changed after it was written
		}
		execIn(t, url, `INSERT INTO audit_events (seq, id, time, action, actor_id, org_id, target_type, target_id, ip, user_agent,
			request_id, outcome, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, '', '', '', $6, '', '', $7, $8, $9, $10)`,
			e.Seq, e.ID, e.Time.Format("2006-01-02T15:04:05.000000Z"), e.Action, e.ActorID, ip, e.Outcome, e.Details, prev, e.Hash)
		prev = e.Hash
	}
	execIn(t, url, `UPDATE audit_head SET seq = 3, hash = $1`, prev)
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return fixtureOn(t, db, url)
}

// An upgrade re-keys the existing chain once: it checks the old chain, seals every row
// with the key, relinks it, and records audit.chain.rekeyed with the result. Until then
// verify refuses to call the unkeyed chain intact.
func TestUpgradeRekeysTheLegacyChainOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		f := legacyLog(t, url, false)
		if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() || !strings.Contains(rep.Broken, "before the chain was keyed") {
			t.Fatalf("verify before the re-key: %+v", rep)
		}
		if n := f.chain(t); n != 1 { // the rekeyed event itself
			t.Fatalf("chained %d new events, want 1 (audit.chain.rekeyed)", n)
		}
		rep := f.verify(t, audit.VerifyOptions{})
		if !rep.OK() || rep.Events != 4 {
			t.Fatalf("after the re-key: %+v", rep)
		}
		events, _ := f.db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.AuditChainRekeyed)})
		if len(events) != 1 || !strings.Contains(events[0].Details, `"legacy_chain":"intact"`) || !strings.Contains(events[0].Details, `"events":3`) {
			t.Fatalf("rekeyed events = %+v", events)
		}
		// Once only: a second chainer (another replica, a restart) finds nothing to re-key.
		g := fixtureOn(t, f.db, url)
		g.chain(t)
		if events, _ := f.db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.AuditChainRekeyed)}); len(events) != 1 {
			t.Fatalf("re-keyed %d times", len(events))
		}
	})
}

// A legacy chain that was tampered with before the upgrade is re-keyed (the service must
// go on), but the event says so, and so does the log.
func TestUpgradeRecordsABrokenLegacyChain(t *testing.T) {
	f := legacyLog(t, sqliteURL(t), true)
	f.chain(t)
	events, _ := f.db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.AuditChainRekeyed)})
	if len(events) != 1 || !strings.Contains(events[0].Details, `"legacy_chain":"broken"`) || !strings.Contains(events[0].Details, "event 2 was changed") {
		t.Fatalf("rekeyed events = %+v", events)
	}
	if !strings.Contains(f.logs.String(), "was broken before re-keying") {
		t.Fatalf("the break was not logged: %s", f.logs.String())
	}
}
