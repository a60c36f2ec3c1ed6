package web_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
)

func TestAcceptInvitationAfterSigningIn(t *testing.T) {
	e := newEnv(t, testdbSQLite(t))
	api := apitest.New(t, e.srv.URL)
	owner := uniqueEmail("owner")
	api.Do(t, "POST", "/v1/auth/register", map[string]any{"email": owner, "password": goodPassword}, "").Expect(t, 201)
	access := api.Do(t, "POST", "/v1/auth/login", map[string]any{"email": owner, "password": goodPassword}, "").Expect(t, 200).Str("access_token")
	orgID := api.Do(t, "POST", "/v1/orgs", map[string]any{"name": "Acme", "slug": "acme-web"}, access).Expect(t, 201).Str("id")

	b := e.browser(t)
	email := uniqueEmail("invitee")
	verify := e.register(t, b, email, "")
	api.Do(t, "POST", "/v1/orgs/"+orgID+"/invitations", map[string]any{"email": email, "roles": []string{"member"}}, access).Expect(t, 201)
	tok := e.mail.WaitFor(t, email, "invited you").Token()

	// Signed out, the link leads through the sign-in and back.
	p := b.get("/invitations/accept?token=" + tok)
	if p.URL.Path != "/login" || !strings.Contains(p.Body, `name="return" value="/invitations/accept?token=`) {
		t.Fatalf("the invitation link signed out ended on %s", p.URL)
	}
	p = b.submit(p, "/login", vals("email", email, "password", goodPassword, "return", "/invitations/accept?token="+tok))
	if p.URL.Path != "/invitations/accept" {
		t.Fatalf("the sign-in returned to %s", p.URL)
	}
	// The address is not verified yet: the invitation says so, and stays usable.
	if q := b.submit(p, "/invitations/accept", vals("token", tok)); q.Status != 403 || !strings.Contains(errorText(q), "not verified") {
		t.Fatalf("accept before verifying: %d %q", q.Status, errorText(q))
	}
	b.submit(b.get("/verify-email?token="+verify), "/verify-email", vals("token", verify))
	p = b.submit(b.get("/invitations/accept?token="+tok), "/invitations/accept", vals("token", tok))
	mustContain(t, p, "You are now a member of the organization.")
	if q := b.submit(b.get("/invitations/accept?token="+tok), "/invitations/accept", vals("token", tok)); q.Status < 400 {
		t.Fatalf("the invitation worked twice: %d", q.Status)
	}
}
