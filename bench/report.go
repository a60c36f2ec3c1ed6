package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// result is one scenario's measurements.
type result struct {
	Scenario string         `json:"scenario"`
	Conc     int            `json:"concurrency"`
	Requests int            `json:"requests"`
	RPS      float64        `json:"rps"`
	P50      float64        `json:"p50_ms"`
	P95      float64        `json:"p95_ms"`
	P99      float64        `json:"p99_ms"`
	Max      float64        `json:"max_ms"`
	Errors   int            `json:"errors"`
	ErrKinds map[string]int `json:"error_kinds,omitempty"`
	PeakRSS  float64        `json:"peak_rss_mib"`
	Note     string         `json:"note,omitempty"`
}

func summarize(name string, conc int, elapsed time.Duration, lat [][]time.Duration, errs []map[string]int, peak int64) result {
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := result{Scenario: name, Conc: conc, Requests: len(all), ErrKinds: map[string]int{}, PeakRSS: float64(peak) / (1 << 20)}
	for _, e := range errs {
		for k, n := range e {
			r.ErrKinds[k] += n
			r.Errors += n
		}
	}
	if len(all) == 0 {
		return r
	}
	pct := func(p float64) float64 {
		i := int(p * float64(len(all)-1))
		return float64(all[i].Microseconds()) / 1000
	}
	r.RPS = float64(len(all)) / elapsed.Seconds()
	r.P50, r.P95, r.P99 = pct(.50), pct(.95), pct(.99)
	r.Max = float64(all[len(all)-1].Microseconds()) / 1000
	return r
}

func (r result) errText() string {
	if r.Errors == 0 {
		return "0"
	}
	var parts []string
	for k, n := range r.ErrKinds {
		parts = append(parts, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d (%s)", r.Errors, strings.Join(parts, ", "))
}

func (r result) line() string {
	s := fmt.Sprintf("%-8s c=%-3d %8.1f req/s  p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  errors %s  peak RSS %.1f MiB",
		r.Scenario, r.Conc, r.RPS, r.P50, r.P95, r.P99, r.errText(), r.PeakRSS)
	if r.Note != "" {
		s += "  (" + r.Note + ")"
	}
	return s
}

func printTable(w io.Writer, rs []result) {
	fmt.Fprintln(w, "| scenario | conc | req/s | p50 ms | p95 ms | p99 ms | errors | peak RSS MiB | note |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.2f | %.2f | %.2f | %s | %.1f | %s |\n",
			r.Scenario, r.Conc, r.RPS, r.P50, r.P95, r.P99, r.errText(), r.PeakRSS, r.Note)
	}
}
