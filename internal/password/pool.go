package password

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrBusy means too many hashes are already waiting: answer 503 rather than queue more.
var ErrBusy = errors.New("password: hashing capacity exhausted")

// Hasher runs argon2id on a fixed number of workers. A flood of logins waits briefly for
// a worker; past the queue bound it is refused at once, so memory stays bounded
// (each hash holds MemoryKiB while it runs).
type Hasher struct {
	params   Params
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	maxWait  time.Duration
	dummy    func() string // a hash of a random password, verified for unknown accounts
	duration prometheus.Histogram
}

// NewHasher returns a hasher with workers concurrent hashes and up to queue waiting.
func NewHasher(p Params, workers, queue int, reg prometheus.Registerer) (*Hasher, error) {
	if workers < 1 {
		workers = 1
	}
	h := &Hasher{
		params:   p,
		slots:    make(chan struct{}, workers),
		maxQueue: int64(queue),
		maxWait:  10 * time.Second,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_password_hash_duration_seconds",
			Help:    "Time to compute one password hash or verification (excluding queueing).",
			Buckets: []float64{.005, .01, .02, .04, .08, .16, .32, .64, 1.28},
		}),
	}
	if reg != nil {
		reg.MustRegister(h.duration)
	}
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return nil, err
	}
	// The dummy hash costs one full hash: compute it in the background so that start-up
	// does not wait for it (the first unknown-account login does, once).
	dummy := make(chan string, 1)
	go func() {
		d, err := hashWith(p, hex.EncodeToString(random))
		if err != nil {
			d = "" // VerifyDummy then falls back to hashing on the spot
		}
		dummy <- d
	}()
	h.dummy = sync.OnceValue(func() string { return <-dummy })
	return h, nil
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

// Ready waits until the background dummy hash is computed.
func (h *Hasher) Ready() { h.dummy() }

// Hash returns the PHC string of a new argon2id hash of pw (already normalized).
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	var out string
	err := h.run(ctx, func() (err error) {
		out, err = hashWith(h.params, pw)
		return err
	})
	return out, err
}

// Verify reports whether pw matches stored, and whether stored should be upgraded.
func (h *Hasher) Verify(ctx context.Context, pw, stored string) (ok, rehash bool, err error) {
	err = h.run(ctx, func() (err error) {
		ok, rehash, err = verifyWith(h.params, pw, stored)
		return err
	})
	return ok, rehash, err
}

// VerifyDummy spends one verification on a hash nobody knows the password of, so that
// an unknown account costs the same time as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	d := h.dummy()
	if d == "" {
		_, err := h.Hash(ctx, pw)
		return err
	}
	_, _, err := h.Verify(ctx, pw, d)
	return err
}

func (h *Hasher) run(ctx context.Context, fn func() error) error {
	select {
	case h.slots <- struct{}{}: // a worker is free
	default:
		if h.waiting.Add(1) > h.maxQueue {
			h.waiting.Add(-1)
			return ErrBusy
		}
		timer := time.NewTimer(h.maxWait)
		select {
		case h.slots <- struct{}{}:
			timer.Stop()
			h.waiting.Add(-1)
		case <-timer.C:
			h.waiting.Add(-1)
			return ErrBusy
		case <-ctx.Done():
			timer.Stop()
			h.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-h.slots }()
	start := time.Now()
	err := fn()
	h.duration.Observe(time.Since(start).Seconds())
	return err
}
