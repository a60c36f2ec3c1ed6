// Command bench is Gatehouse's load generator. It starts a server (or targets one),
// runs scenarios with concurrent keep-alive clients, and reports requests/s, latency
// percentiles, errors and the server's peak RSS.
//
//	go run ./bench -scenario login -c 16 -d 15s
//	go run ./bench -scenario all -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

type options struct {
	scenarios []string
	conc      int
	duration  time.Duration
	warmup    time.Duration
	target    string
	db        string
	pid       int
	jsonOut   string
	argonMem  string
	argonIter string
	extraEnv  []string
}

// envList collects repeated -env KEY=VALUE flags.
type envList []string

func (e *envList) String() string     { return strings.Join(*e, ",") }
func (e *envList) Set(v string) error { *e = append(*e, v); return nil }

func main() {
	var o options
	var scen string
	flag.StringVar(&scen, "scenario", "all", "comma-separated: register, login, refresh, me, jwks, authz, or all")
	flag.IntVar(&o.conc, "c", 16, "concurrent clients")
	flag.DurationVar(&o.duration, "d", 15*time.Second, "measured duration per scenario")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per scenario")
	flag.StringVar(&o.target, "target", "", "URL of a running server (default: build and start one)")
	flag.StringVar(&o.db, "db", "", "database URL for the started server (default: SQLite in a temporary directory)")
	flag.IntVar(&o.pid, "pid", 0, "with -target: the server's process id, to report its RSS")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.argonMem, "argon2-memory-kib", "", "argon2id memory for the server and the ceiling measurement (default: the server's)")
	flag.StringVar(&o.argonIter, "argon2-iterations", "", "argon2id passes (default: the server's)")
	var extra envList
	flag.Var(&extra, "env", "extra GATEHOUSE_*=value for the started server (repeatable), e.g. -env GATEHOUSE_SIGNING_ALG=ES256")
	flag.Parse()
	o.extraEnv = extra
	o.scenarios = strings.Split(scen, ",")
	if scen == "all" {
		o.scenarios = []string{"register", "login", "refresh", "me", "jwks", "authz"}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	srv, err := startOrTarget(ctx, o)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Printf("server: %s (%s), %d CPUs, clients: %d, duration: %s\n", srv.base, srv.db, runtime.NumCPU(), o.conc, o.duration)
	if srv.startup > 0 {
		fmt.Printf("start to healthy: %s on a new database, %s on an existing one\n", round(srv.startup), round(srv.restart))
	}
	fmt.Printf("server RSS idle: %s\n", mib(srv.rss()))

	hash, ceiling, err := hashCeiling(o)
	if err != nil {
		return err
	}
	fmt.Printf("password hash (one core): %.1f ms; hash-bound login ceiling on %d CPUs: %.1f logins/s\n\n",
		hash.Seconds()*1000, runtime.NumCPU(), ceiling)

	var results []result
	for _, name := range o.scenarios {
		sc, ok := scenarios[name]
		if !ok {
			return fmt.Errorf("unknown scenario %q", name)
		}
		r, err := measure(ctx, srv, o, name, sc)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if name == "login" {
			r.Note = fmt.Sprintf("%.0f%% of the hash-bound ceiling", 100*r.RPS/ceiling)
		}
		results = append(results, r)
		fmt.Println(r.line())
	}
	fmt.Println()
	printTable(os.Stdout, results)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"server": srv.base, "db": srv.db, "cpus": runtime.NumCPU(),
			"hash_ms": hash.Seconds() * 1000, "ceiling": ceiling, "idle_rss_mib": float64(srv.idleRSS) / (1 << 20), "results": results}, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
