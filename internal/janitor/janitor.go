// Package janitor removes rows that outlived their use: expired WebAuthn ceremonies, MFA
// challenges and codes, one-time tokens, OAuth authorization requests, and sessions ended
// long ago. Without it, every unauthenticated ceremony, challenge or authorization request
// would leave a row behind for ever.
package janitor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Defaults.
const (
	DefaultEvery     = 10 * time.Minute
	DefaultBatch     = 500
	DefaultRetention = 30 * 24 * time.Hour
)

// Janitor sweeps expired rows. Many replicas may run one each: every delete is a bounded
// batch of rows that are already useless, so two sweeps at once only share the work.
type Janitor struct {
	Store store.Purge
	Now   func() time.Time
	Log   *slog.Logger
	// Every is the time between sweeps (default 10 min, with up to 10% jitter so that
	// replicas drift apart).
	Every time.Duration
	// Batch bounds the rows one statement deletes (default 500).
	Batch int
	// Retention keeps ended sessions (and their refresh tokens, whose replay is then
	// still recognised and audited) this long after they ended (default 30 days).
	Retention time.Duration

	removed *prometheus.CounterVec
}

// New fills in defaults and registers the janitor's metric.
func New(j *Janitor, reg prometheus.Registerer) *Janitor {
	if j.Every <= 0 {
		j.Every = DefaultEvery
	}
	if j.Batch <= 0 {
		j.Batch = DefaultBatch
	}
	if j.Retention <= 0 {
		j.Retention = DefaultRetention
	}
	j.removed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_janitor_removed_total",
		Help: "Expired rows removed by the janitor, by table."}, []string{"table"})
	if reg != nil {
		reg.MustRegister(j.removed)
	}
	for _, k := range store.AllExpired {
		j.removed.WithLabelValues(string(k))
	}
	return j
}

// Run sweeps at start and then every Every until ctx ends.
func (j *Janitor) Run(ctx context.Context) {
	for {
		if _, err := j.Sweep(ctx); err != nil && ctx.Err() == nil {
			j.Log.Error("janitor: sweep failed", "error", err.Error())
		}
		wait := j.Every + time.Duration(rand.Int64N(int64(j.Every)/10+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Sweep removes every expired row now, batch by batch, and returns how many of each kind.
func (j *Janitor) Sweep(ctx context.Context) (map[store.Expired]int, error) {
	now := j.Now()
	out := map[store.Expired]int{}
	for _, kind := range store.AllExpired {
		cutoff := now
		if kind == store.EndedSessions {
			cutoff = now.Add(-j.Retention)
		}
		for {
			n, err := j.Store.PurgeExpired(ctx, kind, cutoff, j.Batch)
			out[kind] += n
			j.removed.WithLabelValues(string(kind)).Add(float64(n))
			if err != nil {
				return out, fmt.Errorf("janitor: sweep %s: %w", kind, err)
			}
			if n < j.Batch {
				break
			}
			select { // let other writers in between batches (SQLite has one write lock)
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return out, nil
}
