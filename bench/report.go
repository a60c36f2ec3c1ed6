package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tally is one worker's record of its measured requests.
type tally struct {
	lat           []time.Duration   // every measured request, failed ones included
	errs          map[string]int    // failed requests by kind ("503", "timeout", ...)
	firsts        map[string]string // the first failure of each kind, for the report
	recovered     int               // re-logins after a failed request (unmeasured)
	recoverFailed int
	recoverErr    string // the first failed re-login
}

func newTally() tally { return tally{errs: map[string]int{}, firsts: map[string]string{}} }

// fail records a failed request: an unexpected status, a transport error or a bad body.
func (t *tally) fail(status int, body []byte, err error) {
	var kind, detail string
	var se *stepError
	switch {
	case errors.As(err, &se):
		kind, detail = se.step+" "+strconv.Itoa(se.status), se.Error()
	case errors.Is(err, errBadResponse):
		kind, detail = "bad body", err.Error()
	case err != nil:
		kind, detail = transportKind(err), err.Error()
	default:
		kind, detail = strconv.Itoa(status), snippet(body)
	}
	t.errs[kind]++
	if _, ok := t.firsts[kind]; !ok {
		t.firsts[kind] = detail
	}
}

// recover records the outcome of a re-login after a failure.
func (t *tally) recover(err error) {
	t.recovered++
	if err != nil {
		t.recoverFailed++
		if t.recoverErr == "" {
			t.recoverErr = err.Error()
		}
	}
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "conn reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	default:
		return "transport"
	}
}

// errorKind is one kind of failure with its count and first occurrence.
type errorKind struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	First string `json:"first"`
}

// result is one scenario's measurements. Latencies are in milliseconds, memory in MiB
// (0: unknown).
type result struct {
	Scenario        string      `json:"scenario"`
	Conc            int         `json:"concurrency"`
	Requests        int         `json:"requests"`
	Errors          int         `json:"errors"`
	ErrorKinds      []errorKind `json:"error_kinds,omitempty"`
	ElapsedS        float64     `json:"elapsed_s"`
	RPS             float64     `json:"rps"`
	P50             float64     `json:"p50_ms"`
	P95             float64     `json:"p95_ms"`
	P99             float64     `json:"p99_ms"`
	Max             float64     `json:"max_ms"`
	PeakRSS         float64     `json:"peak_rss_mib,omitempty"`
	HWM             float64     `json:"vm_hwm_mib,omitempty"`
	Relogins        int         `json:"relogins,omitempty"`
	ReloginFailures int         `json:"relogin_failures,omitempty"`
	ReloginError    string      `json:"relogin_error,omitempty"`
	Note            string      `json:"note,omitempty"`
	// CPU is where the machine's CPU went during the measured window (cpu.go).
	CPU cpuShare `json:"cpu"`
}

// summarize merges the workers' tallies; percentiles are exact (nearest rank).
func summarize(name string, conc int, elapsed time.Duration, ts []tally, mem memory) result {
	r := result{Scenario: name, Conc: conc, ElapsedS: elapsed.Seconds(), PeakRSS: toMiB(mem.rss), HWM: toMiB(mem.hwm)}
	var all []time.Duration
	kinds := map[string]*errorKind{}
	for _, t := range ts {
		all = append(all, t.lat...)
		for k, n := range t.errs {
			if kinds[k] == nil {
				kinds[k] = &errorKind{Kind: k, First: t.firsts[k]}
			}
			kinds[k].Count += n
			r.Errors += n
		}
		r.Relogins += t.recovered
		r.ReloginFailures += t.recoverFailed
		if r.ReloginError == "" {
			r.ReloginError = t.recoverErr
		}
	}
	for _, k := range kinds {
		r.ErrorKinds = append(r.ErrorKinds, *k)
	}
	slices.SortFunc(r.ErrorKinds, func(a, b errorKind) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Kind, b.Kind))
	})
	r.Requests = len(all)
	if len(all) == 0 {
		return r
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(all)))) - 1
		return ms(all[max(0, min(i, len(all)-1))])
	}
	r.RPS = float64(len(all)) / elapsed.Seconds()
	r.P50, r.P95, r.P99, r.Max = pct(.50), pct(.95), pct(.99), ms(all[len(all)-1])
	return r
}

// errText is the error count with the most frequent kinds, e.g. "15 (429 x12, 503 x3)".
func (r result) errText() string {
	if r.Errors == 0 {
		return "0"
	}
	const shown = 3
	var parts []string
	for i, k := range r.ErrorKinds {
		if i == shown {
			parts = append(parts, fmt.Sprintf("+%d more kinds", len(r.ErrorKinds)-shown))
			break
		}
		parts = append(parts, fmt.Sprintf("%s x%d", k.Kind, k.Count))
	}
	return fmt.Sprintf("%d (%s)", r.Errors, strings.Join(parts, ", "))
}

// printResult prints one scenario's line, then the first failure of each frequent kind.
func printResult(w io.Writer, r result) {
	fmt.Fprintf(w, "%-18s c=%-3d %7d req in %.1fs  %9.1f req/s  p50 %7.2f  p95 %7.2f  p99 %7.2f  max %7.2f ms  errors %s  peak RSS %s (VmHWM %s)",
		r.Scenario, r.Conc, r.Requests, r.ElapsedS, r.RPS, r.P50, r.P95, r.P99, r.Max, r.errText(), mibFloat(r.PeakRSS), mibFloat(r.HWM))
	if r.Note != "" {
		fmt.Fprint(w, "  "+r.Note)
	}
	fmt.Fprintln(w)
	if r.CPU != (cpuShare{}) {
		fmt.Fprintf(w, "    CPU of the machine while measured: server %.0f%%, bench %.0f%%, other processes %.0f%%\n", r.CPU.Server, r.CPU.Bench, r.CPU.Other)
	}
	for i, k := range r.ErrorKinds {
		if i == 3 {
			break
		}
		fmt.Fprintf(w, "    first %s: %s\n", k.Kind, k.First)
	}
	if r.Relogins > 0 {
		fmt.Fprintf(w, "    re-logins after failures (unmeasured): %d, %d failed %s\n", r.Relogins, r.ReloginFailures, r.ReloginError)
	}
}

// printTable prints the markdown summary; the login row is followed by its share of the
// hash-bound ceiling.
func printTable(w io.Writer, rs []result) {
	fmt.Fprintln(w, "| scenario | conc | req/s | p50 ms | p95 ms | p99 ms | errors | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		rss := "n/a"
		if r.PeakRSS > 0 {
			rss = fmt.Sprintf("%.1f", r.PeakRSS)
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.2f | %.2f | %.2f | %s | %s |", r.Scenario, r.Conc, r.RPS, r.P50, r.P95, r.P99, r.errText(), rss)
		if r.Note != "" {
			fmt.Fprint(w, " "+r.Note)
		}
		fmt.Fprintln(w)
	}
}

// toMiB converts bytes to MiB.
func toMiB(b int64) float64 { return float64(b) / (1 << 20) }

// mibText formats bytes as MiB, "n/a" when unknown.
func mibText(b int64) string { return mibFloat(toMiB(b)) }

func mibFloat(m float64) string {
	if m == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", m)
}
