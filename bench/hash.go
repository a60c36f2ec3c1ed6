package main

import (
	"context"
	"runtime"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/password"
)

// hashCeiling times one argon2id hash on one core (the server's parameters) and returns
// the hash-bound login ceiling: CPUs ÷ hash time.
func hashCeiling(o options) (time.Duration, float64, error) {
	p := password.DefaultParams
	if o.argonMem != "" {
		n, err := strconv.Atoi(o.argonMem)
		if err != nil {
			return 0, 0, err
		}
		p.MemoryKiB = uint32(n)
	}
	if o.argonIter != "" {
		n, err := strconv.Atoi(o.argonIter)
		if err != nil {
			return 0, 0, err
		}
		p.Iterations = uint32(n)
	}
	h, err := password.NewHasher(p, 1, 0, nil)
	if err != nil {
		return 0, 0, err
	}
	const n = 20
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := h.Hash(context.Background(), "some benchmark password"); err != nil {
			return 0, 0, err
		}
	}
	per := time.Since(start) / n
	return per, float64(runtime.NumCPU()) / per.Seconds(), nil
}
