package account

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every task runs exactly once: queued ones by Run (those left at shutdown too), ones
// given when the queue is full or after Run stopped inline; a failing or panicking task
// is logged and does not stop the others.
func TestDeferredRunsEveryTaskOnce(t *testing.T) {
	logs := &syncBuffer{}
	d := NewDeferred(4, slog.New(slog.NewJSONHandler(logs, nil)))
	var ran atomic.Int64
	count := func(context.Context) error { ran.Add(1); return nil }

	for range 10 { // 4 queued, 6 inline: Run is not running yet
		d.Do(t.Context(), "count", count)
	}
	if n := ran.Load(); n != 6 {
		t.Fatalf("%d tasks ran inline with a full queue of 4, want 6", n)
	}
	d.Do(t.Context(), "fails", func(context.Context) error { return errors.New("boom") })
	d.Do(t.Context(), "panics", func(context.Context) error { panic("oops") })

	ctx, stop := context.WithCancel(context.Background())
	stop() // shut down at once: Run must still drain what is queued
	d.Run(ctx)
	if n := ran.Load(); n != 10 {
		t.Fatalf("%d of 10 tasks ran after Run drained the queue", n)
	}
	d.Do(t.Context(), "late", count) // after Run: inline, not lost
	if n := ran.Load(); n != 11 {
		t.Fatalf("a task given after Run stopped was not run (%d)", n)
	}
	for _, want := range []string{"deferred task failed", "boom", "deferred task panicked", "oops"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs.String())
		}
	}
}
