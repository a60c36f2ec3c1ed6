package api_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Each account flow leaves its audit event, with outcome, in the same store as the change.
func TestAccountFlowsAreAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t))
		email, userID, tok := e.newUser(t, "audited")
		e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": email, "password": "wrong password here"}, "").Expect(t, 401, "invalid_credentials")
		other := e.login(t, email, goodPassword)
		e.c.Do(t, "DELETE", "/v1/me/sessions/"+other.Session, nil, tok.Access).Expect(t, 204)
		e.c.Do(t, "PATCH", "/v1/me", map[string]any{"name": "Renamed"}, tok.Access).Expect(t, 200)
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": "not my password", "new_password": "a brand new passphrase"}, tok.Access).
			Expect(t, 401, "invalid_credentials")
		e.c.Do(t, "POST", "/v1/me/password", map[string]any{"current_password": goodPassword, "new_password": "a brand new passphrase"}, tok.Access).Expect(t, 204)
		e.c.Do(t, "POST", "/v1/auth/logout", map[string]any{}, tok.Access).Expect(t, 204)

		events, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{SubjectID: userID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range events {
			got = append(got, ev.Action+":"+ev.Outcome)
			if ev.IP != "127.0.0.1" || ev.RequestID == "" || ev.UserAgent == "" {
				t.Errorf("%s lacks request context: %+v", ev.Action, ev)
			}
		}
		for _, want := range []string{
			"user.registered:success", "user.login.succeeded:success", "user.login.failed:failure", "session.revoked:success",
			"user.updated:success", "user.password.changed:failure", "user.password.changed:success", "user.logout:success",
		} {
			if !slices.Contains(got, want) {
				t.Errorf("no %s event; audit has %v", want, got)
			}
		}
	})
}
