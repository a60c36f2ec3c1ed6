package api_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// Every JSON endpoint of the account flows answers malformed bodies with 400 bad_request
// (never 500, never internals) and writes nothing: the audit chain, which every write
// extends, stays as long as it was.
func TestBadBodiesEverywhereWriteNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.With("GATEHOUSE_LIMIT_IP_PER_MINUTE", "1000"))
		email, _, tok := e.newUser(t, "badbody")
		routes := []struct {
			method, path string
			bearer       bool
			field        string // a string field the route takes
		}{
			{"POST", "/v1/auth/login", false, "email"},
			{"POST", "/v1/auth/token/refresh", false, "refresh_token"},
			{"POST", "/v1/auth/verify-email", false, "token"},
			{"POST", "/v1/auth/verify-email/resend", false, "email"},
			{"POST", "/v1/auth/password/forgot", false, "email"},
			{"POST", "/v1/auth/password/reset", false, "token"},
			{"PATCH", "/v1/me", true, "name"},
			{"POST", "/v1/me/password", true, "current_password"},
		}
		bodies := map[string]string{
			"malformed JSON":     `{"` + "x" + `":`,
			"not an object":      `["a"]`,
			"unknown field":      `{"is_admin":true}`,
			"wrong type":         `{"FIELD":12}`,
			"key in other case":  `{"FIELD_UPPER":"x"}`,
			"key given twice":    `{"FIELD":"x","FIELD":"y"}`,
			"invalid UTF-8":      "{\"FIELD\":\"\xff\xfe\"}",
			"NUL character":      `{"FIELD":"a\u0000b"}`,
			"two objects":        `{"FIELD":"x"}{"FIELD":"y"}`,
			"empty body":         ``,
			"deeply wrong shape": `{"FIELD":{"nested":[1,{"x":null}]}}`,
		}
		before := auditLength(t, e)
		for _, rt := range routes {
			for name, body := range bodies {
				body = strings.ReplaceAll(body, "FIELD_UPPER", strings.ToUpper(rt.field))
				body = strings.ReplaceAll(body, "FIELD", rt.field)
				bearer := ""
				if rt.bearer {
					bearer = tok.Access
				}
				r := e.c.Do(t, rt.method, rt.path, body, bearer)
				if r.Status != 400 || r.Code() != "bad_request" {
					t.Errorf("%s %s, %s: got %d %s; want 400 bad_request", rt.method, rt.path, name, r.Status, r.Raw)
					continue
				}
				r.Expect(t, 400) // problem+json whose status and request id match
				for _, leak := range []string{"sql", "SQL", "goroutine", ".go:", "json:", "reflect"} {
					if strings.Contains(string(r.Raw), leak) {
						t.Errorf("%s %s, %s: body leaks internals (%q): %s", rt.method, rt.path, name, leak, r.Raw)
					}
				}
			}
		}
		if after := auditLength(t, e); after != before {
			t.Fatalf("bad bodies wrote %d audit events", after-before)
		}
		// The account is untouched: same password, same name.
		e.login(t, email, goodPassword)
		if me := e.c.Do(t, "GET", "/v1/me", nil, tok.Access).Expect(t, 200); me.Str("name") != "Test User" {
			t.Fatalf("profile changed: %s", me.Raw)
		}
	})
}

// auditLength is the number of events in the hash chain, which must verify.
func auditLength(t *testing.T, e *env) int64 {
	t.Helper()
	rep := e.srv.VerifyAudit(t, audit.VerifyOptions{})
	if !rep.OK() {
		t.Fatalf("audit verify: %+v", rep)
	}
	return rep.Events + rep.Pending
}
