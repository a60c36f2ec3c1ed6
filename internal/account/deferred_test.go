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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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

// Do never runs a task on the caller's time while the queue runs: with a full queue the
// oldest task is dropped (and counted), so a flood cannot make forgot-password or resend
// answer more slowly for real accounts. Queued tasks run once, those left at shutdown
// too; a failing or panicking task is logged and does not stop the others; after Run
// stopped, tasks run inline (nothing is lost at shutdown).
func TestDeferredShedsTheOldestWhenFull(t *testing.T) {
	logs := &syncBuffer{}
	d := NewDeferred(4, slog.New(slog.NewJSONHandler(logs, nil)), prometheus.NewRegistry())
	var ran atomic.Int64
	var order []int
	var mu sync.Mutex
	task := func(i int) func(context.Context) error {
		return func(context.Context) error {
			ran.Add(1)
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			return nil
		}
	}
	for i := range 10 { // Run is not running yet: 6 are dropped, the newest 4 stay
		d.Do(t.Context(), "count", task(i))
	}
	if n := ran.Load(); n != 0 {
		t.Fatalf("%d tasks ran on the caller's time", n)
	}
	if got := testutil.ToFloat64(d.dropped); got != 6 {
		t.Fatalf("dropped = %v, want 6", got)
	}
	d.Do(t.Context(), "fails", func(context.Context) error { return errors.New("boom") })
	d.Do(t.Context(), "panics", func(context.Context) error { panic("oops") })

	ctx, stop := context.WithCancel(context.Background())
	stop() // shut down at once: Run must still drain what is queued
	d.Run(ctx)
	if n := ran.Load(); n != 2 || order[0] != 8 || order[1] != 9 {
		t.Fatalf("ran %d tasks in order %v; want the newest that fitted (8, 9) after two newer failures took room", n, order)
	}
	d.Do(t.Context(), "late", task(99)) // after Run: inline, not lost
	if n := ran.Load(); n != 3 {
		t.Fatalf("a task given after Run stopped was not run (%d)", n)
	}
	for _, want := range []string{"deferred task failed", "boom", "deferred task panicked", "oops", "dropped the oldest"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs.String())
		}
	}
}
