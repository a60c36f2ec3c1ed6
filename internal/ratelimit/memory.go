package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is an in-process Limiter.
type Memory struct {
	Now func() time.Time

	mu      sync.Mutex
	windows map[string]*window
	sweepAt time.Time
}

type window struct {
	count int
	ends  time.Time
}

// NewMemory returns an empty in-memory limiter.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{Now: now, windows: map[string]*window{}}
}

var _ Limiter = (*Memory)(nil)

func (m *Memory) current(key string, now time.Time) *window {
	if now.After(m.sweepAt) { // drop ended windows now and then, so memory stays bounded
		for k, w := range m.windows {
			if !now.Before(w.ends) {
				delete(m.windows, k)
			}
		}
		m.sweepAt = now.Add(time.Minute)
	}
	w := m.windows[key]
	if w != nil && !now.Before(w.ends) {
		delete(m.windows, key)
		w = nil
	}
	return w
}

func (m *Memory) Hit(_ context.Context, key string, limit int, win time.Duration) (Result, error) {
	now := m.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.current(key, now)
	if w == nil {
		w = &window{ends: now.Add(win)}
		m.windows[key] = w
	}
	w.count++
	return result(w, limit, now, w.count <= limit), nil
}

func (m *Memory) Peek(_ context.Context, key string, limit int, _ time.Duration) (Result, error) {
	now := m.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.current(key, now)
	if w == nil {
		return Result{Allowed: true}, nil
	}
	return result(w, limit, now, w.count < limit), nil
}

func (m *Memory) Refund(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.current(key, m.Now()); w != nil && w.count > 0 {
		w.count--
	}
	return nil
}

func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.windows, key)
	return nil
}

func result(w *window, limit int, now time.Time, allowed bool) Result {
	r := Result{Allowed: allowed, Count: w.count}
	if !allowed {
		r.RetryAfter = w.ends.Sub(now)
	}
	return r
}
