package api_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// Second factors change only from a session that signed in recently: a session kept
// alive by refreshing (say, with a stolen refresh token) cannot add or replace factors.
func TestFactorChangesNeedARecentSignIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		clock := testserver.NewClock()
		e := newEnv(t, db(t), testserver.WithApp(appClock(clock)), testserver.With("GATEHOUSE_REAUTH_MAX_AGE", "10m"))
		email, _, tok := e.newUser(t, "sudo")
		e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, tok.Access).Expect(t, 200) // just signed in

		clock.Advance(11 * time.Minute)
		fresh := e.refresh(t, tok.Refresh).Expect(t, 200) // a new access token, the same old sign-in
		access := fresh.Str("access_token")
		e.c.Do(t, "GET", "/v1/me", nil, access).Expect(t, 200)
		for path, body := range map[string]any{
			"/v1/me/mfa/totp":                nil,
			"/v1/me/webauthn/register/begin": map[string]any{"name": "key", "current_password": goodPassword},
			"/v1/me/mfa/sms":                 map[string]any{"phone": "+14155550123"},
		} {
			r := e.c.Do(t, "POST", path, body, access).Expect(t, 403, "forbidden")
			mustContain(t, r.Str("detail"), "sign in again")
		}

		// Signing in again restores the right.
		again := e.login(t, email, goodPassword)
		e.c.Do(t, "POST", "/v1/me/mfa/totp", firstFactor, again.Access).Expect(t, 200)
	})
}
