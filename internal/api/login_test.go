package api_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// hashCount reads how many password hashes the server has computed.
func hashCount(t *testing.T, e *env) int {
	t.Helper()
	m := e.c.Do(t, "GET", "/metrics", nil, "").Expect(t, 200)
	match := regexp.MustCompile(`gatehouse_password_hash_duration_seconds_count (\d+)`).FindSubmatch(m.Raw)
	if match == nil {
		t.Fatal("no hash metric")
	}
	n, _ := strconv.Atoi(string(match[1]))
	return n
}

func metricValue(t *testing.T, e *env, series string) float64 {
	t.Helper()
	m := e.c.Do(t, "GET", "/metrics", nil, "").Expect(t, 200)
	for _, line := range strings.Split(string(m.Raw), "\n") {
		if strings.HasPrefix(line, series+" ") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(line, series+" "), 64)
			return v
		}
	}
	return 0
}

// withoutRequestID drops the one field that differs between any two problems.
func withoutRequestID(raw []byte) string {
	return regexp.MustCompile(`"request_id":"[^"]*"`).ReplaceAllString(string(raw), "")
}

func TestLoginDoesNotRevealAccounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email := uniqueEmail("enum")
		e.register(t, email, goodPassword)

		before := hashCount(t, e)
		wrong := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "wrong password here"}, "").Expect(t, 401, "invalid_credentials")
		unknown := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": uniqueEmail("nobody"), "password": "wrong password here"}, "").Expect(t, 401, "invalid_credentials")
		if withoutRequestID(wrong.Raw) != withoutRequestID(unknown.Raw) {
			t.Fatalf("bodies differ:\n%s\n%s", wrong.Raw, unknown.Raw)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate", "Retry-After"} {
			if wrong.Header.Get(h) != unknown.Header.Get(h) {
				t.Fatalf("header %s differs: %q vs %q", h, wrong.Header.Get(h), unknown.Header.Get(h))
			}
		}
		// Both paths spent exactly one password hash: the timing is alike by construction.
		if n := hashCount(t, e) - before; n != 2 {
			t.Fatalf("two failed logins computed %d hashes, want 2 (one each)", n)
		}
		// Forgot-password answers alike too.
		a := e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": email}, "").Expect(t, 202)
		b := e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": uniqueEmail("nobody")}, "").Expect(t, 202)
		if len(a.Raw) != len(b.Raw) {
			t.Fatal("forgot-password bodies differ")
		}
	})
}

func TestLoginThrottling(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1/32"))
		email := uniqueEmail("throttle")
		id := e.register(t, email, goodPassword)
		// A successful login resets the counter: 4 failures, success, 4 more are still fine.
		for i := 0; i < 4; i++ {
			e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "wrong password " + strconv.Itoa(i)}, "").Expect(t, 401, "invalid_credentials")
		}
		e.login(t, email, goodPassword)
		for i := 0; i < 5; i++ {
			// Rotating X-Forwarded-For (from a trusted proxy) cannot reset the account's counter.
			e.c.Header.Set("X-Forwarded-For", "198.51.100."+strconv.Itoa(i+1))
			e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "wrong password"}, "").Expect(t, 401, "invalid_credentials")
		}
		e.c.Header.Set("X-Forwarded-For", "198.51.100.200")
		r := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": goodPassword}, "").Expect(t, 429, "rate_limited")
		retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || retry < 800 || retry > 900 {
			t.Fatalf("Retry-After = %q, want about 15 minutes", r.Header.Get("Retry-After"))
		}
		// Another account from the same IP is not affected.
		other := uniqueEmail("other")
		e.register(t, other, goodPassword)
		e.login(t, other, goodPassword)
		// The account was locked once, and the refused attempt is in its audit log.
		events, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{SubjectID: id, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, ev := range events {
			counts[ev.Action]++
		}
		if counts["user.locked"] != 1 || counts["user.login.throttled"] != 1 || counts["user.login.failed"] != 9 {
			t.Fatalf("audit of the throttled account: %v", counts)
		}
		if metricValue(t, e, `gatehouse_logins_total{result="throttled"}`) < 1 {
			t.Fatal("throttled logins are not counted")
		}
	})
}

