package clients_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/clients"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

func setup(t *testing.T) (*sqlstore.DB, *clients.Service) {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	log := audit.NewLog(make([]byte, 32))
	sessions := session.NewService(&session.Service{Store: db, Audit: log, IdleTTL: time.Hour, AbsoluteTTL: 24 * time.Hour,
		Now: time.Now, CacheTTL: 5 * time.Second}, nil)
	return db, &clients.Service{Store: db, Audit: log, Sessions: sessions, Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// web is a valid confidential web client.
func web() clients.Spec {
	return clients.Spec{Name: "Billing", RedirectURIs: []string{"https://billing.example.com/callback"},
		GrantTypes: []string{"authorization_code", "refresh_token"}}
}

func auditOf(t *testing.T, db *sqlstore.DB, action audit.Action) []store.AuditEvent {
	t.Helper()
	evs, err := db.ListAudit(t.Context(), store.AuditFilter{Action: string(action), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// A confidential client gets a secret once; only its hash is stored. Defaults fill the
// method and the scopes.
func TestCreateShowsTheSecretOnceAndStoresItsHash(t *testing.T) {
	db, svc := setup(t)
	ctx := t.Context()
	c, secret, err := svc.Create(ctx, "admin-1", web())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(c.ID); err != nil || uuid.MustParse(c.ID).Version() != 7 {
		t.Fatalf("client_id %q is not a UUIDv7", c.ID)
	}
	if len(secret) < 43 || c.SecretHash != token.Hash(secret) {
		t.Fatalf("secret %q, stored hash %q", secret, c.SecretHash)
	}
	stored, err := db.ClientByID(ctx, c.ID)
	if err != nil || stored.SecretHash != token.Hash(secret) || strings.Contains(stored.SecretHash, secret) {
		t.Fatalf("stored client = %+v, %v", stored, err)
	}
	if stored.AuthMethod != clients.AuthSecretBasic || !slices.Equal(stored.Scopes, clients.Scopes) || stored.FirstParty ||
		stored.AccessTokenTTL != 0 || len(stored.PostLogoutRedirectURIs) != 0 {
		t.Fatalf("defaults: %+v", stored)
	}
	if got, err := svc.CheckSecret(ctx, c.ID, secret); err != nil || got.ID != c.ID {
		t.Fatalf("CheckSecret(right) = %v, %v", got, err)
	}
	for _, wrong := range []string{"", "x", secret + "x", c.SecretHash} {
		if _, err := svc.CheckSecret(ctx, c.ID, wrong); !errors.Is(err, clients.ErrWrongSecret) {
			t.Fatalf("CheckSecret(%q) = %v, want ErrWrongSecret", wrong, err)
		}
	}
	if _, err := svc.CheckSecret(ctx, uuid.NewString(), secret); !errors.Is(err, clients.ErrWrongSecret) {
		t.Fatalf("CheckSecret(unknown client) = %v", err)
	}
	evs := auditOf(t, db, audit.AdminClientCreated)
	if len(evs) != 1 || evs[0].ActorID != "admin-1" || evs[0].TargetID != c.ID || evs[0].TargetType != "client" {
		t.Fatalf("audit = %+v", evs)
	}
	if strings.Contains(evs[0].Details, secret) || strings.Contains(evs[0].Details, c.SecretHash) || strings.Contains(evs[0].Details, "via") {
		t.Fatalf("audit details %s", evs[0].Details)
	}
}

// A public client has no secret, and there is none to rotate or check.
func TestPublicClientHasNoSecret(t *testing.T) {
	_, svc := setup(t)
	spec := clients.Spec{Name: "CLI", RedirectURIs: []string{"http://127.0.0.1/cb", "com.example.app:/cb"},
		GrantTypes: []string{"authorization_code"}, AuthMethod: clients.AuthNone, Scopes: []string{"openid"}}
	c, secret, err := svc.Create(t.Context(), "", spec)
	if err != nil || secret != "" || c.SecretHash != "" {
		t.Fatalf("Create(public) = %+v, %q, %v", c, secret, err)
	}
	if _, err := svc.RotateSecret(t.Context(), "", c.ID); !errors.Is(err, clients.ErrPublic) {
		t.Fatalf("RotateSecret(public) = %v, want ErrPublic", err)
	}
	if _, err := svc.CheckSecret(t.Context(), c.ID, ""); !errors.Is(err, clients.ErrWrongSecret) {
		t.Fatalf("CheckSecret(public, empty) = %v, want ErrWrongSecret", err)
	}
}

// Every registration rule, each refused with its field.
func TestValidationRules(t *testing.T) {
	_, svc := setup(t)
	str := func(n int) string { return strings.Repeat("x", n) }
	many := make([]string, 21)
	for i := range many {
		many[i] = "https://app.example.com/cb" + str(i)
	}
	tests := []struct {
		name  string
		edit  func(s *clients.Spec)
		field string // "" when valid
	}{
		{"valid", func(s *clients.Spec) {}, ""},
		{"empty name", func(s *clients.Spec) { s.Name = "" }, "name"},
		{"blank name", func(s *clients.Spec) { s.Name = "   " }, "name"},
		{"name of 200", func(s *clients.Spec) { s.Name = strings.Repeat("é", 200) }, ""},
		{"name of 201", func(s *clients.Spec) { s.Name = str(201) }, "name"},
		{"name with a control character", func(s *clients.Spec) { s.Name = "a\nb" }, "name"},
		{"no redirect URI for the code grant", func(s *clients.Spec) { s.RedirectURIs = nil }, "redirect_uris"},
		{"client credentials need no redirect URI", func(s *clients.Spec) {
			s.GrantTypes, s.RedirectURIs = []string{"client_credentials"}, nil
		}, ""},
		{"relative URI", func(s *clients.Spec) { s.RedirectURIs = []string{"/callback"} }, "redirect_uris"},
		{"URI with a fragment", func(s *clients.Spec) { s.RedirectURIs = []string{"https://app.example.com/cb#frag"} }, "redirect_uris"},
		{"URI with an empty fragment", func(s *clients.Spec) { s.RedirectURIs = []string{"https://app.example.com/cb#"} }, "redirect_uris"},
		{"wildcard host", func(s *clients.Spec) { s.RedirectURIs = []string{"https://*.example.com/cb"} }, "redirect_uris"},
		{"wildcard path", func(s *clients.Spec) { s.RedirectURIs = []string{"https://app.example.com/*"} }, "redirect_uris"},
		{"http on a public host", func(s *clients.Spec) { s.RedirectURIs = []string{"http://app.example.com/cb"} }, "redirect_uris"},
		{"HTTP in capitals on a public host", func(s *clients.Spec) { s.RedirectURIs = []string{"HTTP://app.example.com/cb"} }, "redirect_uris"},
		{"http on 127.0.0.1", func(s *clients.Spec) { s.RedirectURIs = []string{"http://127.0.0.1:8080/cb"} }, ""},
		{"http on [::1]", func(s *clients.Spec) { s.RedirectURIs = []string{"http://[::1]/cb"} }, ""},
		{"http on localhost", func(s *clients.Spec) { s.RedirectURIs = []string{"http://localhost:3000/cb"} }, ""},
		{"http on another loopback address", func(s *clients.Spec) { s.RedirectURIs = []string{"http://127.0.0.2/cb"} }, "redirect_uris"},
		{"http on a name ending in localhost", func(s *clients.Spec) { s.RedirectURIs = []string{"http://localhost.evil.example/cb"} }, "redirect_uris"},
		{"https without a host", func(s *clients.Spec) { s.RedirectURIs = []string{"https:///cb"} }, "redirect_uris"},
		{"https opaque", func(s *clients.Spec) { s.RedirectURIs = []string{"https:app.example.com"} }, "redirect_uris"},
		{"user information", func(s *clients.Spec) { s.RedirectURIs = []string{"https://user:pw@app.example.com/cb"} }, "redirect_uris"},
		{"a space", func(s *clients.Spec) { s.RedirectURIs = []string{"https://app.example.com/c b"} }, "redirect_uris"},
		{"an empty URI", func(s *clients.Spec) { s.RedirectURIs = []string{""} }, "redirect_uris"},
		{"a repeated URI", func(s *clients.Spec) {
			s.RedirectURIs = []string{"https://app.example.com/cb", "https://app.example.com/cb"}
		}, "redirect_uris"},
		{"too many URIs", func(s *clients.Spec) { s.RedirectURIs = many }, "redirect_uris"},
		{"a URI too long", func(s *clients.Spec) { s.RedirectURIs = []string{"https://app.example.com/" + str(2000)} }, "redirect_uris"},
		{"javascript:", func(s *clients.Spec) { s.RedirectURIs = []string{"javascript:alert(1)"} }, "redirect_uris"},
		{"private-use scheme, confidential client", func(s *clients.Spec) { s.RedirectURIs = []string{"com.example.app:/cb"} }, "redirect_uris"},
		{"private-use scheme, public client", func(s *clients.Spec) {
			s.AuthMethod, s.GrantTypes, s.RedirectURIs = "none", []string{"authorization_code"}, []string{"com.example.app:/cb"}
		}, ""},
		{"private-use scheme without a dot", func(s *clients.Spec) {
			s.AuthMethod, s.GrantTypes, s.RedirectURIs = "none", []string{"authorization_code"}, []string{"myapp:/cb"}
		}, "redirect_uris"},
		{"private-use scheme with nothing after it", func(s *clients.Spec) {
			s.AuthMethod, s.GrantTypes, s.RedirectURIs = "none", []string{"authorization_code"}, []string{"com.example.app:"}
		}, "redirect_uris"},
		{"post-logout URI on a public http host", func(s *clients.Spec) {
			s.PostLogoutRedirectURIs = []string{"http://app.example.com/bye"}
		}, "post_logout_redirect_uris"},
		{"post-logout URI with a fragment", func(s *clients.Spec) {
			s.PostLogoutRedirectURIs = []string{"https://app.example.com/bye#x"}
		}, "post_logout_redirect_uris"},
		{"post-logout URI valid", func(s *clients.Spec) { s.PostLogoutRedirectURIs = []string{"https://app.example.com/bye"} }, ""},
		{"no grant type", func(s *clients.Spec) { s.GrantTypes = nil }, "grant_types"},
		{"the password grant", func(s *clients.Spec) { s.GrantTypes = []string{"authorization_code", "password"} }, "grant_types"},
		{"the implicit grant", func(s *clients.Spec) { s.GrantTypes = []string{"implicit"} }, "grant_types"},
		{"a repeated grant", func(s *clients.Spec) { s.GrantTypes = []string{"authorization_code", "authorization_code"} }, "grant_types"},
		{"refresh_token alone", func(s *clients.Spec) { s.GrantTypes = []string{"refresh_token", "client_credentials"} }, "grant_types"},
		{"all three grants", func(s *clients.Spec) {
			s.GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}
		}, ""},
		{"public client with client_credentials", func(s *clients.Spec) {
			s.AuthMethod, s.GrantTypes = "none", []string{"authorization_code", "client_credentials"}
		}, "grant_types"},
		{"client_secret_post", func(s *clients.Spec) { s.AuthMethod = "client_secret_post" }, ""},
		{"private_key_jwt", func(s *clients.Spec) { s.AuthMethod = "private_key_jwt" }, "token_endpoint_auth_method"},
		{"an unknown scope", func(s *clients.Spec) { s.Scopes = []string{"openid", "admin"} }, "scopes"},
		{"no scopes asked explicitly", func(s *clients.Spec) { s.Scopes = []string{} }, "scopes"},
		{"a repeated scope", func(s *clients.Spec) { s.Scopes = []string{"openid", "openid"} }, "scopes"},
		{"some scopes", func(s *clients.Spec) { s.Scopes = []string{"openid", "offline_access"} }, ""},
		{"ttl 59 s", func(s *clients.Spec) { s.AccessTokenTTL = 59 * time.Second }, "access_token_ttl_seconds"},
		{"ttl 60 s", func(s *clients.Spec) { s.AccessTokenTTL = 60 * time.Second }, ""},
		{"ttl 86400 s", func(s *clients.Spec) { s.AccessTokenTTL = 86400 * time.Second }, ""},
		{"ttl 86401 s", func(s *clients.Spec) { s.AccessTokenTTL = 86401 * time.Second }, "access_token_ttl_seconds"},
		{"ttl negative", func(s *clients.Spec) { s.AccessTokenTTL = -time.Minute }, "access_token_ttl_seconds"},
		{"ttl not whole seconds", func(s *clients.Spec) { s.AccessTokenTTL = 90*time.Second + time.Millisecond }, "access_token_ttl_seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := web()
			tc.edit(&spec)
			c, _, err := svc.Create(t.Context(), "admin-1", spec)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Create = %v, want it accepted", err)
				}
				return
			}
			var inv clients.Invalid
			if !errors.As(err, &inv) || len(inv) != 1 || inv[0].Field != tc.field || inv[0].Message == "" {
				t.Fatalf("Create = %+v, %v; want one error on %s", c, err, tc.field)
			}
		})
	}
}

// Every invalid field is reported at once, and nothing is stored.
func TestEveryInvalidFieldIsReported(t *testing.T) {
	db, svc := setup(t)
	_, _, err := svc.Create(t.Context(), "", clients.Spec{Name: "", GrantTypes: []string{"implicit"}, AuthMethod: "x",
		RedirectURIs: []string{"http://evil.example/"}, Scopes: []string{"root"}, AccessTokenTTL: time.Second})
	var inv clients.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("Create = %v", err)
	}
	var fields []string
	for _, f := range inv {
		fields = append(fields, f.Field)
	}
	want := []string{"name", "token_endpoint_auth_method", "grant_types", "redirect_uris", "scopes", "access_token_ttl_seconds"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
	if list, _ := db.ListClients(t.Context(), "", 10); len(list) != 0 {
		t.Fatalf("an invalid client was stored: %+v", list)
	}
}

// PATCH semantics: fields left out are kept, the result is checked as a whole, and a
// public client stays public.
func TestUpdate(t *testing.T) {
	db, svc := setup(t)
	ctx := t.Context()
	var told []string
	svc.Changed = func(id string) { told = append(told, id) }
	c, secret, err := svc.Create(ctx, "admin-1", web())
	if err != nil {
		t.Fatal(err)
	}
	name := "  Billing v2  "
	ttl := 10 * time.Minute
	got, err := svc.Update(ctx, "admin-2", c.ID, clients.Patch{Name: &name, AccessTokenTTL: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Billing v2" || got.AccessTokenTTL != ttl || !slices.Equal(got.RedirectURIs, c.RedirectURIs) ||
		!slices.Equal(got.GrantTypes, c.GrantTypes) || !slices.Equal(got.Scopes, c.Scopes) || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("after Update = %+v", got)
	}
	if stored, _ := db.ClientByID(ctx, c.ID); stored.Name != "Billing v2" || stored.SecretHash != token.Hash(secret) {
		t.Fatalf("stored after Update = %+v", stored)
	}
	evs := auditOf(t, db, audit.AdminClientUpdated)
	if len(evs) != 1 || evs[0].ActorID != "admin-2" || evs[0].TargetID != c.ID {
		t.Fatalf("audit = %+v", evs)
	}
	var details struct{ Fields []string }
	if err := json.Unmarshal([]byte(evs[0].Details), &details); err != nil || !slices.Equal(details.Fields, []string{"name", "access_token_ttl_seconds"}) {
		t.Fatalf("audit details %s", evs[0].Details)
	}
	if !slices.Equal(told, []string{c.ID}) {
		t.Fatalf("Changed told %v", told)
	}

	// The result as a whole: dropping authorization_code leaves refresh_token alone.
	grants := []string{"refresh_token"}
	if _, err := svc.Update(ctx, "admin-2", c.ID, clients.Patch{GrantTypes: &grants}); !isField(err, "grant_types") {
		t.Fatalf("Update to refresh_token alone = %v", err)
	}
	empty := []string{}
	if _, err := svc.Update(ctx, "admin-2", c.ID, clients.Patch{RedirectURIs: &empty}); !isField(err, "redirect_uris") {
		t.Fatalf("Update removing every redirect URI = %v", err)
	}
	if _, err := svc.Update(ctx, "admin-2", c.ID, clients.Patch{Scopes: &empty}); !isField(err, "scopes") {
		t.Fatalf("Update to no scopes = %v", err)
	}
	none, post, blank := clients.AuthNone, clients.AuthSecretPost, ""
	if _, err := svc.Update(ctx, "admin-2", c.ID, clients.Patch{AuthMethod: &none}); !isField(err, "token_endpoint_auth_method") {
		t.Fatalf("Update confidential to public = %v", err)
	}
	if _, err := svc.Update(ctx, "admin-2", c.ID, clients.Patch{AuthMethod: &blank}); !isField(err, "token_endpoint_auth_method") {
		t.Fatalf("Update to an empty method = %v", err)
	}
	if stored, _ := db.ClientByID(ctx, c.ID); stored.AuthMethod != clients.AuthSecretBasic || len(stored.RedirectURIs) != 1 {
		t.Fatalf("a refused update changed the client: %+v", stored)
	}
	if got, err := svc.Update(ctx, "admin-2", c.ID, clients.Patch{AuthMethod: &post}); err != nil || got.AuthMethod != post {
		t.Fatalf("Update to client_secret_post = %+v, %v", got, err)
	}
	pub, _, err := svc.Create(ctx, "", clients.Spec{Name: "SPA", RedirectURIs: []string{"https://spa.example.com/cb"},
		GrantTypes: []string{"authorization_code"}, AuthMethod: clients.AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	basic := clients.AuthSecretBasic
	if _, err := svc.Update(ctx, "", pub.ID, clients.Patch{AuthMethod: &basic}); !isField(err, "token_endpoint_auth_method") {
		t.Fatalf("Update public to confidential = %v", err)
	}
	// A patch that changes nothing is not an event.
	same := "SPA"
	if _, err := svc.Update(ctx, "", pub.ID, clients.Patch{Name: &same}); err != nil {
		t.Fatal(err)
	}
	if evs := auditOf(t, db, audit.AdminClientUpdated); len(evs) != 2 {
		t.Fatalf("%d update events, want 2 (the no-op is not one)", len(evs))
	}
	if _, err := svc.Update(ctx, "", uuid.NewString(), clients.Patch{Name: &same}); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("Update(unknown) = %v, want ErrNotFound", err)
	}
}

func isField(err error, field string) bool {
	var inv clients.Invalid
	return errors.As(err, &inv) && len(inv) == 1 && inv[0].Field == field
}

// Deleting a client ends every grant it holds, at once (the liveness cache forgets
// them), and only its own; its audit event says how many.
func TestDeleteRevokesEveryGrantOfTheClient(t *testing.T) {
	db, svc := setup(t)
	ctx := t.Context()
	c, _, err := svc.Create(ctx, "admin-1", web())
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := svc.Create(ctx, "admin-1", web())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var grants []*store.Session
	for i, clientID := range []string{c.ID, c.ID, other.ID} {
		u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: uuid.NewString() + "@example.com", CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		parent := &store.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, AMR: []string{"pwd"}, CreatedAt: now,
			LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AuthTime: now}
		if err := db.CreateSession(ctx, parent); err != nil {
			t.Fatal(err)
		}
		var g *store.Session
		err := db.InTx(ctx, func(q store.Queries) error {
			var err error
			g, _, err = svc.Sessions.StartGrant(ctx, q, session.GrantSpec{Parent: parent, ClientID: clientID, Scopes: []string{"openid", "offline_access"}}, false)
			return err
		})
		if err != nil {
			t.Fatal(i, err)
		}
		// Bearer calls have seen the grant live: its liveness is cached.
		if _, err := svc.Sessions.Check(ctx, g.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		grants = append(grants, g)
	}
	if err := svc.Delete(ctx, "admin-1", c.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, g := range grants[:2] {
		if _, err := svc.Sessions.Check(ctx, g.ID, g.UserID); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("a grant of the deleted client is still live: %v", err)
		}
		if s, _ := db.SessionByID(ctx, g.ID); s.RevokedAt == nil || s.RevokeReason != session.ReasonClientDeleted {
			t.Fatalf("grant after delete = %+v", s)
		}
	}
	if _, err := svc.Sessions.Check(ctx, grants[2].ID, grants[2].UserID); err != nil {
		t.Fatalf("another client's grant was ended: %v", err)
	}
	if _, err := svc.Get(ctx, c.ID); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("Get(deleted) = %v, want ErrNotFound", err)
	}
	if err := svc.Delete(ctx, "admin-1", c.ID); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("Delete twice = %v, want ErrNotFound", err)
	}
	if err := svc.Delete(ctx, "admin-1", ""); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("Delete(\"\") = %v, want ErrNotFound", err)
	}
	evs := auditOf(t, db, audit.AdminClientDeleted)
	if len(evs) != 1 || evs[0].ActorID != "admin-1" || evs[0].TargetID != c.ID || !strings.Contains(evs[0].Details, `"grants_revoked":2`) {
		t.Fatalf("audit = %+v", evs)
	}
	if evs := auditOf(t, db, audit.SessionRevoked); len(evs) != 1 || evs[0].TargetID != c.ID {
		t.Fatalf("session.revoked events = %+v", evs)
	}
}

