package api_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

func TestRefreshRotationAndReuse(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		_, _, tok := e.newUser(t, "rotate")
		r1 := e.refresh(t, tok.Refresh).Expect(t, 200)
		if r1.Header.Get("Cache-Control") != "no-store" || r1.Str("refresh_token") == tok.Refresh || r1.Str("session_id") != tok.Session {
			t.Fatalf("refresh answered %s", r1.Raw)
		}
		r2 := e.refresh(t, r1.Str("refresh_token")).Expect(t, 200)
		e.c.Do(t, "GET", "/v1/me", nil, r2.Str("access_token")).Expect(t, 200)

		// The first token again: reuse. The whole session dies, including the newest tokens.
		e.refresh(t, tok.Refresh).Expect(t, 401, "refresh_token_reused")
		e.refresh(t, r2.Str("refresh_token")).Expect(t, 401, "invalid_token")
		e.c.Do(t, "GET", "/v1/me", nil, r2.Str("access_token")).Expect(t, 401, "unauthorized")
		e.refresh(t, tok.Refresh).Expect(t, 401, "invalid_token") // already revoked: nothing more to revoke
		e.refresh(t, r1.Str("refresh_token")).Expect(t, 401, "invalid_token")

		// The reuse that revoked the session is audited, and so is the first replay after
		// it (review: replays of an ended session left no trace), but only once per
		// session and hour: whoever holds the stolen tokens cannot write unbounded rows.
		list, _ := e.srv.App.Store().ListAudit(t.Context(), storeFilterAction("token.refresh.reused"))
		if len(list) != 2 || list[1].TargetID != tok.Session || list[1].Outcome != "failure" || list[1].Details != `{"revoked_session":true}` ||
			list[0].TargetID != tok.Session || list[0].Outcome != "failure" || list[0].Details != `{"session_ended":true}` {
			t.Fatalf("reuse audit events: %+v", list)
		}
		e.refresh(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").Expect(t, 401, "invalid_token")
		// A token of the wrong shape is just unknown; only a missing one is a form error.
		e.refresh(t, "not a token!").Expect(t, 401, "invalid_token")
		e.refresh(t, r2.Str("access_token")).Expect(t, 401, "invalid_token")
		e.refresh(t, "").Expect(t, 422, "validation_failed")
	})
}

func TestConcurrentRefreshExactlyOneWins(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		_, _, tok := e.newUser(t, "race")
		const n = 16
		answers := make(chan *apitest.Response, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { answers <- e.refresh(t, tok.Refresh) })
		}
		wg.Wait()
		close(answers)
		var won *apitest.Response
		ok := 0
		for r := range answers {
			switch r.Status {
			case 200:
				ok++
				won = r
			case 401:
			default:
				t.Fatalf("concurrent refresh answered %d", r.Status)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent refreshes of one token succeeded, want exactly 1", ok, n)
		}
		// Every other exchange presented a token already used: reuse (RFC 9700 §4.14), so
		// the session is over and even the winner's new refresh token is refused.
		e.refresh(t, won.Str("refresh_token")).Expect(t, 401, "invalid_token")
		// The losers presented a used token: the session was revoked once, audited once as
		// the reuse that revoked it; losers that found it already revoked are replays of
		// an ended session, audited at most once more.
		list, _ := e.srv.App.Store().ListAudit(t.Context(), storeFilterAction("token.refresh.reused"))
		revoked := 0
		for _, ev := range list {
			if ev.TargetID != tok.Session {
				t.Fatalf("reuse audit event of another session: %+v", ev)
			}
			if ev.Details == `{"revoked_session":true}` {
				revoked++
			}
		}
		if revoked != 1 || len(list) > 2 {
			t.Fatalf("reuse audit events after the race: %+v", list)
		}
	})
}