func TestLoginIPThrottling(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_IP", "3"))
		for i := 0; i < 3; i++ {
			e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": uniqueEmail("spray"), "password": "wrong password"}, "").Expect(t, 401)
		}
		// Untrusted X-Forwarded-For is ignored: the limit holds.
		e.c.Header.Set("X-Forwarded-For", "203.0.113.9")
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": uniqueEmail("spray"), "password": "wrong password"}, "").Expect(t, 429, "rate_limited")
	})
}

func TestIPBudgetForRegisterResendForgot(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_LIMIT_IP_PER_MINUTE", "3"))
		e.c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": uniqueEmail("b"), "password": goodPassword}, "").Expect(t, 201)
		e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": uniqueEmail("b")}, "").Expect(t, 202)
		e.c.Do(t, "POST", "/v1/auth/verify-email/resend", map[string]any{"email": uniqueEmail("b")}, "").Expect(t, 202)
		r := e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": uniqueEmail("b")}, "").Expect(t, 429, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	})
}

func TestDisabledAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email, id, _ := e.newUser(t, "disabled")
		if err := e.srv.App.Store().SetUserDisabled(t.Context(), id, true, time.Now()); err != nil {
			t.Fatal(err)
		}
		// Wrong password: the same answer as for anyone; right password: account_disabled.
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "not the password"}, "").Expect(t, 401, "invalid_credentials")
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": goodPassword}, "").Expect(t, 403, "account_disabled")
	})
}

func TestRequireVerifiedEmail(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_REQUIRE_VERIFIED_EMAIL", "true"))
		email := uniqueEmail("unverified")
		e.register(t, email, goodPassword)
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": goodPassword}, "").Expect(t, 403, "email_not_verified")
		tok := e.mail.WaitFor(t, email, "Verify").Token()
		e.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": tok}, "").Expect(t, 200)
		e.login(t, email, goodPassword)
	})
}

func TestLegacyHashesAreUpgradedOnLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		st := e.srv.App.Store()
		email, id, _ := e.newUser(t, "legacy")
		// An imported bcrypt hash, and a password with non-ASCII characters.
		pw := "pässwörd from the old system"
		b, _ := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err := st.SetPasswordHash(t.Context(), id, string(b), time.Now()); err != nil {
			t.Fatal(err)
		}
		e.login(t, email, pw)
		h, _ := st.PasswordHash(t.Context(), id)
		if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("after login the hash is %q, want argon2id with the configured parameters", h)
		}
		e.login(t, email, pw) // still works after the upgrade
		if bytes.Contains([]byte(e.srv.Logs.String()), []byte(pw)) {
			t.Fatal("the password appears in the logs")
		}
	})
}

func TestArgon2ParameterChangeUpgradesHash(t *testing.T) {
	db, dir := testdbSQLite(t), t.TempDir()
	e := newEnv(t, db, testserver.With("GATEHOUSE_DATA_DIR", dir))
	email := uniqueEmail("params")
	id := e.register(t, email, goodPassword)
	e.srv.Stop(t)
	e2 := newEnv(t, db, testserver.With("GATEHOUSE_DATA_DIR", dir), testserver.With("GATEHOUSE_ARGON2_MEMORY_KIB", "128"))
	e2.login(t, email, goodPassword)
	h, _ := e2.srv.App.Store().PasswordHash(t.Context(), id)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=128,t=1,p=1$") {
		t.Fatalf("hash %q was not upgraded to m=128", h)
	}
}

// A login flood past the hashing queue gets 503 unavailable with Retry-After, never a
// crash or an unbounded queue.
func TestHashingOverloadIs503(t *testing.T) {
	e := newEnv(t, testdbSQLite(t),
		testserver.With("GATEHOUSE_ARGON2_MEMORY_KIB", "19456"), testserver.With("GATEHOUSE_ARGON2_ITERATIONS", "2"),
		testserver.With("GATEHOUSE_HASH_WORKERS", "1"), testserver.With("GATEHOUSE_HASH_QUEUE", "0"),
		testserver.With("GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_IP", "1000"))
	const n = 8
	results := make(chan *apitest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results <- e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": uniqueEmail(fmt.Sprint("flood", i)), "password": "wrong password"}, "")
		})
	}
	wg.Wait()
	close(results)
	busy := 0
	for r := range results {
		switch r.Status {
		case 401:
		case 503:
			r.Expect(t, 503, "unavailable")
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			busy++
		default:
			t.Fatalf("flood answered %d %s", r.Status, r.Raw)
		}
	}
	if busy == 0 {
		t.Fatalf("%d concurrent logins on one hashing worker with no queue: none was refused", n)
	}
}
