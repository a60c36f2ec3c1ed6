package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// A dead mail server neither fails nor slows the request that queued a message; the
// message arrives once the server is back.
func TestDeadMailServerDoesNotFailRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.WithApp(app.WithOutboxTiming(300*time.Millisecond, 50*time.Millisecond)))
		e.mail.Stop()
		emails := []string{uniqueEmail("dead1"), uniqueEmail("dead2"), uniqueEmail("dead3"), uniqueEmail("dead4")}
		for _, em := range emails {
			e.c.Do(t, "POST", "/v1/auth/register", map[string]any{"email": em, "password": goodPassword}, "").Expect(t, 201)
		}
		// Let a few deliveries fail so the breaker opens.
		time.Sleep(400 * time.Millisecond)
		if metricValue(t, e, `gatehouse_outbox_send_failures_total{channel="email"}`) < 1 {
			t.Fatal("no failed delivery was counted")
		}
		if depth := metricValue(t, e, "gatehouse_outbox_depth"); depth < 1 {
			t.Fatalf("outbox depth = %v, want the queued messages", depth)
		}
		e.mail.Restart(t)
		for _, em := range emails {
			m := e.mail.WaitFor(t, em, "Verify")
			if m.Token() == "" {
				t.Fatalf("message to %s has no token", em)
			}
		}
		if !strings.Contains(e.srv.Logs.String(), "circuit breaker changed state") {
			t.Error("the breaker never opened")
		}
	})
}

// With SMTP configured, no password, token or link ever reaches the logs.
func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	email, _, tok := e.newUser(t, "secrets")
	r := e.refresh(t, tok.Refresh).Expect(t, 200)
	e.c.Do(t, "POST", "/v1/auth/password/forgot", map[string]any{"email": email}, "").Expect(t, 202)
	reset := e.mail.WaitFor(t, email, "Reset").Token()
	verify := e.mail.WaitFor(t, email, "Verify").Token()
	e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "a wrong password"}, "").Expect(t, 401)
	logs := e.srv.Logs.String()
	for name, secret := range map[string]string{"password": goodPassword, "wrong password": "a wrong password",
		"access token": tok.Access, "refresh token": tok.Refresh, "rotated token": r.Str("refresh_token"),
		"reset token": reset, "verification token": verify} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
	if !strings.Contains(logs, `"request_id"`) {
		t.Error("log lines carry no request id")
	}
}

func TestOperatorMetrics(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	email, _, tok := e.newUser(t, "metrics")
	e.refresh(t, tok.Refresh).Expect(t, 200)
	e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "a wrong password"}, "").Expect(t, 401)
	m := string(e.c.Do(t, "GET", "/metrics", nil, "").Expect(t, 200).Raw)
	for _, want := range []string{
		`gatehouse_logins_total{result="succeeded"} 1`,
		`gatehouse_logins_total{result="failed"} 1`,
		`gatehouse_logins_total{result="throttled"} 0`,
		`gatehouse_logins_total{result="mfa_required"} 0`,
		`gatehouse_token_refreshes_total{result="succeeded"} 1`,
		"gatehouse_password_hash_duration_seconds_bucket",
		"gatehouse_outbox_depth",
		"gatehouse_outbox_sent_total",
		`gatehouse_http_requests_total{method="POST",route="/v1/auth/login",status="401"} 1`,
		"gatehouse_http_request_duration_seconds_bucket",
		"go_sql_open_connections",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Two replicas on one database: a logout on one reaches the other within the session
// cache bound.
func TestRevocationReachesOtherReplicas(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		url, dir := db(t), t.TempDir()
		a := newEnv(t, url, testserver.With("GATEHOUSE_DATA_DIR", dir), testserver.With("GATEHOUSE_SESSION_CACHE_TTL", "1s"))
		b := newEnv(t, url, testserver.With("GATEHOUSE_DATA_DIR", dir), testserver.With("GATEHOUSE_SESSION_CACHE_TTL", "1s"),
			testserver.With("GATEHOUSE_ISSUER", a.srv.URL)) // replicas share one public URL
		_, _, tok := a.newUser(t, "replicas")
		b.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200) // B caches the session as live
		a.c.Do(t, "POST", "/v1/auth/logout", nil, tok.Access).Expect(t, 204)
		b.refresh(t, tok.Refresh).Expect(t, 401, "invalid_token") // refresh fails at once everywhere
		deadline := time.Now().Add(5 * time.Second)
		for b.c.Do(t, "GET", "/v1/me", nil, tok.Access).Status == 200 {
			if time.Now().After(deadline) {
				t.Fatal("replica B still accepts the revoked session after 5 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
