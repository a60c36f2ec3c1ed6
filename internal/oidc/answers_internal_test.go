package oidc

import (
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// decoded is v encoded as the answer is, and read back as generic JSON.
func decoded(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// The one-pass answers say exactly what the library's encoding of the same values says.
func TestOnePassAnswersMatchTheLibrary(t *testing.T) {
	u := &store.User{ID: "user-1", Email: "ada@example.com", Name: "Ada \"<&>\" Lovelace", EmailVerified: false,
		UpdatedAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	for _, scopes := range [][]string{{"openid"}, {"openid", "email"}, {"openid", "profile"}, {"openid", "profile", "email"}} {
		for _, verified := range []bool{false, true} {
			u.EmailVerified = verified
			info := new(oidc.UserInfo)
			setClaims(info, u, scopes)
			body := userInfoBody(info)
			if _, flat := body.(userInfoAnswer); !flat {
				t.Fatalf("scopes %v: userinfo fell back to the library's encoding", scopes)
			}
			if got, want := decoded(t, body), decoded(t, info); !reflect.DeepEqual(got, want) {
				t.Fatalf("scopes %v: userinfo\n got %v\nwant %v", scopes, got, want)
			}
		}
	}

	resp := &oidc.IntrospectionResponse{Active: true, Scope: oidc.SpaceDelimitedArray{"openid", "email"}, ClientID: "app",
		Subject: "user-1", Audience: oidc.Audience{"app"}, TokenType: oidc.BearerToken,
		AuthTime:                        oidc.FromTime(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)),
		AuthenticationMethodsReferences: []string{"pwd", "otp"}, Username: "ada@example.com",
		Claims: map[string]any{"sid": "session-1"}}
	body := introspectionBody(resp)
	if _, flat := body.(introspectionAnswer); !flat {
		t.Fatal("introspection fell back to the library's encoding")
	}
	if got, want := decoded(t, body), decoded(t, resp); !reflect.DeepEqual(got, want) {
		t.Fatalf("introspection\n got %v\nwant %v", got, want)
	}
	client := &oidc.IntrospectionResponse{Active: true, ClientID: "svc", Subject: "svc", Audience: oidc.Audience{"svc"}, TokenType: oidc.BearerToken}
	if got, want := decoded(t, introspectionBody(client)), decoded(t, client); !reflect.DeepEqual(got, want) {
		t.Fatalf("a client's token\n got %v\nwant %v", got, want)
	}
}

// Anything the flat answers do not hold goes to the library's encoding, so no claim is
// ever dropped.
func TestAnswersWithOtherMembersKeepTheLibrarysEncoding(t *testing.T) {
	info := &oidc.UserInfo{Subject: "user-1"}
	info.AppendClaims("email_verified", true)
	info.AppendClaims("org_id", "org-1")
	if body := userInfoBody(info); body != any(info) {
		t.Fatalf("userinfo with another claim answered %T", body)
	}
	info = &oidc.UserInfo{Subject: "user-1", UserInfoProfile: oidc.UserInfoProfile{Nickname: "ada"}}
	if body := userInfoBody(info); body != any(info) {
		t.Fatalf("userinfo with a nickname answered %T", body)
	}
	info = &oidc.UserInfo{Subject: "user-1", Claims: map[string]any{"email_verified": "yes"}}
	if body := userInfoBody(info); body != any(info) {
		t.Fatalf("userinfo with a non-boolean email_verified answered %T", body)
	}
	resp := &oidc.IntrospectionResponse{Active: true, Subject: "user-1", Expiration: oidc.FromTime(time.Now())}
	if body := introspectionBody(resp); body != any(resp) {
		t.Fatalf("introspection with exp answered %T", body)
	}
	resp = &oidc.IntrospectionResponse{Active: true, Claims: map[string]any{"sid": "s", "org": "o"}}
	if body := introspectionBody(resp); body != any(resp) {
		t.Fatalf("introspection with another claim answered %T", body)
	}
}

// The encodings side by side: go test -run '^$' -bench Answer ./internal/oidc/
func BenchmarkAnswerEncoding(b *testing.B) {
	u := &store.User{ID: "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", Email: "ada@example.com", Name: "Ada Lovelace",
		UpdatedAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	info := new(oidc.UserInfo)
	setClaims(info, u, []string{"openid", "profile", "email"})
	resp := &oidc.IntrospectionResponse{Active: true, Scope: oidc.SpaceDelimitedArray{"openid", "profile", "email"},
		ClientID: "app", Subject: u.ID, Audience: oidc.Audience{"app"}, TokenType: oidc.BearerToken,
		AuthTime: oidc.FromTime(u.UpdatedAt), AuthenticationMethodsReferences: []string{"pwd"}, Username: u.Email,
		Claims: map[string]any{"sid": "0193a1b2-0000-7e8f-9a0b-1c2d3e4f5a6b"}}
	for _, c := range []struct {
		name string
		v    func() any
	}{
		{"userinfo/library", func() any { return info }},
		{"userinfo/one-pass", func() any { return userInfoBody(info) }},
		{"introspection/library", func() any { return resp }},
		{"introspection/one-pass", func() any { return introspectionBody(resp) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// What the library's response writer does: a json.Encoder over the value.
				if err := json.NewEncoder(io.Discard).Encode(c.v()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
