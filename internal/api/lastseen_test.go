package api_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// last_seen_at follows use, but is written at most once a minute, not on every request.
func TestLastSeenMovesAtMostOnceAMinute(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		clock := testserver.NewClock()
		e := newEnv(t, db(t), testserver.WithApp(appClock(clock)), testserver.With("GATEHOUSE_SESSION_CACHE_TTL", "0s"))
		_, _, tok := e.newUser(t, "seen")
		lastSeen := func() time.Time {
			t.Helper()
			var list struct {
				Items []struct {
					LastSeenAt time.Time `json:"last_seen_at"`
					Current    bool      `json:"current"`
				} `json:"items"`
			}
			e.c.Do(t, "GET", "/v1/me/sessions", nil, tok.Access).Expect(t, 200).Decode(t, &list)
			for _, s := range list.Items {
				if s.Current {
					return s.LastSeenAt
				}
			}
			t.Fatal("no current session listed")
			return time.Time{}
		}
		start := lastSeen()
		clock.Advance(40 * time.Second)
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200)
		if got := lastSeen(); !got.Equal(start) {
			t.Fatalf("last_seen_at moved after 40 s: %v -> %v", start, got)
		}
		clock.Advance(30 * time.Second) // 70 s since it was written
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200)
		moved := lastSeen()
		if want := start.Add(70 * time.Second); !moved.Equal(want) {
			t.Fatalf("last_seen_at after 70 s = %v; want %v", moved, want)
		}
		clock.Advance(10 * time.Second)
		e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200)
		if got := lastSeen(); !got.Equal(moved) {
			t.Fatalf("last_seen_at moved again 10 s later: %v -> %v", moved, got)
		}
	})
}
