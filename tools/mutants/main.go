// Command mutants checks that the tests guard the rules that matter: it applies each
// mutant of a list (a guarded line changed so that the rule no longer holds) one at a
// time, runs the tests of the package that owns the rule, and fails if any mutant
// survives, that is if those tests still pass.
//
// The source tree is never modified: each mutant is compiled through `go test -overlay`
// and its tests run in a copy of the package directory, so an interrupted run leaves
// nothing behind and a mutant cannot leak into a commit.
//
// Usage: go run ./tools/mutants [-j N] [-only SUBSTRING] LIST...   (.ci/mutants runs every list in .ci/mutants.d)
//
// A list holds blocks separated by blank lines; lines starting with # are comments:
//
//	name: session: a used refresh token revokes its session
//	file: internal/session/session.go
//	test: ./internal/session/
//	run:  TestRefresh            (optional -run pattern; the default is every test)
//	args: -rapid.shrinktime=1s   (optional flags for the test binary)
//	from: if rt.UsedAt == nil {
//	to:   if true {
//
// Each from must occur exactly once in the file; a block may hold several from/to pairs,
// all applied together. A from or to written as a Go string literal ("...\n\t...") may
// span lines; "to:" alone deletes the from. A mutant that does not compile is an error in the list, not a kill.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// mutant is one entry of the list.
type mutant struct {
	Name  string
	File  string
	Test  string
	Run   string
	Args  []string // extra flags for the test binary
	Edits []edit
	Line  int // where the block starts in the list, for messages
}

type edit struct {
	From, To string
	hasTo    bool
}

// perMutant bounds one mutant's test run: a mutant that hangs a test is killed by timeout.
const perMutant = 5 * time.Minute

func main() {
	only := flag.String("only", "", "run only the mutants whose name contains this")
	jobs := flag.Int("j", runtime.NumCPU(), "mutants built and tested at once")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./tools/mutants [-j N] [-only SUBSTRING] LIST...\n\n"+
			"Applies each mutant of the LISTs through go test -overlay, runs the\n"+
			"owning package's tests, and exits 1 if any mutant survives or does not compile.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var ms []mutant
	for _, list := range flag.Args() {
		got, err := parse(list)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutants:", err)
			os.Exit(2)
		}
		ms = append(ms, got...)
	}
	if *only != "" {
		var kept []mutant
		for _, m := range ms {
			if strings.Contains(m.Name, *only) {
				kept = append(kept, m)
			}
		}
		ms = kept
	}
	if len(ms) == 0 {
		fmt.Fprintln(os.Stderr, "mutants: no mutants selected")
		os.Exit(2)
	}
	os.Exit(runAll(ms, *jobs))
}

func runAll(ms []mutant, jobs int) int {
	tmp, err := os.MkdirTemp("", "mutants-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		return 2
	}
	defer os.RemoveAll(tmp)

	// The unmutated tests must pass, or every mutant would look killed.
	baseline := map[string]bool{}
	for _, m := range ms {
		key := m.Test + "\x00" + m.Run
		if baseline[key] {
			continue
		}
		baseline[key] = true
		out, err := testMutant(m, "", filepath.Join(tmp, fmt.Sprint("base", len(baseline))))
		if err != nil {
			fmt.Fprintf(os.Stderr, "mutants: the unmutated tests of %s fail; fix them first:\n%s\n", m.Test, out)
			return 2
		}
	}

	// Mutants run jobs at a time; results print in list order.
	type result struct{ verdict, detail string }
	results := make([]chan result, len(ms))
	sem := make(chan struct{}, jobs)
	for i, m := range ms {
		results[i] = make(chan result, 1)
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			v, d := runOne(m, filepath.Join(tmp, fmt.Sprint(i)))
			results[i] <- result{v, fmt.Sprintf("%5.1fs %s", time.Since(start).Seconds(), d)}
		}()
	}
	failed := 0
	for i, m := range ms {
		r := <-results[i]
		fmt.Printf("%-9s %-70s %s\n", r.verdict, m.Name, r.detail)
		if r.verdict != "killed" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Printf("mutants: %d of %d mutants survived or are broken: add a test that fails for each, or fix the list\n", failed, len(ms))
		return 1
	}
	fmt.Printf("mutants: all %d mutants killed\n", len(ms))
	return 0
}