func TestSessionLifetimes(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		clock := testserver.NewClock()
		e := newEnv(t, db(t), testserver.WithApp(appClock(clock)),
			testserver.With("GATEHOUSE_REFRESH_IDLE_TTL", "1h"), testserver.With("GATEHOUSE_SESSION_TTL", "3h"))
		email, _, tok := e.newUser(t, "ttl")

		// Used every 50 minutes, the session lives until its absolute end.
		rt := tok.Refresh
		for i := 0; i < 3; i++ {
			clock.Advance(50 * time.Minute)
			rt = e.refresh(t, rt).Expect(t, 200).Str("refresh_token")
		}
		clock.Advance(31 * time.Minute) // 3h01 after login
		e.refresh(t, rt).Expect(t, 401, "invalid_token")

		// Idle for more than an hour, it ends.
		tok = e.login(t, email, goodPassword)
		clock.Advance(61 * time.Minute)
		e.refresh(t, tok.Refresh).Expect(t, 401, "invalid_token")

		// An access token expires after 15 minutes.
		tok = e.login(t, email, goodPassword)
		clock.Advance(16 * time.Minute)
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 401, "unauthorized")
	})
}

func TestLogoutEndsSessionAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email, _, tok := e.newUser(t, "logout")
		other := e.login(t, email, goodPassword)
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200) // cached as live
		e.c.Do(t, "POST", "/v1/auth/logout", map[string]any{}, tok.Access).Expect(t, 204)
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 401, "unauthorized")
		e.refresh(t, tok.Refresh).Expect(t, 401, "invalid_token")
		e.c.Do(t, "POST", "/v1/auth/logout", nil, tok.Access).Expect(t, 401)
		// The other device is untouched.
		e.c.Do(t, "GET", "/v1/me", nil, other.Access).Expect(t, 200)
		e.c.Do(t, "POST", "/v1/auth/logout", nil, other.Access).Expect(t, 204) // an empty body is fine too
		e.c.Do(t, "POST", "/v1/auth/logout", map[string]any{}, "").Expect(t, 401, "unauthorized")
	})
}

func TestSessionsListAndRevoke(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		e.c.Header.Set("User-Agent", "phone/1.0")
		email, _, a := e.newUser(t, "devices")
		e.c.Header.Set("User-Agent", "laptop/2.0")
		b := e.login(t, email, goodPassword)
		c := e.login(t, email, goodPassword)
		_, _, stranger := e.newUser(t, "stranger")

		r := e.c.Do(t, "GET", "/v1/me/sessions", nil, b.Access).Expect(t, 200)
		items := r.Body["items"].([]any)
		if len(items) != 3 || r.Body["next_cursor"] != nil {
			t.Fatalf("sessions = %s", r.Raw)
		}
		current := 0
		for _, it := range items {
			s := it.(map[string]any)
			if s["ip"] != "127.0.0.1" || s["user_agent"] == "" || s["created_at"] == nil || s["last_seen_at"] == nil {
				t.Fatalf("session item %v", s)
			}
			if s["current"] == true {
				current++
				if s["id"] != b.Session {
					t.Fatalf("current session is %v, want %s", s["id"], b.Session)
				}
			}
		}
		if current != 1 {
			t.Fatalf("%d sessions marked current", current)
		}
		// Paging.
		p1 := e.c.Do(t, "GET", "/v1/me/sessions?limit=2", nil, b.Access).Expect(t, 200)
		cursor, _ := p1.Body["next_cursor"].(string)
		p2 := e.c.Do(t, "GET", "/v1/me/sessions?limit=2&cursor="+cursor, nil, b.Access).Expect(t, 200)
		if len(p1.Body["items"].([]any)) != 2 || cursor == "" || len(p2.Body["items"].([]any)) != 1 || p2.Body["next_cursor"] != nil {
			t.Fatalf("pages: %s / %s", p1.Raw, p2.Raw)
		}
		e.c.Do(t, "GET", "/v1/me/sessions?limit=0", nil, b.Access).Expect(t, 422, "validation_failed")
		e.c.Do(t, "GET", "/v1/me/sessions?limit=201", nil, b.Access).Expect(t, 422, "validation_failed")

		// Another user's session: 404, and it survives.
		e.c.Do(t, "DELETE", "/v1/me/sessions/"+stranger.Session, nil, b.Access).Expect(t, 404, "not_found")
		e.c.Do(t, "GET", "/v1/me", nil, stranger.Access).Expect(t, 200)
		e.c.Do(t, "DELETE", "/v1/me/sessions/no-such-session", nil, b.Access).Expect(t, 404, "not_found")

		e.c.Do(t, "DELETE", "/v1/me/sessions/"+a.Session, nil, b.Access).Expect(t, 204)
		e.refresh(t, a.Refresh).Expect(t, 401, "invalid_token")
		e.c.Do(t, "DELETE", "/v1/me/sessions/"+a.Session, nil, b.Access).Expect(t, 404)

		e.c.Do(t, "DELETE", "/v1/me/sessions", nil, b.Access).Expect(t, 204)
		e.refresh(t, c.Refresh).Expect(t, 401, "invalid_token")
		e.c.Do(t, "GET", "/v1/me", nil, b.Access).Expect(t, 200)
		if n := len(e.c.Do(t, "GET", "/v1/me/sessions", nil, b.Access).Expect(t, 200).Body["items"].([]any)); n != 1 {
			t.Fatalf("%d sessions left, want only the current one", n)
		}
		acts := e.auditActions(t, b.Access)
		if !contains(acts, "session.revoked") {
			t.Fatalf("audit: %v", acts)
		}
	})
}

