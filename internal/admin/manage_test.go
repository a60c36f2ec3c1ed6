package admin_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
)

// Two administrators each remove the other at the same moment, many times over, on
// both databases: exactly one change wins each time, the other is ErrLastAdmin, and
// one enabled administrator always remains (the administrators' rows are locked
// before they are counted).
func TestConcurrentDemotions(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db, err := sqlstore.Open(t.Context(), b.URL(t), sqlstore.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			svc := &admin.Service{Store: db, Audit: audit.NewLog(make([]byte, 32)), Now: time.Now}
			f, tr := false, true
			for round := range 20 {
				var ids [2]string
				for i := range ids {
					now := time.Now().UTC()
					u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: uuid.NewString() + "@example.com", Admin: true,
						CreatedAt: now, UpdatedAt: now}
					if err := db.CreateUser(t.Context(), u); err != nil {
						t.Fatal(err)
					}
					ids[i] = u.ID
				}
				// Removals: demote one, disable the other (both take an administrator away).
				patches := [2]admin.Patch{{Admin: &f}, {Disabled: &tr}}
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i := range 2 {
					wg.Go(func() { _, errs[i] = svc.UpdateUser(t.Context(), ids[1-i], ids[i], patches[i]) })
				}
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, admin.ErrLastAdmin):
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if n, _ := db.CountAdmins(t.Context()); won != 1 || n != 1 {
					t.Fatalf("round %d: %d changes won (%v), %d administrators left; want 1 and 1", round, won, errs, n)
				}
				// The survivor is taken out of the administrators for the next round.
				for _, id := range ids {
					if err := db.SetUserDisabled(t.Context(), id, true, time.Now()); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}
