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
	"syscall"
	"time"
)

// server is the Gatehouse under test: one the tool started, or an external -target.
type server struct {
	base    string
	db      string
	pid     int           // 0: unknown, RSS reported as n/a
	startup time.Duration // process start to healthy, first start (0 with -target)
	restart time.Duration // the same on the existing database

	dir, bin, logPath string
	env               []string
	cmd               *exec.Cmd
	exited            chan struct{} // closed when cmd has been waited for
	waitErr           error
}

// startOrTarget returns the server to measure: with -target the running one, otherwise a
// freshly built binary, started once on a new database and restarted on the existing one.
func startOrTarget(ctx context.Context, o options) (*server, error) {
	if o.target != "" {
		s := &server{base: strings.TrimSuffix(o.target, "/"), db: "external", pid: o.pid}
		if err := waitHealthy(ctx, s.base, 10*time.Second, nil); err != nil {
			return nil, fmt.Errorf("-target %s: %w", s.base, err)
		}
		if s.pid != 0 {
			if _, err := readMem(s.pid); err != nil {
				return nil, fmt.Errorf("-pid %d: %w", s.pid, err)
			}
		}
		return s, nil
	}
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, bin: filepath.Join(dir, "gatehouse"), logPath: filepath.Join(dir, "server.log")}
	if err := s.build(ctx); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	port, err := freePort()
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s.base, s.db = "http://"+addr, o.db
	if s.db == "" {
		s.db = "sqlite://" + filepath.Join(dir, "bench.db")
	}
	s.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GATEHOUSE_HTTP_ADDR=" + addr, "GATEHOUSE_ISSUER=" + s.base, "GATEHOUSE_DATA_DIR=" + dir,
		"GATEHOUSE_DATABASE_URL=" + s.db, "GATEHOUSE_LOG_LEVEL=warn",
		// Throttling would measure the limiter, not the service.
		"GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT=1000000", "GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_IP=1000000",
		"GATEHOUSE_LIMIT_IP_PER_MINUTE=1000000"}
	if o.argonMem != 0 {
		s.env = append(s.env, fmt.Sprint("GATEHOUSE_ARGON2_MEMORY_KIB=", o.argonMem))
	}
	if o.argonIter != 0 {
		s.env = append(s.env, fmt.Sprint("GATEHOUSE_ARGON2_ITERATIONS=", o.argonIter))
	}
	s.env = append(s.env, o.extraEnv...)

	if s.startup, err = s.launch(ctx); err == nil {
		if err = s.terminate(); err == nil {
			s.restart, err = s.launch(ctx)
		}
	}
	if err != nil {
		return nil, errors.Join(err, s.stop(ctx.Err() == nil))
	}
	time.Sleep(500 * time.Millisecond) // let the runtime settle before the idle reading
	return s, nil
}

// build compiles ./cmd/gatehouse of the enclosing module into s.bin.
func (s *server) build(ctx context.Context) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "building ./cmd/gatehouse ...")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", s.bin, "./cmd/gatehouse")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/gatehouse in %s: %w", root, err)
	}
	return nil
}

// launch starts the binary and returns the time from process start to the first 200 on
// /healthz. The server's output is appended to server.log in the temporary directory.
func (s *server) launch(ctx context.Context) (time.Duration, error) {
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer log.Close() // the child keeps its own descriptor
	cmd := exec.Command(s.bin, "serve")
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = s.env, s.dir, log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start server: %w", err)
	}
	s.cmd, s.pid, s.exited = cmd, cmd.Process.Pid, make(chan struct{})
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()
	if err := waitHealthy(ctx, s.base, 60*time.Second, s.exited); err != nil {
		return 0, fmt.Errorf("server: %w", err)
	}
	return time.Since(start), nil
}

// terminate sends SIGTERM and waits for the server to exit (SIGKILL after 30 s).
func (s *server) terminate() error {
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd, s.pid = nil, 0 }()
	select {
	case <-s.exited:
		return fmt.Errorf("server exited early: %v", s.waitErr)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM server: %w", err)
	}
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("server exit after SIGTERM: %w", s.waitErr)
		}
		return nil
	case <-time.After(30 * time.Second):
		if err := s.cmd.Process.Kill(); err != nil {
			return fmt.Errorf("kill server: %w", err)
		}
		<-s.exited
		return errors.New("server ignored SIGTERM for 30 s; killed")
	}
}

// stop terminates a started server and removes its directory, or keeps the directory
// and names the log when keepLog is set (a failed run). It does nothing with -target.
func (s *server) stop(keepLog bool) error {
	if s.dir == "" {
		return nil
	}
	err := s.terminate()
	if keepLog || err != nil {
		fmt.Fprintln(os.Stderr, "bench: server log kept in", s.logPath)
		return err
	}
	return os.RemoveAll(s.dir)
}

// waitHealthy polls GET /healthz until it answers 200, the limit passes, ctx ends or
// exited (if not nil) is closed.
func waitHealthy(ctx context.Context, base string, limit time.Duration, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	var last error = errors.New("no answer")
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close() // nothing to read
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("GET /healthz: %s", resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("exited before it was healthy")
		case <-time.After(2 * time.Millisecond):
		}
	}
	return fmt.Errorf("not healthy after %s: %w", limit, last)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
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
			return "", errors.New("no go.mod above the working directory: run bench inside the gatehouse module")
		}
		dir = parent
	}
}
