package api_test

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestMain keeps the property tests to a budget that fits the suite (run deeper with
// go test ./internal/api -run Property -rapid.checks=1000) and runs more tests at once
// (-parallel given on the command line wins).
func TestMain(m *testing.M) {
	flag.Parse()
	checksSet := false
	flag.Visit(func(f *flag.Flag) { checksSet = checksSet || f.Name == "rapid.checks" })
	if !checksSet {
		flag.Set("rapid.checks", "25")
	}
	// The tests here mostly wait (on database commits, mail, servers starting and
	// stopping): each test and each of its backends has its own server and database, so
	// more of them run at once than the default of one per CPU.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	}
	os.Exit(m.Run())
}
