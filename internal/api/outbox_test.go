package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/testutil/poll"
	"github.com/gatehouse-id/gatehouse/internal/testutil/smtptest"
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
		// Deliveries fail until the breaker opens (three in a row trip it).
		poll.Until(t, 10*time.Second, "the email circuit breaker opening", func() bool {
			return strings.Contains(e.srv.Logs.String(), `"channel":"email","from":"closed","to":"open"`)
		})
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
		poll.UntilEvery(t, 5*time.Second, 100*time.Millisecond, "replica B refusing the revoked session", func() bool {
			r := b.c.Do(t, "GET", "/v1/me", nil, tok.Access)
			if r.Status == 200 {
				return false
			}
			r.Expect(t, 401) // refused as revoked, not failing some other way
			return true
		})
	})
}

// waitOutboxEmpty waits until every message in the outbox has been delivered (or given
// up): a message shows at the mail server before the sender records it as sent.
func waitOutboxEmpty(t *testing.T, e *env) {
	t.Helper()
	poll.Until(t, smtptest.WaitTimeout, "an empty outbox", func() bool {
		n, err := e.srv.App.Store().OutboxDepth(t.Context())
		if err != nil {
			t.Fatalf("outbox depth: %v", err)
		}
		return n == 0
	})
}
