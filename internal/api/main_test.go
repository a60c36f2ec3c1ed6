package api_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain keeps the property tests to a budget that fits the suite; run deeper with
// go test ./internal/api -run Property -rapid.checks=1000.
func TestMain(m *testing.M) {
	flag.Parse()
	checksSet := false
	flag.Visit(func(f *flag.Flag) { checksSet = checksSet || f.Name == "rapid.checks" })
	if !checksSet {
		flag.Set("rapid.checks", "25")
	}
	os.Exit(m.Run())
}
