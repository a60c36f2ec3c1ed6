// Package poll waits, in tests, for a condition that nothing signals (a metric, a log
// line, a database row): it checks often and fails the test at a deadline, so a test
// neither sleeps longer than it must nor passes on a guess that enough time has gone by.
package poll

import (
	"testing"
	"time"
)

// Every is how often Until checks.
const Every = 5 * time.Millisecond

// Until checks cond every few milliseconds (Every) until it holds. The test fails,
// naming what, when it still does not hold after timeout. cond runs on the test's
// goroutine, so it may itself fail the test.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	UntilEvery(t, timeout, Every, what, cond)
}

// UntilEvery is Until checking every interval, for a check that costs something (a
// request to the service, which may count it).
func UntilEvery(t testing.TB, timeout, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if !time.Now().Before(deadline) {
			t.Fatalf("%s: still not so after %s", what, timeout)
		}
		time.Sleep(interval)
	}
}
