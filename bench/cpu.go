package main

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
)

// Where the machine's CPU went during a measured phase, from /proc: the server process,
// this tool (the load generator), and everything else on the host (other processes,
// PostgreSQL when it runs here). On a shared host the last share says how far a run was
// disturbed; the first two say how the cores were divided between server and generator.

// cpuSnap is one reading of the clock-tick counters (0: unknown).
type cpuSnap struct {
	busy, total  uint64 // all CPUs, from /proc/stat
	server, self uint64 // utime+stime of the server and of this process
}

// cpuShare is a phase's CPU use in percent of the whole machine (all cores).
type cpuShare struct {
	Server float64 `json:"server_pct"`
	Bench  float64 `json:"bench_pct"`
	Other  float64 `json:"other_pct"`
}

func (s *server) cpu() cpuSnap {
	var c cpuSnap
	c.busy, c.total, _ = readStat()
	c.self, _ = procTicks("self")
	if s.pid != 0 {
		c.server, _ = procTicks(strconv.Itoa(s.pid))
	}
	return c
}

// share is the CPU use between two readings; zero when unknown (no server pid).
func (c cpuSnap) share(end cpuSnap) cpuShare {
	total := float64(end.total - c.total)
	if c.total == 0 || end.total <= c.total || c.server == 0 || end.server == 0 {
		return cpuShare{}
	}
	srv, self := float64(end.server-c.server), float64(end.self-c.self)
	other := max(0, float64(end.busy-c.busy)-srv-self)
	return cpuShare{Server: 100 * srv / total, Bench: 100 * self / total, Other: 100 * other / total}
}

// readStat returns the busy and total ticks of all CPUs (the first line of /proc/stat:
// user nice system idle iowait irq softirq steal ...; guest time is inside user).
func readStat() (busy, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("unexpected /proc/stat")
	}
	for i := 1; i <= 8; i++ {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += v
		if i != 4 && i != 5 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

// procTicks returns utime+stime of a process (fields 14 and 15 of /proc/<pid>/stat).
func procTicks(pid string) (uint64, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')') // the command name may hold spaces
	if i < 0 {
		return 0, errors.New("unexpected /proc/pid/stat")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 { // f[0] is field 3 (state)
		return 0, errors.New("unexpected /proc/pid/stat")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return u + s, nil
}
