package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/password"
)

// hashCost is the measured cost of one password hash and the login rate it allows.
type hashCost struct {
	params  string        // e.g. "m=19MiB,t=2,p=1"
	perHash time.Duration // mean time of one hash on one core
	ceiling float64       // runtime.NumCPU() / perHash, logins per second
}

// measureHash times sequential argon2id hashes with the server's parameters (the defaults,
// or -argon2-*) on one worker. A login verifies one hash, which costs the same as
// computing it, so the CPUs can sustain at most NumCPU / perHash logins per second.
func measureHash(ctx context.Context, o options) (hashCost, error) {
	p := password.DefaultParams
	if o.argonMem != 0 {
		p.MemoryKiB = uint32(o.argonMem)
	}
	if o.argonIter != 0 {
		p.Iterations = uint32(o.argonIter)
	}
	h, err := password.NewHasher(p, 1, 0, nil)
	if err != nil {
		return hashCost{}, err
	}
	const pw, n = "some benchmark password", 20
	// One unmeasured hash: NewHasher computes a dummy hash in the background, which
	// should not overlap the measured ones.
	if _, err := h.Hash(ctx, pw); err != nil {
		return hashCost{}, err
	}
	start := time.Now()
	for range n {
		if _, err := h.Hash(ctx, pw); err != nil {
			return hashCost{}, err
		}
	}
	per := time.Since(start) / n
	mem := fmt.Sprintf("%dKiB", p.MemoryKiB)
	if p.MemoryKiB%1024 == 0 {
		mem = fmt.Sprintf("%dMiB", p.MemoryKiB/1024)
	}
	return hashCost{
		params:  fmt.Sprintf("m=%s,t=%d,p=%d", mem, p.Iterations, p.Parallelism),
		perHash: per,
		ceiling: float64(runtime.NumCPU()) / per.Seconds(),
	}, nil
}
