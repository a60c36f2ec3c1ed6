package audit_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

var testKey = bytes.Repeat([]byte{7}, 32)

// fixture is an audit log on a real database, with its chainer.
type fixture struct {
	db      *sqlstore.DB
	url     string
	log     *audit.Log
	chainer *audit.Chainer
	logs    *bytes.Buffer
}

func open(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newFixture(t *testing.T, url string) *fixture {
	t.Helper()
	db := open(t, url)
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return fixtureOn(t, db, url)
}

func fixtureOn(t *testing.T, db *sqlstore.DB, url string) *fixture {
	l := audit.NewLog(testKey)
	var logs bytes.Buffer
	ch := &audit.Chainer{Store: db, Log: l, Logs: slog.New(slog.NewTextHandler(&logs, nil))}
	return &fixture{db: db, url: url, log: l, chainer: ch, logs: &logs}
}

// record appends n events, each in its own transaction.
func (f *fixture) record(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		err := f.db.InTx(t.Context(), func(q store.Queries) error {
			return f.log.Record(context.Background(), q, audit.Event{Action: audit.UserRegistered, ActorID: "u" + string(rune('a'+i%26)),
				TargetType: "user", TargetID: "t", OrgID: "o", Details: map[string]any{"i": i}, Time: time.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) chain(t *testing.T) int {
	t.Helper()
	n, err := f.chainer.ChainAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) verify(t *testing.T, opt audit.VerifyOptions) audit.Report {
	t.Helper()
	rep, err := audit.Verify(t.Context(), f.db, testKey, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (f *fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	testdb.Exec(t, f.url, query, args...)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func execIn(t *testing.T, url, query string, args ...any) {
	t.Helper()
	testdb.Exec(t, url, query, args...)
}

func sqliteURL(t *testing.T) string { return testdb.SQLiteURL(t) }
