// Command bench is Gatehouse's load generator. It builds and starts a server (or targets a
// running one), runs scenarios with concurrent keep-alive clients, and reports requests/s,
// exact latency percentiles, errors by kind, the server's start-to-healthy time and RSS,
// and the hash-bound login ceiling. See bench/README.md.
//
//	go run ./bench -scenario login -c 16 -d 15s
//	go run ./bench -scenario all -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// allScenarios is what -scenario all runs, in this order.
var allScenarios = []string{"register", "login", "refresh", "me", "jwks", "authz",
	"client_credentials", "introspect", "userinfo", "codeflow"}

// options are the parsed command-line flags.
type options struct {
	scenarios []string
	conc      int
	duration  time.Duration
	warmup    time.Duration
	target    string
	db        string
	pid       int
	jsonOut   string
	argonMem  uint // 0: the server's default
	argonIter uint // 0: the server's default
	extraEnv  []string
	// importUsers > 0 runs the import benchmark instead of the scenarios.
	importUsers int
	// With -target, the confidential client the OAuth scenarios use.
	clientID, clientSecret, redirectURI string
}

// envList collects repeated -env KEY=VALUE flags.
type envList []string

func (e *envList) String() string { return strings.Join(*e, ",") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o)
	if ctx.Err() != nil { // a signal arrived
		err = errors.New("interrupted")
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var o options
	var scen string
	var extra envList
	flag.StringVar(&scen, "scenario", "all", "comma-separated: "+strings.Join(allScenarios, ", ")+", or all")
	flag.IntVar(&o.conc, "c", 16, "concurrent workers (each with its own keep-alive connection)")
	flag.DurationVar(&o.duration, "d", 15*time.Second, "measured duration per scenario")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per scenario")
	flag.StringVar(&o.target, "target", "", "base URL of a running server (default: build and start one)")
	flag.StringVar(&o.db, "db", "", "database URL for the started server (default: sqlite://<tmpdir>/bench.db)")
	flag.IntVar(&o.pid, "pid", 0, "with -target: the server's process id, to sample its RSS")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.UintVar(&o.argonMem, "argon2-memory-kib", 0, "argon2id memory for the server and the ceiling measurement (0: server default)")
	flag.UintVar(&o.argonIter, "argon2-iterations", 0, "argon2id passes for the server and the ceiling measurement (0: server default)")
	flag.StringVar(&o.clientID, "client-id", "", "with -target: a confidential first-party client for the OAuth scenarios")
	flag.StringVar(&o.clientSecret, "client-secret", "", "with -target: that client's secret")
	flag.StringVar(&o.redirectURI, "redirect-uri", benchRedirectURI, "with -target: a redirect URI registered for that client")
	flag.IntVar(&o.importUsers, "import", 0, "instead of the scenarios: import this many users with bcrypt hashes, twice, and report time and server memory")
	flag.Var(&extra, "env", "extra KEY=VALUE for the started server (repeatable), e.g. -env GATEHOUSE_SIGNING_ALG=ES256")
	flag.Parse()
	o.extraEnv = extra
	if o.importUsers > 0 {
		o.extraEnv = append(o.extraEnv, importEnv...)
	}
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", flag.Args())
	}
	if o.conc < 1 || o.duration <= 0 || o.warmup < 0 {
		return o, errors.New("-c must be >= 1, -d > 0 and -warmup >= 0")
	}
	if o.target == "" && o.pid != 0 {
		return o, errors.New("-pid is only meaningful with -target")
	}
	if o.target != "" {
		if u, err := url.Parse(o.target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("-target %q: want a base URL such as http://127.0.0.1:8080", o.target)
		}
		if o.db != "" || len(o.extraEnv) > 0 {
			return o, errors.New("-db and -env configure the started server: not with -target")
		}
	} else if o.clientID != "" || o.clientSecret != "" {
		return o, errors.New("-client-id and -client-secret are for -target: the started server gets its own client")
	}
	for _, s := range strings.Split(scen, ",") {
		switch s = strings.TrimSpace(s); {
		case s == "all":
			o.scenarios = append(o.scenarios, allScenarios...)
		case slices.Contains(allScenarios, s):
			o.scenarios = append(o.scenarios, s)
		default:
			return o, fmt.Errorf("unknown scenario %q (want %s or all)", s, strings.Join(allScenarios, ", "))
		}
	}
	if o.target != "" && needsApp(o.scenarios) && (o.clientID == "" || o.clientSecret == "") {
		return o, errNoApp
	}
	return o, nil
}

