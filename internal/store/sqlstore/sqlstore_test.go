package sqlstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

func openMigrated(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := db.Migrate(t.Context()); err != nil {
		db.Close()
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return openMigrated(t, b.URL(t)) })
		})
	}
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := openMigrated(t, b.URL(t))
			defer db.Close()
			n, err := db.Migrate(t.Context())
			if err != nil || n != 0 {
				t.Fatalf("second Migrate applied %d, %v; want 0, nil", n, err)
			}
			st, err := db.MigrationStatus(t.Context())
			if err != nil || len(st) == 0 {
				t.Fatalf("MigrationStatus = %v, %v", st, err)
			}
			for _, s := range st {
				if !s.Applied {
					t.Fatalf("migration %d not applied", s.Version)
				}
			}
		})
	}
}

// Replicas starting together must each see a complete schema and none may fail.
func TestConcurrentMigrations(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 4 {
				wg.Go(func() {
					db, err := sqlstore.Open(context.Background(), url, sqlstore.Options{MaxConns: 2})
					if err != nil {
						errs <- err
						return
					}
					defer db.Close()
					_, err = db.Migrate(context.Background())
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("concurrent migrate: %v", err)
				}
			}
			db := openMigrated(t, url)
			defer db.Close()
			st, _ := db.MigrationStatus(t.Context())
			for _, s := range st {
				if !s.Applied {
					t.Fatalf("migration %d not applied", s.Version)
				}
			}
		})
	}
}
