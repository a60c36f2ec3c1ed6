package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// server is the Gatehouse under test.
type server struct {
	base     string
	db       string
	cmd      *exec.Cmd
	pid      int
	startup  time.Duration // first start, new database
	restart  time.Duration // second start, existing database
	idleRSS  int64
	peak     atomic.Int64 // peak RSS seen by the sampler, bytes
	stopSamp chan struct{}
	dir      string
	bin      string
	env      []string
}

func startOrTarget(ctx context.Context, o options) (*server, error) {
	if o.target != "" {
		s := &server{base: strings.TrimSuffix(o.target, "/"), db: "external", pid: o.pid}
		if err := waitHealthy(s.base, 10*time.Second); err != nil {
			return nil, err
		}
		s.idleRSS = s.rss()
		return s, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, bin: filepath.Join(dir, "gatehouse")}
	build := exec.CommandContext(ctx, "go", "build", "-o", s.bin, "./cmd/gatehouse")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.base = "http://127.0.0.1:" + strconv.Itoa(port)
	s.db = o.db
	if s.db == "" {
		s.db = "sqlite://" + filepath.Join(dir, "bench.db")
	}
	s.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GATEHOUSE_HTTP_ADDR=127.0.0.1:" + strconv.Itoa(port), "GATEHOUSE_ISSUER=" + s.base, "GATEHOUSE_DATA_DIR=" + dir,
		"GATEHOUSE_DATABASE_URL=" + s.db, "GATEHOUSE_LOG_LEVEL=warn",
		// Throttling would measure the limiter, not the service.
		"GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT=1000000", "GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_IP=1000000",
		"GATEHOUSE_LIMIT_IP_PER_MINUTE=1000000"}
	s.env = append(s.env, o.extraEnv...)
	if o.argonMem != "" {
		s.env = append(s.env, "GATEHOUSE_ARGON2_MEMORY_KIB="+o.argonMem)
	}
	if o.argonIter != "" {
		s.env = append(s.env, "GATEHOUSE_ARGON2_ITERATIONS="+o.argonIter)
	}
	if s.startup, err = s.launch(); err != nil {
		return nil, err
	}
	s.terminate()
	if s.restart, err = s.launch(); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // let the runtime settle before the idle reading
	s.idleRSS = s.rss()
	return s, nil
}

// launch starts the binary and returns the time until /healthz answered 200.
func (s *server) launch() (time.Duration, error) {
	cmd := exec.Command(s.bin, "serve")
	cmd.Env, cmd.Dir = s.env, s.dir
	log, err := os.Create(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return 0, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	s.cmd, s.pid = cmd, cmd.Process.Pid
	if err := waitHealthy(s.base, 60*time.Second); err != nil {
		cmd.Process.Kill()
		return 0, fmt.Errorf("%w (log: %s)", err, log.Name())
	}
	return time.Since(start), nil
}

func (s *server) terminate() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
	}
	s.cmd = nil
}

func (s *server) stop() {
	s.terminate()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func waitHealthy(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return errors.New("server did not become healthy")
}

// rss reads the server's resident set size from /proc (0 when unknown).
func (s *server) rss() int64 {
	if s.pid == 0 {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(s.pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// sample records the peak RSS every 100 ms until stopped.
func (s *server) sample() func() int64 {
	s.peak.Store(s.rss())
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if r := s.rss(); r > s.peak.Load() {
					s.peak.Store(r)
				}
			}
		}
	}()
	return func() int64 { close(stop); return s.peak.Load() }
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run bench inside the gatehouse module")
		}
		dir = parent
	}
}

func mib(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
