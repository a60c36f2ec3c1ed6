package ratelimit

import (
	"sync"
	"testing"
	"time"
)

func TestMemoryWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(func() time.Time { return now })
	ctx := t.Context()
	for i := 1; i <= 5; i++ {
		if r, _ := m.Hit(ctx, "k", 5, 15*time.Minute); !r.Allowed || r.Count != i {
			t.Fatalf("hit %d: %+v", i, r)
		}
	}
	if r, _ := m.Peek(ctx, "k", 5, 15*time.Minute); r.Allowed || r.RetryAfter != 15*time.Minute {
		t.Fatalf("peek at the limit: %+v", r)
	}
	now = now.Add(5 * time.Minute)
	if r, _ := m.Hit(ctx, "k", 5, 15*time.Minute); r.Allowed || r.RetryAfter != 10*time.Minute {
		t.Fatalf("6th hit: %+v, want refused with 10m left", r)
	}
	if r, _ := m.Peek(ctx, "other", 5, time.Minute); !r.Allowed {
		t.Fatal("another key is limited")
	}
	now = now.Add(10 * time.Minute)
	if r, _ := m.Hit(ctx, "k", 5, 15*time.Minute); !r.Allowed || r.Count != 1 {
		t.Fatalf("after the window: %+v", r)
	}
	m.Hit(ctx, "k", 5, time.Minute)
	m.Reset(ctx, "k")
	if r, _ := m.Peek(ctx, "k", 1, time.Minute); !r.Allowed {
		t.Fatal("Reset did not clear the key")
	}
}

func TestMemoryConcurrentHitsNeverExceedLimit(t *testing.T) {
	m := NewMemory(time.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if r, _ := m.Hit(t.Context(), "k", 5, time.Minute); r.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 5 {
		t.Fatalf("%d of 50 concurrent hits allowed, want 5", allowed)
	}
}

func TestMemorySweepsEndedWindows(t *testing.T) {
	now := time.Now()
	m := NewMemory(func() time.Time { return now })
	for i := range 1000 {
		m.Hit(t.Context(), string(rune(i)), 1, time.Second)
	}
	now = now.Add(2 * time.Minute)
	m.Hit(t.Context(), "fresh", 1, time.Second)
	if len(m.windows) != 1 {
		t.Fatalf("%d windows kept after they ended, want 1", len(m.windows))
	}
}

func TestMemoryRefundTakesBackOneHit(t *testing.T) {
	now := time.Now()
	m := NewMemory(func() time.Time { return now })
	ctx := t.Context()
	for range 3 {
		m.Hit(ctx, "k", 3, time.Minute)
	}
	if r, _ := m.Peek(ctx, "k", 3, time.Minute); r.Allowed {
		t.Fatal("3 of 3 hits: still allowed")
	}
	now = now.Add(30 * time.Second)
	m.Refund(ctx, "k")
	if r, _ := m.Peek(ctx, "k", 3, time.Minute); !r.Allowed || r.Count != 2 {
		t.Fatalf("after a refund: %+v, want allowed with 2 hits", r)
	}
	// The window keeps its end (a minute after the first hit): a refund 30 s in does
	// not extend or restart it.
	now = now.Add(31 * time.Second)
	m.Refund(ctx, "absent") // nothing to take back: no window appears
	if r, _ := m.Peek(ctx, "k", 3, time.Minute); r.Count != 0 || len(m.windows) != 0 {
		t.Fatalf("after the window: %+v, %d windows", r, len(m.windows))
	}
}
