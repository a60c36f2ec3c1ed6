package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Server memory comes from /proc/<pid>/status: VmRSS (resident now) and VmHWM (the
// highest resident size since the process started).

// memory is one reading of /proc/<pid>/status in bytes (0: unknown).
type memory struct{ rss, hwm int64 }

// mem reads the server's current memory, zero when the pid is unknown or gone.
func (s *server) mem() memory {
	if s.pid == 0 {
		return memory{}
	}
	m, _ := readMem(s.pid) // zero on error: reported as n/a
	return m
}

// readMem parses VmRSS and VmHWM (kB) from /proc/<pid>/status.
func readMem(pid int) (memory, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, err
	}
	var m memory
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != "VmRSS:" && f[0] != "VmHWM:") {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("parse %s: %w", f[0], err)
		}
		if f[0] == "VmRSS:" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
	}
	if m.rss == 0 {
		return memory{}, errors.New("no VmRSS in /proc status")
	}
	return m, nil
}

// sampleRSS reads the server's VmRSS every 100 ms until the returned function is called;
// that function returns the highest VmRSS seen and the VmHWM at the end.
func (s *server) sampleRSS() func() memory {
	peak := s.mem().rss
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				peak = max(peak, s.mem().rss)
			}
		}
	}()
	return func() memory {
		close(stop)
		<-done // peak is ours from here on
		end := s.mem()
		return memory{rss: max(peak, end.rss), hwm: end.hwm}
	}
}