// A rotated secret replaces the old one, which stops working at once.
func TestRotateSecret(t *testing.T) {
	db, svc := setup(t)
	ctx := t.Context()
	var told []string
	svc.Changed = func(id string) { told = append(told, id) }
	c, old, err := svc.Create(ctx, "admin-1", web())
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := svc.RotateSecret(ctx, "", c.ID)
	if err != nil || fresh == "" || fresh == old {
		t.Fatalf("RotateSecret = %q, %v", fresh, err)
	}
	if _, err := svc.CheckSecret(ctx, c.ID, old); !errors.Is(err, clients.ErrWrongSecret) {
		t.Fatalf("the old secret after rotation = %v, want ErrWrongSecret", err)
	}
	if _, err := svc.CheckSecret(ctx, c.ID, fresh); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	if stored, _ := db.ClientByID(ctx, c.ID); stored.SecretHash != token.Hash(fresh) {
		t.Fatal("the stored hash is not the new secret's")
	}
	if _, err := svc.RotateSecret(ctx, "", uuid.NewString()); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("RotateSecret(unknown) = %v, want ErrNotFound", err)
	}
	evs := auditOf(t, db, audit.AdminClientSecretRotated)
	if len(evs) != 1 || evs[0].ActorID != "" || evs[0].Details != `{"via":"cli"}` || strings.Contains(evs[0].Details, fresh) {
		t.Fatalf("audit = %+v", evs)
	}
	if !slices.Equal(told, []string{c.ID}) {
		t.Fatalf("Changed told %v", told)
	}
}

// Clients are listed by id, a page at a time.
func TestListPages(t *testing.T) {
	_, svc := setup(t)
	ctx := t.Context()
	var ids []string
	for range 3 {
		c, _, err := svc.Create(ctx, "", web())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	first, err := svc.List(ctx, "", 2)
	if err != nil || len(first) != 2 || first[0].ID != ids[0] || first[1].ID != ids[1] {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	rest, err := svc.List(ctx, first[1].ID, 2)
	if err != nil || len(rest) != 1 || rest[0].ID != ids[2] {
		t.Fatalf("second page = %+v, %v", rest, err)
	}
}
