package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// measure runs one scenario: setup, warm-up, then the measured phase, sampling the
// server's RSS from the start of the warm-up to the end.
func measure(ctx context.Context, srv *server, o options, name string, sc scenario) (result, error) {
	c := newClient(srv.base, o.conc)
	defer c.close()
	workers := make([]*worker, o.conc)
	for i := range workers {
		workers[i] = &worker{id: i}
	}
	if sc.setup != nil {
		fmt.Fprintf(os.Stderr, "%s: setting up %d workers ...\n", name, o.conc)
		if err := setupAll(ctx, c, sc, workers); err != nil {
			return result{}, fmt.Errorf("setup: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %s warm-up, %s measured ...\n", name, o.warmup, o.duration)
	stopSampling := srv.sampleRSS()
	begin := time.Now().Add(o.warmup)
	end := begin.Add(o.duration)
	tallies := make([]tally, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() { tallies[i] = drive(ctx, c, sc, w, begin, end) })
	}
	// CPU use over the measured window (begin to end).
	var cpuFrom, cpuTo cpuSnap
	wg.Go(func() {
		for _, at := range []time.Time{begin, end} {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			if at == begin {
				cpuFrom = srv.cpu()
			} else {
				cpuTo = srv.cpu()
			}
		}
	})
	wg.Wait()
	elapsed := time.Since(begin) // requests started before end count; so does their tail
	mem := stopSampling()
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	r := summarize(name, len(workers), elapsed, tallies, mem)
	r.CPU = cpuFrom.share(cpuTo)
	return r, nil
}

// setupAll runs the setup of every worker, a few at a time so that the server's hash queue
// is not what fails, and returns the first error.
func setupAll(ctx context.Context, c *client, sc scenario, workers []*worker) error {
	errs := make([]error, len(workers))
	slots := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			errs[i] = sc.setup(ctx, c, w)
		})
	}
	wg.Wait()
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return fmt.Errorf("%d of %d workers failed, first: %w", failed, len(workers), first)
	}
	return nil
}

// drive issues requests back to back until end, recording the ones started after begin.
func drive(ctx context.Context, c *client, sc scenario, w *worker, begin, end time.Time) tally {
	t := newTally()
	for ctx.Err() == nil {
		if w.broken && sc.recover != nil {
			t.recover(sc.recover(ctx, c, w))
		}
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		status, body, err := sc.do(ctx, c, w)
		d := time.Since(t0)
		w.broken = err != nil || status != sc.want
		if t0.Before(begin) {
			continue // warm-up
		}
		t.lat = append(t.lat, d)
		if w.broken && ctx.Err() == nil {
			t.fail(status, body, err)
		}
	}
	return t
}
