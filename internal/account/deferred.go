package account

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Deferred runs work after the answer has been sent, one task at a time. Forgot-password
// and resend do real work (a token, a message, an audit row) only for real accounts; done
// before answering, that work would show in how long the answer takes, telling anyone
// which addresses have accounts. So the answer never waits for it: when the queue is
// full (a flood), the oldest queued task is dropped, counted in a metric, rather than
// the new one run inline, whose time would again depend on the account.
type Deferred struct {
	tasks   chan func()
	log     *slog.Logger
	dropped prometheus.Counter

	mu     sync.RWMutex
	closed bool // Run has stopped taking tasks: Do runs them inline
}

// NewDeferred returns a queue of size tasks, registering its metric with reg (may be
// nil); Run works through it.
func NewDeferred(size int, log *slog.Logger, reg prometheus.Registerer) *Deferred {
	d := &Deferred{tasks: make(chan func(), size), log: log, dropped: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_deferred_dropped_total",
		Help: "Deferred tasks (forgot-password and verification emails) dropped because the queue was full.",
	})}
	if reg != nil {
		reg.MustRegister(d.dropped)
	}
	return d
}

// Do queues fn, which runs with ctx's values (request id, IP) but not its cancellation.
// When the queue is full, the oldest queued task makes room. Once Run has stopped (the
// server is shutting down and answers no one any more), fn runs at once: nothing is
// dropped at shutdown.
func (d *Deferred) Do(ctx context.Context, name string, fn func(ctx context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	if d == nil {
		_ = fn(ctx) // no queue (a service built without one): run inline
		return
	}
	task := func() {
		defer func() {
			if p := recover(); p != nil {
				d.log.ErrorContext(ctx, "deferred task panicked", "task", name, "panic", p)
			}
		}()
		if err := fn(ctx); err != nil {
			d.log.ErrorContext(ctx, "deferred task failed", "task", name, "err", err)
		}
	}
	d.mu.RLock()
	closed := d.closed
	if !closed {
		d.enqueue(ctx, task)
	}
	d.mu.RUnlock()
	if closed {
		task()
	}
}

// enqueue puts task on the queue, dropping the oldest queued tasks to make room.
func (d *Deferred) enqueue(ctx context.Context, task func()) {
	for {
		select {
		case d.tasks <- task:
			return
		default:
		}
		select {
		case <-d.tasks:
			d.dropped.Inc()
			d.log.WarnContext(ctx, "deferred queue full: dropped the oldest task")
		default: // Run took one meanwhile: there is room now
		}
	}
}

// Run works through the queue until ctx ends, then finishes what is already queued;
// tasks given after that run inline.
func (d *Deferred) Run(ctx context.Context) {
	d.mu.Lock()
	d.closed = false // a new run takes tasks again
	d.mu.Unlock()
	for {
		select {
		case task := <-d.tasks:
			task()
		case <-ctx.Done():
			d.mu.Lock()
			d.closed = true
			d.mu.Unlock()
			for {
				select {
				case task := <-d.tasks:
					task()
				default:
					return
				}
			}
		}
	}
}