// summary is everything one run measured; it is also the -json document.
type summary struct {
	Target       string   `json:"target"`
	Database     string   `json:"database"`
	CPUs         int      `json:"cpus"`
	Duration     string   `json:"duration"`
	Warmup       string   `json:"warmup"`
	StartMS      float64  `json:"start_to_healthy_ms,omitempty"`
	RestartMS    float64  `json:"restart_to_healthy_ms,omitempty"` // existing database
	IdleRSSMiB   float64  `json:"idle_rss_mib,omitempty"`
	IdleHWMMiB   float64  `json:"idle_hwm_mib,omitempty"`
	HashParams   string   `json:"hash_params"`
	HashMS       float64  `json:"hash_ms"`
	LoginCeiling float64  `json:"login_ceiling_per_s"`
	Client       string   `json:"oauth_client,omitempty"` // how the OAuth scenarios' client was registered
	SignAlg      string   `json:"signing_alg,omitempty"`
	SignUS       float64  `json:"sign_us,omitempty"`
	SignCeiling  float64  `json:"signing_ceiling_per_s,omitempty"`
	SignParallel float64  `json:"signing_parallel_per_s,omitempty"` // NumCPU workers signing at once
	Results      []result `json:"results"`
}

func run(ctx context.Context, o options) (err error) {
	srv, err := startOrTarget(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		// Keep the server log when something failed, unless the user interrupted the run.
		if stopErr := srv.stop(err != nil && ctx.Err() == nil); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	if o.importUsers > 0 {
		return runImport(ctx, srv, o)
	}
	idle := srv.mem()
	s := summary{Target: srv.base, Database: srv.db, CPUs: runtime.NumCPU(), Duration: o.duration.String(),
		Warmup: o.warmup.String(), StartMS: ms(srv.startup), RestartMS: ms(srv.restart),
		IdleRSSMiB: toMiB(idle.rss), IdleHWMMiB: toMiB(idle.hwm)}
	fmt.Printf("server: %s (%s), %d CPUs, %d workers, %s per scenario after %s warm-up\n",
		s.Target, s.Database, s.CPUs, o.conc, o.duration, o.warmup)
	if srv.startup > 0 {
		fmt.Printf("start to healthy: %.1f ms (first start), %.1f ms (restart on the existing database)\n", s.StartMS, s.RestartMS)
	} else {
		fmt.Println("start to healthy: n/a (-target)")
	}
	fmt.Printf("server RSS idle: %s (VmHWM %s)\n", mibText(idle.rss), mibText(idle.hwm))

	hc, err := measureHash(ctx, o)
	if err != nil {
		return fmt.Errorf("hash measurement: %w", err)
	}
	s.HashParams, s.HashMS, s.LoginCeiling = hc.params, ms(hc.perHash), hc.ceiling
	fmt.Printf("hash time (%s, one core): %.1f ms; hash-bound login ceiling on %d CPUs: %.1f/s\n\n",
		hc.params, s.HashMS, s.CPUs, s.LoginCeiling)

	var sc signCost
	if needsApp(o.scenarios) {
		if app, err = prepareApp(ctx, srv, o); err != nil {
			return fmt.Errorf("OAuth client: %w", err)
		}
		s.Client = fmt.Sprintf("%s (registered by %s)", app.id, app.how)
		fmt.Printf("OAuth client: %s\n", s.Client)
		if sc, err = measureSign(ctx, app.alg); err != nil {
			return fmt.Errorf("signing measurement: %w", err)
		}
		s.SignAlg, s.SignUS, s.SignCeiling, s.SignParallel = sc.alg, float64(sc.perSign)/float64(time.Microsecond), sc.ceiling, sc.parallel
		fmt.Printf("signing time (%s, one core): %.1f µs; signing-bound ceiling on %d CPUs: %.0f tokens/s; measured with %d workers signing at once: %.0f tokens/s\n\n",
			sc.alg, s.SignUS, s.CPUs, sc.ceiling, s.CPUs, sc.parallel)
	}

	for _, name := range o.scenarios {
		r, err := measure(ctx, srv, o, name, scenarios[name])
		if err != nil {
			return fmt.Errorf("scenario %s: %w", name, err)
		}
		switch {
		case (name == "login" || name == "codeflow") && hc.ceiling > 0:
			r.Note = fmt.Sprintf("%s = %.0f%% of the login ceiling", name, 100*r.RPS/hc.ceiling)
		case name == "client_credentials" && sc.ceiling > 0:
			r.Note = fmt.Sprintf("%s = %.0f%% of the %s signing ceiling, %.0f%% of the parallel signing rate",
				name, 100*r.RPS/sc.ceiling, sc.alg, 100*r.RPS/sc.parallel)
		}
		s.Results = append(s.Results, r)
		printResult(os.Stdout, r)
	}
	fmt.Println()
	printTable(os.Stdout, s.Results)
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write -json: %w", err)
		}
	}
	return nil
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
