// Package ratelimit counts attempts per key in fixed windows that start at a key's first
// hit. The Limiter interface has a memory implementation (one replica) and room for a
// shared one (Redis) for many.
package ratelimit

import (
	"context"
	"time"
)

// Result of a limiter call.
type Result struct {
	Allowed    bool
	Count      int           // hits in the current window
	RetryAfter time.Duration // until the window ends, when not allowed
}

// Limiter counts hits per key.
type Limiter interface {
	// Hit records one hit and reports whether the key is still within limit.
	Hit(ctx context.Context, key string, limit int, window time.Duration) (Result, error)
	// Peek reports whether the key has reached limit, without recording a hit.
	Peek(ctx context.Context, key string, limit int, window time.Duration) (Result, error)
	// Refund takes back one earlier hit of the key (an attempt that turned out right),
	// leaving the rest of its window as it was.
	Refund(ctx context.Context, key string) error
	// Reset forgets the key.
	Reset(ctx context.Context, key string) error
}