// With the default signing algorithm, RS256.
func TestAccessTokensVerifyAgainstPublishedJWKS(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_SIGNING_ALG", "RS256"))
		_, id, tok := e.newUser(t, "jwks")
		r := e.c.Do(t, "GET", "/.well-known/jwks.json", nil, "").Expect(t, 200)
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(r.Raw, &set); err != nil || len(set.Keys) != 2 {
			t.Fatalf("JWKS = %s (%v)", r.Raw, err)
		}
		seen := map[string]bool{}
		for _, k := range set.Keys {
			if seen[k.KeyID] || !k.IsPublic() || k.Algorithm != "RS256" {
				t.Fatalf("bad JWKS key %+v", k)
			}
			seen[k.KeyID] = true
		}
		parsed, err := jwt.ParseSigned(tok.Access, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		keys := set.Key(parsed.Headers[0].KeyID)
		if len(keys) != 1 {
			t.Fatalf("token kid %q not in the JWKS", parsed.Headers[0].KeyID)
		}
		var claims struct {
			jwt.Claims
			SID string   `json:"sid"`
			AMR []string `json:"amr"`
		}
		if err := parsed.Claims(keys[0].Key, &claims); err != nil {
			t.Fatalf("token does not verify with the published key: %v", err)
		}
		if claims.Issuer != e.srv.URL || claims.Subject != id || claims.SID != tok.Session || claims.AMR[0] != "pwd" ||
			claims.ID == "" || claims.IssuedAt == nil || claims.NotBefore == nil || !claims.Audience.Contains(e.srv.URL) ||
			claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != 15*time.Minute {
			t.Fatalf("claims = %+v", claims)
		}
	})
}

func TestForgedOrMalformedBearerTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		_, _, tok := e.newUser(t, "forged")
		for name, header := range map[string]string{
			"missing":           "",
			"wrong scheme":      "Basic " + tok.Access,
			"garbage":           "Bearer garbage",
			"tampered":          "Bearer " + tok.Access[:len(tok.Access)-4] + "AAAA",
			"alg none":          "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.",
			"refresh as bearer": "Bearer " + tok.Refresh,
		} {
			req := mustRequest(t, "GET", e.srv.URL+"/v1/me", "", "")
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			r := e.c.Send(t, req).Expect(t, 401, "unauthorized")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate", name)
			}
		}
	})
}