// runOne applies m through an overlay and reports killed, SURVIVED or BROKEN.
func runOne(m mutant, dir string) (verdict, detail string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "BROKEN", err.Error()
	}
	src, err := os.ReadFile(m.File)
	if err != nil {
		return "BROKEN", err.Error()
	}
	text := string(src)
	for _, e := range m.Edits {
		if n := strings.Count(text, e.From); n != 1 {
			return "BROKEN", fmt.Sprintf("%q occurs %d times in %s (list line %d); it must occur once", e.From, n, m.File, m.Line)
		}
		text = strings.Replace(text, e.From, e.To, 1)
	}
	mutated := filepath.Join(dir, filepath.Base(m.File))
	if err := os.WriteFile(mutated, []byte(text), 0o644); err != nil {
		return "BROKEN", err.Error()
	}
	abs, err := filepath.Abs(m.File)
	if err != nil {
		return "BROKEN", err.Error()
	}
	overlay := filepath.Join(dir, "overlay.json")
	b, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: mutated}})
	if err := os.WriteFile(overlay, b, 0o644); err != nil {
		return "BROKEN", err.Error()
	}
	out, err := testMutant(m, overlay, dir)
	var exit *exec.ExitError
	switch {
	case errors.Is(err, errBuild):
		return "BROKEN", "does not compile: " + firstLines(out, 3)
	case err == nil:
		return "SURVIVED", "the tests of " + m.Test + " still pass"
	case errors.Is(err, context.DeadlineExceeded):
		return "killed", "(timed out)"
	case errors.As(err, &exit):
		return "killed", "by " + failingTests(out)
	default:
		return "BROKEN", err.Error()
	}
}

var errBuild = errors.New("the test binary does not build")

// testMutant builds the package's test binary (through the overlay, when one is given)
// and runs it in the package's directory, as go test would, stopping at the first failure.
func testMutant(m mutant, overlay, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pkg.test")
	// No symbol table or DWARF: a mutant binary is run once and never debugged, and
	// linking without them is the cheaper part of each build.
	args := []string{"test", "-c", "-ldflags=-s -w", "-o", bin}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	build := exec.Command("go", append(args, m.Test)...)
	if out, err := build.CombinedOutput(); err != nil {
		return string(out), errBuild
	}
	ctx, cancel := context.WithTimeout(context.Background(), perMutant)
	defer cancel()
	targs := []string{"-test.count=1", "-test.failfast"}
	if m.Run != "" {
		targs = append(targs, "-test.run", m.Run)
	}
	targs = append(targs, m.Args...)
	// Run in a copy of the package directory: tests find their testdata as usual, and
	// whatever a failing test writes (rapid's failure files) stays out of the tree.
	work := filepath.Join(dir, "pkg")
	if err := os.CopyFS(work, os.DirFS(m.Test)); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, targs...)
	cmd.Dir = work
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), context.DeadlineExceeded
	}
	return out.String(), err
}

var failLine = regexp.MustCompile(`--- FAIL: (\S+)`)

// failingTests names the tests that failed (the innermost, most specific first).
func failingTests(out string) string {
	var names []string
	seen := map[string]bool{}
	for _, m := range failLine.FindAllStringSubmatch(out, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		return "a failing run: " + firstLines(out, 2)
	}
	// Name the innermost tests: a parent fails because its subtest did.
	names = slices.DeleteFunc(names, func(n string) bool {
		return slices.ContainsFunc(names, func(o string) bool { return strings.HasPrefix(o, n+"/") })
	})
	if len(names) > 3 {
		names = append(names[:3], "…")
	}
	return strings.Join(names, ", ")
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

// parse reads the list.
func parse(path string) ([]mutant, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mutant
	var cur *mutant
	flush := func() error {
		if cur == nil {
			return nil
		}
		if cur.Name == "" || cur.File == "" || cur.Test == "" || len(cur.Edits) == 0 {
			return fmt.Errorf("%s:%d: a mutant needs name, file, test and at least one from/to", path, cur.Line)
		}
		for _, e := range cur.Edits {
			if !e.hasTo {
				return fmt.Errorf("%s:%d: a from without its to (write \"to:\" to delete)", path, cur.Line)
			}
		}
		ms = append(ms, *cur)
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key: value", path, n)
		}
		// Values are trimmed; a from or to that needs exact white space is a Go string literal.
		val = strings.TrimSpace(val)
		if (key == "from" || key == "to") && strings.HasPrefix(val, `"`) {
			if val, err = strconv.Unquote(val); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
		}
		if cur == nil {
			cur = &mutant{Line: n}
		}
		switch key {
		case "name":
			cur.Name = val
		case "file":
			cur.File = val
		case "test":
			cur.Test = val
		case "run":
			cur.Run = val
		case "args":
			cur.Args = strings.Fields(val)
		case "from":
			cur.Edits = append(cur.Edits, edit{From: val})
		case "to":
			if len(cur.Edits) == 0 || cur.Edits[len(cur.Edits)-1].hasTo {
				return nil, fmt.Errorf("%s:%d: to without its from", path, n)
			}
			cur.Edits[len(cur.Edits)-1].To, cur.Edits[len(cur.Edits)-1].hasTo = val, true
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", path, n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return ms, nil
}
