package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newClient(t *testing.T, s store.Store, name string) *store.Client {
	t.Helper()
	c := &store.Client{ID: newID(), Name: name, SecretHash: "h-" + name, RedirectURIs: []string{"https://app.example.com/cb"},
		GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic", Scopes: []string{"openid"},
		CreatedAt: base, UpdatedAt: base}
	if err := s.CreateClient(t.Context(), c); err != nil {
		t.Fatalf("CreateClient(%s): %v", name, err)
	}
	return c
}

func clientIDs(list []store.Client) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}

// Clients round-trip every field, lists included (URIs may hold commas), and list by id.
func testClients(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := &store.Client{
		ID: newID(), Name: "Billing, Inc.", SecretHash: "ab01",
		RedirectURIs:           []string{"https://app.example.com/cb?a=1,2", "http://127.0.0.1/cb", "com.example.app:/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/bye?x=a,b"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		AuthMethod:             "client_secret_post", Scopes: []string{"openid", "email", "offline_access"},
		FirstParty: true, AccessTokenTTL: 300 * time.Second, CreatedAt: base, UpdatedAt: base.Add(time.Second),
	}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	got, err := s.ClientByID(ctx, c.ID)
	if err != nil {
		t.Fatalf("ClientByID: %v", err)
	}
	if got.Name != c.Name || got.SecretHash != c.SecretHash || !slices.Equal(got.RedirectURIs, c.RedirectURIs) ||
		!slices.Equal(got.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs) || !slices.Equal(got.GrantTypes, c.GrantTypes) ||
		got.AuthMethod != c.AuthMethod || !slices.Equal(got.Scopes, c.Scopes) || !got.FirstParty ||
		got.AccessTokenTTL != c.AccessTokenTTL || !got.CreatedAt.Equal(base) || !got.UpdatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("ClientByID = %+v\nwant %+v", got, c)
	}
	if err := s.CreateClient(ctx, &store.Client{ID: c.ID, Name: "again", AuthMethod: "none", CreatedAt: base, UpdatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateClient with a taken id = %v, want ErrConflict", err)
	}
	if _, err := s.ClientByID(ctx, "no-such-client"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClientByID(unknown) = %v, want ErrNotFound", err)
	}

	// A public client with no lists at all reads back with empty ones.
	pub := &store.Client{ID: newID(), Name: "cli", AuthMethod: "none", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateClient(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClientByID(ctx, pub.ID); err != nil || got.SecretHash != "" || len(got.RedirectURIs) != 0 ||
		len(got.Scopes) != 0 || got.FirstParty || got.AccessTokenTTL != 0 {
		t.Fatalf("public client = %+v, %v", got, err)
	}

	// Update replaces everything but the id, the secret and created_at.
	upd := *c
	upd.Name, upd.RedirectURIs, upd.PostLogoutRedirectURIs = "Renamed", []string{"https://new.example.com/cb"}, nil
	upd.GrantTypes, upd.AuthMethod, upd.Scopes = []string{"client_credentials"}, "client_secret_basic", []string{"openid"}
	upd.FirstParty, upd.AccessTokenTTL, upd.UpdatedAt = false, 0, base.Add(time.Hour)
	upd.SecretHash, upd.CreatedAt = "ignored", base.Add(time.Hour)
	if err := s.UpdateClient(ctx, &upd); err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	got, _ = s.ClientByID(ctx, c.ID)
	if got.Name != "Renamed" || !slices.Equal(got.RedirectURIs, upd.RedirectURIs) || len(got.PostLogoutRedirectURIs) != 0 ||
		!slices.Equal(got.GrantTypes, upd.GrantTypes) || got.AuthMethod != "client_secret_basic" || got.FirstParty ||
		got.AccessTokenTTL != 0 || !got.UpdatedAt.Equal(upd.UpdatedAt) || got.SecretHash != "ab01" || !got.CreatedAt.Equal(base) {
		t.Fatalf("after UpdateClient = %+v", got)
	}
	if err := s.UpdateClient(ctx, &store.Client{ID: "no-such-client", AuthMethod: "none"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateClient(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.SetClientSecret(ctx, c.ID, "cd02", base.Add(2*time.Hour)); err != nil {
		t.Fatalf("SetClientSecret: %v", err)
	}
	if got, _ := s.ClientByID(ctx, c.ID); got.SecretHash != "cd02" || !got.UpdatedAt.Equal(base.Add(2*time.Hour)) {
		t.Fatalf("after SetClientSecret = %+v", got)
	}
	if err := s.SetClientSecret(ctx, "no-such-client", "x", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetClientSecret(unknown) = %v, want ErrNotFound", err)
	}

	// Listing pages by id.
	third := newClient(t, s, "third")
	want := []string{c.ID, pub.ID, third.ID}
	slices.Sort(want)
	all, err := s.ListClients(ctx, "", 10)
	if err != nil || !slices.Equal(clientIDs(all), want) {
		t.Fatalf("ListClients = %v, %v; want %v", clientIDs(all), err, want)
	}
	page, err := s.ListClients(ctx, want[0], 1)
	if err != nil || !slices.Equal(clientIDs(page), want[1:2]) {
		t.Fatalf("ListClients(after the first, 1) = %v, %v; want %v", clientIDs(page), err, want[1:2])
	}
	if rest, _ := s.ListClients(ctx, want[2], 10); len(rest) != 0 {
		t.Fatalf("ListClients after the last = %v", clientIDs(rest))
	}

	// Deleting takes the client's auth requests and consents with it.
	u := newUser(t, s, "consenting@example.com")
	if err := s.SaveConsent(ctx, &store.Consent{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid"}, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	ar := &store.AuthRequest{ID: newID(), ClientID: c.ID, RedirectURI: "https://new.example.com/cb", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateAuthRequest(ctx, ar); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, c.ID); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	if err := s.DeleteClient(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteClient twice = %v, want ErrNotFound", err)
	}
	if _, err := s.ClientByID(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted client = %v, want ErrNotFound", err)
	}
	if _, err := s.AuthRequestByID(ctx, ar.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an auth request of a deleted client = %v, want ErrNotFound", err)
	}
	if _, err := s.ConsentFor(ctx, u.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a consent to a deleted client = %v, want ErrNotFound", err)
	}
	if err := s.CreateAuthRequest(ctx, &store.AuthRequest{ID: newID(), ClientID: c.ID, CreatedAt: base, ExpiresAt: base}); err == nil {
		t.Fatal("an auth request for a deleted client was stored")
	}
}

// An authorization request goes through sign-in, one code and one exchange.
func testAuthRequests(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := newClient(t, s, "web")
	u := newUser(t, s, "ar@example.com")
	zero, hour := int64(0), int64(3600)
	r := &store.AuthRequest{
		ID: newID(), ClientID: c.ID, RedirectURI: "https://app.example.com/cb?a=1,2", State: "st,ate", Nonce: "n-1",
		Scopes: []string{"openid", "email"}, ResponseMode: "query", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Prompt: []string{"login", "consent"}, MaxAge: &zero, LoginHint: "ar@example.com",
		OrgID: newID(), CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute),
	}
	if err := s.CreateAuthRequest(ctx, r); err != nil {
		t.Fatalf("CreateAuthRequest: %v", err)
	}
	plain := &store.AuthRequest{ID: newID(), ClientID: c.ID, RedirectURI: "https://app.example.com/cb", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	withAge := &store.AuthRequest{ID: newID(), ClientID: c.ID, RedirectURI: "https://app.example.com/cb", MaxAge: &hour, CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	for _, x := range []*store.AuthRequest{plain, withAge} {
		if err := s.CreateAuthRequest(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuthRequestByID(ctx, r.ID)
	if err != nil {
		t.Fatalf("AuthRequestByID: %v", err)
	}
	if got.ClientID != c.ID || got.RedirectURI != r.RedirectURI || got.State != r.State || got.Nonce != r.Nonce ||
		!slices.Equal(got.Scopes, r.Scopes) || got.ResponseMode != "query" || got.CodeChallenge != r.CodeChallenge ||
		got.CodeChallengeMethod != "S256" || !slices.Equal(got.Prompt, r.Prompt) || got.LoginHint != r.LoginHint ||
		got.OrgID != r.OrgID || !got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(r.ExpiresAt) || got.Done() ||
		got.CodeHash != "" || got.CodeExpiresAt != nil || got.CodeUsedAt != nil || got.AuthTime != nil {
		t.Fatalf("AuthRequestByID = %+v\nwant %+v", got, r)
	}
	if got.MaxAge == nil || *got.MaxAge != 0 {
		t.Fatalf("max_age=0 read back as %v, want 0 (it means: sign in again)", got.MaxAge)
	}
	if got, _ := s.AuthRequestByID(ctx, plain.ID); got.MaxAge != nil || len(got.Scopes) != 0 || len(got.Prompt) != 0 {
		t.Fatalf("a request without max_age = %+v (MaxAge %v), want nil", got, got.MaxAge)
	}
	if got, _ := s.AuthRequestByID(ctx, withAge.ID); got.MaxAge == nil || *got.MaxAge != 3600 {
		t.Fatalf("max_age=3600 read back as %v", got.MaxAge)
	}
	if _, err := s.AuthRequestByID(ctx, "no-such-request"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AuthRequestByID(unknown) = %v, want ErrNotFound", err)
	}

	// No code before someone has signed in.
	if err := s.SetAuthCode(ctx, r.ID, "code-early", base.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SetAuthCode before sign-in = %v, want ErrConflict", err)
	}
	authTime := base.Add(30 * time.Second)
	if err := s.CompleteAuthRequest(ctx, r.ID, u.ID, "browser-1", authTime, []string{"pwd", "otp", "mfa"}); err != nil {
		t.Fatalf("CompleteAuthRequest: %v", err)
	}
	if err := s.CompleteAuthRequest(ctx, "no-such-request", u.ID, "b", authTime, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CompleteAuthRequest(unknown) = %v, want ErrNotFound", err)
	}
	got, _ = s.AuthRequestByID(ctx, r.ID)
	if !got.Done() || got.UserID != u.ID || got.BrowserSessionID != "browser-1" || got.AuthTime == nil ||
		!got.AuthTime.Equal(authTime) || !slices.Equal(got.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("completed request = %+v", got)
	}

	codeExp := base.Add(90 * time.Second)
	if err := s.SetAuthCode(ctx, r.ID, "code-1", codeExp); err != nil {
		t.Fatalf("SetAuthCode: %v", err)
	}
	if err := s.SetAuthCode(ctx, r.ID, "code-2", codeExp); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second SetAuthCode = %v, want ErrConflict", err)
	}
	// Once a code is out, the request's user cannot be swapped.
	other := newUser(t, s, "other-ar@example.com")
	if err := s.CompleteAuthRequest(ctx, r.ID, other.ID, "browser-2", authTime, nil); err == nil {
		t.Fatal("CompleteAuthRequest after the code was issued succeeded")
	}
	got, err = s.AuthRequestByCode(ctx, "code-1")
	if err != nil || got.ID != r.ID || got.UserID != u.ID || got.CodeHash != "code-1" || got.CodeExpiresAt == nil ||
		!got.CodeExpiresAt.Equal(codeExp) || got.CodeUsedAt != nil {
		t.Fatalf("AuthRequestByCode = %+v, %v", got, err)
	}
	if _, err := s.AuthRequestByCode(ctx, "code-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AuthRequestByCode(refused code) = %v, want ErrNotFound", err)
	}
	// Code hashes are unique across requests.
	if err := s.CompleteAuthRequest(ctx, plain.ID, u.ID, "browser-1", authTime, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAuthCode(ctx, plain.ID, "code-1", codeExp); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SetAuthCode with another request's code = %v, want ErrConflict", err)
	}

	usedAt := base.Add(40 * time.Second)
	if err := s.UseAuthCode(ctx, r.ID, usedAt); err != nil {
		t.Fatalf("UseAuthCode: %v", err)
	}
	if err := s.UseAuthCode(ctx, r.ID, usedAt.Add(time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second UseAuthCode = %v, want ErrConflict", err)
	}
	if err := s.SetAuthRequestGrant(ctx, r.ID, "grant-1"); err != nil {
		t.Fatalf("SetAuthRequestGrant: %v", err)
	}
	got, err = s.AuthRequestByCode(ctx, "code-1") // found used, so that a replay can revoke its grant
	if err != nil || got.CodeUsedAt == nil || !got.CodeUsedAt.Equal(usedAt) || got.GrantSessionID != "grant-1" {
		t.Fatalf("used request = %+v, %v", got, err)
	}
	if err := s.SetAuthRequestGrant(ctx, "no-such-request", "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetAuthRequestGrant(unknown) = %v, want ErrNotFound", err)
	}

	if err := s.DeleteAuthRequest(ctx, r.ID); err != nil {
		t.Fatalf("DeleteAuthRequest: %v", err)
	}
	if _, err := s.AuthRequestByID(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted request = %v, want ErrNotFound", err)
	}
	if _, err := s.AuthRequestByCode(ctx, "code-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the code of a deleted request = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAuthRequest(ctx, r.ID); err != nil {
		t.Fatalf("deleting a deleted request: %v", err)
	}
	if _, err := s.AuthRequestByID(ctx, withAge.ID); err != nil {
		t.Fatalf("another request went with it: %v", err)
	}
}

// Of concurrent exchanges of one code, exactly one wins (on SQLite writers take turns,
// so the loser's path is also forced afterwards).
func testAuthCodeRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := newClient(t, s, "race")
	u := newUser(t, s, "race@example.com")
	r := &store.AuthRequest{ID: newID(), ClientID: c.ID, RedirectURI: "https://app.example.com/cb", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteAuthRequest(ctx, r.ID, u.ID, "b", base, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	race := func(name string, fn func(q store.Queries) error) {
		const n = 8
		results := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { results <- s.InTx(ctx, fn) })
		}
		wg.Wait()
		close(results)
		wins := 0
		for err := range results {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("%s: unexpected error %v", name, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent %s succeeded, want exactly 1", wins, name)
		}
	}
	race("SetAuthCode", func(q store.Queries) error { return q.SetAuthCode(ctx, r.ID, "race-"+newID(), base.Add(time.Minute)) })
	race("UseAuthCode", func(q store.Queries) error { return q.UseAuthCode(ctx, r.ID, base.Add(time.Second)) })
}

// A consent is kept per user and client, replaced when saved again.
func testConsents(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "consent@example.com")
	other := newUser(t, s, "consent-other@example.com")
	a, b := newClient(t, s, "a"), newClient(t, s, "b")
	if _, err := s.ConsentFor(ctx, u.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsentFor before any = %v, want ErrNotFound", err)
	}
	for _, c := range []*store.Consent{
		{UserID: u.ID, ClientID: a.ID, Scopes: []string{"openid"}, CreatedAt: base},
		{UserID: u.ID, ClientID: b.ID, Scopes: []string{"openid", "email"}, CreatedAt: base.Add(time.Minute)},
		{UserID: other.ID, ClientID: a.ID, Scopes: []string{"openid"}, CreatedAt: base},
	} {
		if err := s.SaveConsent(ctx, c); err != nil {
			t.Fatalf("SaveConsent: %v", err)
		}
	}
	got, err := s.ConsentFor(ctx, u.ID, a.ID)
	if err != nil || !slices.Equal(got.Scopes, []string{"openid"}) || !got.CreatedAt.Equal(base) {
		t.Fatalf("ConsentFor = %+v, %v", got, err)
	}
	// Saving again replaces the scopes and the time.
	if err := s.SaveConsent(ctx, &store.Consent{UserID: u.ID, ClientID: a.ID, Scopes: []string{"openid", "profile", "offline_access"},
		CreatedAt: base.Add(time.Hour)}); err != nil {
		t.Fatalf("SaveConsent again: %v", err)
	}
	got, _ = s.ConsentFor(ctx, u.ID, a.ID)
	if !slices.Equal(got.Scopes, []string{"openid", "profile", "offline_access"}) || !got.CreatedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("replaced consent = %+v", got)
	}
	list, err := s.ListConsents(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].ClientID != a.ID || list[1].ClientID != b.ID {
		t.Fatalf("ListConsents = %+v, %v; want a (newest), b", list, err)
	}
	if err := s.DeleteConsent(ctx, u.ID, a.ID); err != nil {
		t.Fatalf("DeleteConsent: %v", err)
	}
	if err := s.DeleteConsent(ctx, u.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteConsent twice = %v, want ErrNotFound", err)
	}
	if _, err := s.ConsentFor(ctx, u.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted consent = %v, want ErrNotFound", err)
	}
	if _, err := s.ConsentFor(ctx, other.ID, a.ID); err != nil {
		t.Fatalf("another user's consent went too: %v", err)
	}
	if list, _ := s.ListConsents(ctx, u.ID); len(list) != 1 || list[0].ClientID != b.ID {
		t.Fatalf("ListConsents after delete = %+v", list)
	}
}

// newBrowserSession starts a session of the hosted pages, reached by cookieHash.
func newBrowserSession(t *testing.T, s store.Store, userID string, at time.Time, cookieHash string) *store.Session {
	t.Helper()
	sess := &store.Session{ID: newID(), UserID: userID, AMR: []string{"pwd"}, IP: "192.0.2.1", UserAgent: "test/1",
		CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(90 * 24 * time.Hour), Kind: store.SessionBrowser, CookieHash: cookieHash}
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession(browser): %v", err)
	}
	return sess
}

// newGrant starts an OAuth grant session of the client from a browser session.
func newGrant(t *testing.T, s store.Store, parent *store.Session, clientID string, scopes []string, at time.Time) *store.Session {
	t.Helper()
	g := &store.Session{ID: newID(), UserID: parent.UserID, AMR: parent.AMR, CreatedAt: at, LastSeenAt: at,
		ExpiresAt: at.Add(24 * time.Hour), Kind: store.SessionGrant, ClientID: clientID, Scopes: scopes,
		ParentID: parent.ID, AuthTime: parent.AuthTime}
	if err := s.CreateSession(t.Context(), g); err != nil {
		t.Fatalf("CreateSession(grant): %v", err)
	}
	return g
}

// Browser sessions are found by their cookie's hash; grants are listed apart from the
// sessions a user manages.
func testBrowserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "browser@example.com")
	api := newSession(t, s, u.ID, base)
	br := newBrowserSession(t, s, u.ID, base.Add(time.Minute), "cookie-hash-1")
	got, err := s.SessionByCookie(ctx, "cookie-hash-1")
	if err != nil || got.ID != br.ID || got.Kind != store.SessionBrowser || got.UserID != u.ID || !got.AuthTime.Equal(br.CreatedAt) {
		t.Fatalf("SessionByCookie = %+v, %v", got, err)
	}
	if _, err := s.SessionByCookie(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SessionByCookie(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.SessionByCookie(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SessionByCookie(\"\") = %v, want ErrNotFound (sessions without a cookie are not reached)", err)
	}
	dup := &store.Session{ID: newID(), UserID: u.ID, CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour),
		Kind: store.SessionBrowser, CookieHash: "cookie-hash-1"}
	if err := s.CreateSession(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second session with the same cookie = %v, want ErrConflict", err)
	}
	if got, _ := s.SessionByID(ctx, api.ID); got.Kind != store.SessionAPI {
		t.Fatalf("an API session's kind = %q", got.Kind)
	}

	authTime := base.Add(-time.Hour)
	br.AuthTime = authTime
	g1 := newGrant(t, s, br, "client-a", []string{"openid", "offline_access"}, base.Add(2*time.Minute))
	g2 := newGrant(t, s, br, "client-b", []string{"openid"}, base.Add(3*time.Minute))
	got, err = s.SessionByID(ctx, g1.ID)
	if err != nil || got.Kind != store.SessionGrant || got.ClientID != "client-a" || got.ParentID != br.ID ||
		!slices.Equal(got.Scopes, []string{"openid", "offline_access"}) || !got.AuthTime.Equal(authTime) {
		t.Fatalf("grant = %+v, %v", got, err)
	}

	now := base.Add(time.Hour)
	grants, err := s.ListGrants(ctx, u.ID, now)
	if err != nil || !slices.Equal(ids(grants), []string{g2.ID, g1.ID}) {
		t.Fatalf("ListGrants = %v, %v; want g2, g1 (no API or browser sessions)", ids(grants), err)
	}
	sessions, err := s.ListSessions(ctx, u.ID, now)
	if err != nil || !slices.Equal(ids(sessions), []string{br.ID, api.ID}) {
		t.Fatalf("ListSessions = %v, %v; want the browser and API sessions, no grants", ids(sessions), err)
	}
	if err := s.RevokeSession(ctx, g2.ID, "grant_revoked", now); err != nil {
		t.Fatal(err)
	}
	if grants, _ := s.ListGrants(ctx, u.ID, now); !slices.Equal(ids(grants), []string{g1.ID}) {
		t.Fatalf("ListGrants after revoking g2 = %v", ids(grants))
	}
	if grants, _ := s.ListGrants(ctx, u.ID, g1.ExpiresAt.Add(time.Second)); len(grants) != 0 {
		t.Fatalf("ListGrants after they expired = %v", ids(grants))
	}
	if grants, _ := s.ListGrants(ctx, newID(), now); len(grants) != 0 {
		t.Fatalf("ListGrants of nobody = %v", ids(grants))
	}
}

// RevokeGrants ends the live grants matching every filter given, and only those.
func testRevokeGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser(t, s, "grants@example.com")
	other := newUser(t, s, "grants-other@example.com")
	br1, br2, brOther := newSession(t, s, u.ID, base), newSession(t, s, u.ID, base), newSession(t, s, other.ID, base)
	online := []string{"openid", "email"}
	offline := []string{"openid", "offline_access"}
	a1 := newGrant(t, s, br1, "client-a", online, base)
	a1off := newGrant(t, s, br1, "client-a", offline, base)
	b1 := newGrant(t, s, br1, "client-b", online, base)
	b2off := newGrant(t, s, br2, "client-b", offline, base)
	aOther := newGrant(t, s, brOther, "client-a", online, base)
	// A scope that merely contains the word is not offline_access.
	b2near := newGrant(t, s, br2, "client-b", []string{"offline_access_extra"}, base)
	now := base.Add(time.Minute)

	if _, err := s.RevokeGrants(ctx, store.GrantFilter{}, "x", now); err == nil {
		t.Fatal("RevokeGrants with no filter revoked every grant")
	}
	if _, err := s.RevokeGrants(ctx, store.GrantFilter{KeepOffline: true}, "x", now); err == nil {
		t.Fatal("RevokeGrants with only KeepOffline revoked every online grant")
	}
	// The grants br1 started, but offline ones (what ending a browser session does).
	got, err := s.RevokeGrants(ctx, store.GrantFilter{UserID: u.ID, ParentID: br1.ID, KeepOffline: true}, "end_session", now)
	if err != nil || !sameSet(got, []string{a1.ID, b1.ID}) {
		t.Fatalf("RevokeGrants(parent br1, keep offline) = %v, %v; want a1, b1", got, err)
	}
	if sess, _ := s.SessionByID(ctx, a1.ID); sess.RevokedAt == nil || !sess.RevokedAt.Equal(now) || sess.RevokeReason != "end_session" {
		t.Fatalf("revoked grant = %+v", sess)
	}
	// Revoked ones are not revoked again.
	if got, err := s.RevokeGrants(ctx, store.GrantFilter{ParentID: br1.ID, KeepOffline: true}, "again", now); err != nil || len(got) != 0 {
		t.Fatalf("RevokeGrants again = %v, %v; want none", got, err)
	}
	// Every grant of a client, whoever's (what deleting a client does).
	got, err = s.RevokeGrants(ctx, store.GrantFilter{ClientID: "client-a"}, "client_deleted", now)
	if err != nil || !sameSet(got, []string{a1off.ID, aOther.ID}) {
		t.Fatalf("RevokeGrants(client-a) = %v, %v; want a1off, aOther", got, err)
	}
	// One user's grants of one client, offline ones kept.
	got, err = s.RevokeGrants(ctx, store.GrantFilter{UserID: u.ID, ClientID: "client-b", KeepOffline: true}, "grant_revoked", now)
	if err != nil || !sameSet(got, []string{b2near.ID}) {
		t.Fatalf("RevokeGrants(u, client-b, keep offline) = %v, %v; want b2near only", got, err)
	}
	got, err = s.RevokeGrants(ctx, store.GrantFilter{UserID: u.ID}, "grant_revoked", now)
	if err != nil || !sameSet(got, []string{b2off.ID}) {
		t.Fatalf("RevokeGrants(u) = %v, %v; want b2off", got, err)
	}
	// Browser and API sessions are never touched.
	for _, id := range []string{br1.ID, br2.ID, brOther.ID} {
		if sess, _ := s.SessionByID(ctx, id); sess.RevokedAt != nil {
			t.Fatalf("RevokeGrants revoked the non-grant session %s", id)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Authorization requests past their expiry are purged in bounded batches.
func testPurgeAuthRequests(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := newClient(t, s, "purge")
	now := base.Add(24 * time.Hour)
	var live string
	for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(-time.Second), now.Add(-time.Hour), now.Add(time.Minute)} {
		r := &store.AuthRequest{ID: newID(), ClientID: c.ID, RedirectURI: "https://app.example.com/cb", CreatedAt: exp.Add(-10 * time.Minute), ExpiresAt: exp}
		if err := s.CreateAuthRequest(ctx, r); err != nil {
			t.Fatal(i, err)
		}
		live = r.ID
	}
	if n, err := s.PurgeExpired(ctx, store.ExpiredAuthRequests, now, 2); err != nil || n != 2 {
		t.Fatalf("PurgeExpired(auth requests, limit 2) = %d %v; want 2", n, err)
	}
	if n, err := s.PurgeExpired(ctx, store.ExpiredAuthRequests, now, 10); err != nil || n != 1 {
		t.Fatalf("PurgeExpired(auth requests) the rest = %d %v; want 1", n, err)
	}
	if n, _ := s.PurgeExpired(ctx, store.ExpiredAuthRequests, now, 10); n != 0 {
		t.Fatalf("PurgeExpired(auth requests) again = %d", n)
	}
	if _, err := s.AuthRequestByID(ctx, live); err != nil {
		t.Fatalf("the unexpired request was purged: %v", err)
	}
}
