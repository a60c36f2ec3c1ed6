package api_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// Keys: listed (never private parts), rotated by an administrator (audited as the
// actor), and the JWKS publishes the new next key at once on this replica.
func TestAdminKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		user := e.verifiedUser(t, "plain")
		e.c.Do(t, "GET", "/v1/admin/keys", nil, user.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "POST", "/v1/admin/keys/rotate", nil, user.tok.Access).Expect(t, 403, "forbidden")
		status := func(r map[string]any) map[string]string {
			out := map[string]string{}
			for _, it := range r["items"].([]any) {
				k := it.(map[string]any)
				out[k["kid"].(string)] = k["status"].(string)
				if len(k) != 4 {
					t.Fatalf("a key has fields %v", keys(k))
				}
			}
			return out
		}
		before := status(e.c.Do(t, "GET", "/v1/admin/keys", nil, tok).Expect(t, 200).Body)
		after := status(e.c.Do(t, "POST", "/v1/admin/keys/rotate", nil, tok).Expect(t, 200).Body)
		if len(before) != 2 || len(after) != 3 {
			t.Fatalf("keys before %v, after %v", before, after)
		}
		var newNext string
		for kid, st := range before {
			want := map[string]string{"active": "retired", "next": "active"}[st]
			if after[kid] != want {
				t.Fatalf("key %s was %s, now %s; want %s", kid, st, after[kid], want)
			}
		}
		for kid, st := range after {
			if _, old := before[kid]; !old && st == "next" {
				newNext = kid
			}
		}
		jwks := e.c.Do(t, "GET", "/.well-known/jwks.json", nil, "").Expect(t, 200)
		if !bytes.Contains(jwks.Raw, []byte(newNext)) || newNext == "" {
			t.Fatalf("the JWKS lacks the new next key %q: %s", newNext, jwks.Raw)
		}
		evs := e.c.Do(t, "GET", "/v1/admin/audit?action=key.rotated", nil, tok).Expect(t, 200).Body["items"].([]any)
		if len(evs) != 1 || evs[0].(map[string]any)["actor_id"] != e.admin.id {
			t.Fatalf("key.rotated events: %v", evs)
		}
	})
}

// The audit log for administrators: filters, pages newest first, bad filters 422; the
// export is NDJSON oldest first whose chain fields link each event to the one before.
func TestAdminAuditListAndExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newAdminEnv(t, db(t))
		tok := e.admin.tok.Access
		u := e.verifiedUser(t, "audited")
		e.c.Do(t, "GET", "/v1/admin/audit", nil, u.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "GET", "/v1/admin/audit/export", nil, u.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "PATCH", "/v1/admin/users/"+u.id, map[string]any{"name": "Renamed"}, tok).Expect(t, 200)

		items := func(query string) []map[string]any {
			t.Helper()
			var out []map[string]any
			for _, it := range e.c.Do(t, "GET", "/v1/admin/audit?"+query, nil, tok).Expect(t, 200).Body["items"].([]any) {
				out = append(out, it.(map[string]any))
			}
			return out
		}
		if got := items("target_id=" + u.id + "&action=admin.user.updated"); len(got) != 1 || got[0]["actor_id"] != e.admin.id {
			t.Fatalf("by target and action: %v", got)
		}
		if got := items("actor_id=" + u.id); len(got) == 0 {
			t.Fatal("nothing by the user as actor")
		}
		future := url.QueryEscape(e.clock.Now().Add(time.Hour).Format(time.RFC3339))
		if got := items("since=" + future); len(got) != 0 {
			t.Fatalf("events after an hour from now: %v", got)
		}
		if got := items("until=" + future + "&limit=200"); len(got) < 5 {
			t.Fatalf("events before an hour from now: %d", len(got))
		}
		page := e.c.Do(t, "GET", "/v1/admin/audit?limit=2", nil, tok).Expect(t, 200)
		next := page.Str("next_cursor")
		more := e.c.Do(t, "GET", "/v1/admin/audit?limit=2&cursor="+next, nil, tok).Expect(t, 200).Body["items"].([]any)
		if next == "" || len(more) != 2 {
			t.Fatalf("second page: cursor %q, %v", next, more)
		}
		for _, bad := range []string{"since=yesterday", "until=2026-13-01", "cursor=x", "limit=0"} {
			e.c.Do(t, "GET", "/v1/admin/audit?"+bad, nil, tok).Expect(t, 422, "validation_failed")
			if bad != "cursor=x" && bad != "limit=0" {
				e.c.Do(t, "GET", "/v1/admin/audit/export?"+bad, nil, tok).Expect(t, 422, "validation_failed")
			}
		}

		e.srv.VerifyAudit(t, audit.VerifyOptions{}) // chains what is appended
		r := e.c.Do(t, "GET", "/v1/admin/audit/export", nil, tok).Expect(t, 200)
		var prev string
		var lastSeq float64
		lines := bytes.Split(bytes.TrimSpace(r.Raw), []byte("\n"))
		for i, line := range lines {
			var ev map[string]any
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			seq, _ := ev["seq"].(float64)
			if seq != lastSeq+1 || (i > 0 && ev["prev_hash"] != prev) || ev["hash"] == "" {
				t.Fatalf("line %d breaks the chain: seq %v after %v, prev_hash %v after hash %v", i+1, seq, lastSeq, ev["prev_hash"], prev)
			}
			prev, lastSeq = ev["hash"].(string), seq
		}
		if len(lines) < 5 {
			t.Fatalf("export has %d lines", len(lines))
		}
		only := e.c.Do(t, "GET", "/v1/admin/audit/export?action=admin.user.updated", nil, tok).Expect(t, 200)
		if n := bytes.Count(bytes.TrimSpace(only.Raw), []byte("\n")) + 1; n != 1 || !bytes.Contains(only.Raw, []byte(u.id)) {
			t.Fatalf("filtered export: %s", only.Raw)
		}
	})
}
