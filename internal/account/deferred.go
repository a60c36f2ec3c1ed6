package account

import (
	"context"
	"log/slog"
	"sync"
)

// Deferred runs work after the answer has been sent, one task at a time. Forgot-password
// and resend do real work (a token, a message, an audit row) only for real accounts; done
// before answering, that work would show in how long the answer takes, telling anyone
// which addresses have accounts.
type Deferred struct {
	tasks chan func()
	log   *slog.Logger

	mu     sync.RWMutex
	closed bool // Run has stopped taking tasks: Do runs them inline
}

// NewDeferred returns a queue of size tasks; Run works through it.
func NewDeferred(size int, log *slog.Logger) *Deferred {
	return &Deferred{tasks: make(chan func(), size), log: log}
}

// Do queues fn, which runs with ctx's values (request id, IP) but not its cancellation.
// When the queue is full, or Run has stopped, fn runs at once: slower to answer, but
// nothing is dropped.
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
	queued := false
	d.mu.RLock()
	if !d.closed {
		select {
		case d.tasks <- task:
			queued = true
		default:
		}
	}
	d.mu.RUnlock()
	if !queued {
		task()
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
