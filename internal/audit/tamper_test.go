package audit_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// chainColumns reads the chain columns (prev_hash, hash) of the event at seq.
func (f *fixture) chainColumns(t *testing.T, seq int) (prev, hash string) {
	t.Helper()
	db := testdb.Open(t, f.url)
	if err := db.QueryRowContext(t.Context(), `SELECT prev_hash, hash FROM audit_events WHERE seq = $1`, seq).Scan(&prev, &hash); err != nil {
		t.Fatal(err)
	}
	return prev, hash
}

// A deleted event is named in the report, not only found by a broken link.
func TestADeletedEventIsNamed(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	f.record(t, 4)
	f.chain(t)
	f.exec(t, `DELETE FROM audit_events WHERE seq = 2`)
	if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() || !strings.Contains(rep.Broken, "event 2 is missing") {
		t.Fatalf("after deleting event 2: %+v", rep)
	}
}

// Deleting an event, renumbering the rest and rewriting the next prev_hash column to
// close the gap still fails: each link binds the event to its place.
func TestADeletionWithTheGapClosedFails(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	f.record(t, 4)
	f.chain(t)
	_, firstHash := f.chainColumns(t, 1)
	f.exec(t, `DELETE FROM audit_events WHERE seq = 2`)
	f.exec(t, `UPDATE audit_events SET seq = 2, prev_hash = $1 WHERE seq = 3`, firstHash)
	f.exec(t, `UPDATE audit_events SET seq = 3 WHERE seq = 4`)
	if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() {
		t.Fatalf("a deletion with its gap closed went unnoticed: %+v", rep)
	}
}

// Two events' contents swapped under their chain columns (seq, prev_hash and hash stay
// in place): each row's MACs still verify, so only a link that covers the row MAC sees it.
func TestContentsSwappedUnderTheChainFail(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	f.record(t, 4)
	f.chain(t)
	prev2, hash2 := f.chainColumns(t, 2)
	prev3, hash3 := f.chainColumns(t, 3)
	f.exec(t, `UPDATE audit_events SET seq = -2 WHERE seq = 2`)
	f.exec(t, `UPDATE audit_events SET seq = 2, prev_hash = $1, hash = $2 WHERE seq = 3`, prev2, hash2)
	f.exec(t, `UPDATE audit_events SET seq = 3, prev_hash = $1, hash = $2 WHERE seq = -2`, prev3, hash3)
	if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() {
		t.Fatalf("contents swapped under the chain went unnoticed: %+v", rep)
	}
}

// The personal fields and their MAC, copied from another event, do not verify: the row
// MAC covers the personal MAC.
func TestPersonalFieldsCannotMoveBetweenEvents(t *testing.T) {
	f := newFixture(t, testdb.SQLiteURL(t))
	f.record(t, 4)
	f.chain(t)
	f.exec(t, `UPDATE audit_events SET (ip, user_agent, details, personal_mac) =
		(SELECT ip, user_agent, details, personal_mac FROM audit_events WHERE seq = 3) WHERE seq = 2`)
	if rep := f.verify(t, audit.VerifyOptions{}); rep.OK() {
		t.Fatalf("another event's personal fields went unnoticed: %+v", rep)
	}
}
