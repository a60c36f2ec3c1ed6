package account

import (
	"context"
	"log/slog"
)

// Deferred runs work after the answer has been sent, one task at a time. Forgot-password
// and resend do real work (a token, a message, an audit row) only for real accounts; done
// before answering, that work would show in how long the answer takes, telling anyone
// which addresses have accounts.
type Deferred struct {
	tasks chan func()
	log   *slog.Logger
}

// NewDeferred returns a queue of size tasks; Run works through it.
func NewDeferred(size int, log *slog.Logger) *Deferred {
	return &Deferred{tasks: make(chan func(), size), log: log}
}

// Do queues fn, which runs with ctx's values (request id, IP) but not its cancellation.
// When the queue is full fn runs at once: slower to answer, but nothing is dropped.
func (d *Deferred) Do(ctx context.Context, name string, fn func(ctx context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	if d == nil {
		_ = fn(ctx) // no queue (a service built without one): run inline
		return
	}
	task := func() {
		if err := fn(ctx); err != nil {
			d.log.ErrorContext(ctx, "deferred task failed", "task", name, "err", err)
		}
	}
	select {
	case d.tasks <- task:
	default:
		task()
	}
}

// Run works through the queue until ctx ends, then finishes what is already queued.
func (d *Deferred) Run(ctx context.Context) {
	for {
		select {
		case task := <-d.tasks:
			task()
		case <-ctx.Done():
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
