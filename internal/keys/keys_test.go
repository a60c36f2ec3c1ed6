package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// testAudit is the audit log of these tests, keyed with a fixed test key.
var testAudit = audit.NewLog(bytes.Repeat([]byte{2}, 32))

// verifyAudit chains what was appended, then verifies the whole log.
func verifyAudit(t *testing.T, db store.Store) audit.Report {
	t.Helper()
	ch := &audit.Chainer{Store: db, Log: testAudit, Logs: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := ch.ChainAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := testAudit.Verify(t.Context(), db, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newManager(t *testing.T, db store.Store, alg string, c *clock) *Manager {
	box, _ := secretbox.New(bytes.Repeat([]byte{1}, 32))
	return &Manager{Store: db, Audit: testAudit, Box: box, Alg: alg, RetiredFor: 20 * time.Minute, Now: c.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func openDB(t *testing.T, url string) *sqlstore.DB {
	db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

type jwks struct {
	Keys []map[string]any `json:"keys"`
}

func publishedKIDs(t *testing.T, m *Manager) []string {
	var set jwks
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS key %v has private member %q", k["kid"], private)
			}
		}
		kids = append(kids, k["kid"].(string))
	}
	return kids
}

func TestInitRotateAndPublish(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		for _, alg := range Algorithms {
			t.Run(b.Name+"/"+alg, func(t *testing.T) {
				db := openDB(t, b.URL(t))
				c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
				m := newManager(t, db, alg, c)
				if err := m.Init(t.Context()); err != nil {
					t.Fatalf("Init: %v", err)
				}
				if kids := publishedKIDs(t, m); len(kids) != 2 {
					t.Fatalf("after Init published %v; want active and next", kids)
				}
				list, _ := m.List(t.Context())
				var first, next string
				for _, k := range list {
					if k.Status == store.KeyActive {
						first = k.KID
					} else if k.Status == store.KeyNext {
						next = k.KID
					}
				}
				// A second replica starting later changes nothing.
				if err := newManager(t, db, alg, c).Init(t.Context()); err != nil {
					t.Fatal(err)
				}
				if l2, _ := m.List(t.Context()); len(l2) != 2 {
					t.Fatalf("second Init created keys: %v", l2)
				}
				c.t = c.t.Add(time.Hour)
				if err := m.Rotate(t.Context(), ""); err != nil {
					t.Fatalf("Rotate: %v", err)
				}
				list, _ = m.List(t.Context())
				status := map[string]string{}
				for _, k := range list {
					status[k.KID] = k.Status
				}
				if status[first] != store.KeyRetired || status[next] != store.KeyActive || len(list) != 3 {
					t.Fatalf("after rotation: %v", status)
				}
				if _, ok := m.PublicKey(first); !ok || len(publishedKIDs(t, m)) != 3 {
					t.Fatal("the retired key left the JWKS before its tokens expired")
				}
				c.t = c.t.Add(21 * time.Minute)
				if err := m.Reload(t.Context()); err != nil {
					t.Fatal(err)
				}
				if _, ok := m.PublicKey(first); ok {
					t.Fatal("the retired key is still published after RetiredFor")
				}
				// Two keys generated at start, one rotation, one new next key.
				if rep := verifyAudit(t, db); !rep.OK() || rep.Events != 4 {
					t.Fatalf("audit after init and rotation: %+v", rep)
				}
				events, _ := db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.KeyGenerated), Limit: 10})
				generated := map[string]bool{}
				for _, e := range events {
					generated[e.TargetID] = true
				}
				if len(generated) != 3 || !generated[first] || !generated[next] {
					t.Fatalf("key.generated events name %v; want the two first keys and the new next key", generated)
				}
			})
		}
	}
}

func TestConcurrentFirstStart(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := openDB(t, b.URL(t))
			c := &clock{time.Now()}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					if err := newManager(t, db, "ES256", c).Init(context.Background()); err != nil {
						t.Errorf("Init: %v", err)
					}
				})
			}
			wg.Wait()
			list, _ := newManager(t, db, "ES256", c).List(t.Context())
			if len(list) != 2 {
				t.Fatalf("replicas starting together made %d keys, want 2", len(list))
			}
		})
	}
}

func TestWrongMasterKeyFailsLoudly(t *testing.T) {
	db := openDB(t, testdb.SQLiteURL(t))
	c := &clock{time.Now()}
	if err := newManager(t, db, "RS256", c).Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	other, _ := secretbox.New(bytes.Repeat([]byte{2}, 32))
	m := newManager(t, db, "RS256", c)
	m.Box = other
	if err := m.Init(t.Context()); err == nil {
		t.Fatal("keys opened with the wrong master key")
	}
}
