package oidc_test

import (
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestOrganizationRequiringMFAInTheBrowser: an app that signs people in for an
// organization (org_id) gets no code for a member without a second factor when the
// organization requires one; with one, the sign-in passes through the factor.
func TestOrganizationRequiringMFAInTheBrowser(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL func(testing.TB) string) {
		r := newRig(t, dbURL(t))
		c, secret := r.client(store.Client{FirstParty: true})
		app := r.relyingParty(c, secret)

		owner := r.user("owner")
		tok := r.apiLogin(owner)
		resp := r.api.Do(t, "POST", "/v1/orgs", map[string]any{"name": "Strict", "slug": "strict-" + strings.ToLower(strings.ReplaceAll(c.ID, "client-", ""))}, tok)
		if resp.Status != 201 {
			t.Fatalf("create org: %d %s", resp.Status, resp.Raw)
		}
		orgID := resp.Str("id")
		if resp := r.api.Do(t, "PUT", "/v1/orgs/"+orgID+"/policy", map[string]any{"require_mfa": true, "session_ttl_seconds": 0,
			"password_min_length": 0}, tok); resp.Status != 200 {
			t.Fatalf("policy: %d %s", resp.Status, resp.Raw)
		}

		// Without a second factor: no code, and the page says why.
		a := app.start(oauth2.SetAuthURLParam("org_id", orgID))
		b := r.browser()
		page, _ := b.get(a.url)
		resp2, body := b.submit(page, "password", map[string]string{"email": owner, "password": goodPassword})
		if left(resp2) != nil {
			t.Fatalf("a code without the required second factor: %v", left(resp2))
		}
		if !strings.Contains(strings.ToLower(body), "second factor") && !strings.Contains(strings.ToLower(body), "two-factor") {
			t.Fatalf("the page does not say a second factor is required:\n%s", body)
		}

		// With TOTP enrolled the sign-in asks for it, then the app gets its code.
		secretTOTP := r.enrollTOTP(owner)
		a = app.start(oauth2.SetAuthURLParam("org_id", orgID))
		_, idt := app.exchange(t, a, r.browser().signIn(a.url, owner, secretTOTP))
		var cl idClaims
		_ = idt.Claims(&cl)
		if !contains(cl.AMR, "mfa") {
			t.Fatalf("amr = %v", cl.AMR)
		}
	})
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
