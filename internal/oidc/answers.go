package oidc

import (
	"reflect"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// The library's UserInfo and IntrospectionResponse encode themselves in three passes
// when they carry extra claims (the struct to JSON, that JSON into a map with the extra
// claims, the map to JSON again), and both answers always carry one here
// (email_verified, sid). These flat answers hold exactly the members Gatehouse sets and
// encode in one pass; anything else in an answer sends it back to the library's own
// encoding, so no claim is ever dropped. TestOnePassAnswersMatchTheLibrary checks that
// both encodings say the same.

// userInfoAnswer is a userinfo answer as setClaims fills it.
type userInfoAnswer struct {
	Subject       string `json:"sub"`
	Name          string `json:"name,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	UpdatedAt     int64  `json:"updated_at,omitempty"`
}

// userInfoBody is info's answer: a userInfoAnswer when it says all of info.
func userInfoBody(info *oidc.UserInfo) any {
	a := userInfoAnswer{Subject: info.Subject, Name: info.Name, Email: info.Email, UpdatedAt: int64(info.UpdatedAt)}
	for k, v := range info.Claims {
		b, ok := v.(bool)
		if k != "email_verified" || !ok {
			return info
		}
		a.EmailVerified = &b
	}
	rest := *info
	rest.Subject, rest.Name, rest.Email, rest.UpdatedAt, rest.Claims = "", "", "", 0, nil
	if !reflect.ValueOf(rest).IsZero() {
		return info
	}
	return a
}

// introspectionAnswer is an active token's introspection answer as
// SetIntrospectionFromToken fills it.
type introspectionAnswer struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	Username  string   `json:"username,omitempty"`
	SessionID string   `json:"sid,omitempty"`
}

// introspectionBody is resp's answer: an introspectionAnswer when it says all of resp.
func introspectionBody(resp *oidc.IntrospectionResponse) any {
	a := introspectionAnswer{Active: resp.Active, Scope: resp.Scope.String(), ClientID: resp.ClientID, TokenType: resp.TokenType,
		AuthTime: int64(resp.AuthTime), Subject: resp.Subject, Audience: resp.Audience, AMR: resp.AuthenticationMethodsReferences,
		Username: resp.Username}
	for k, v := range resp.Claims {
		sid, ok := v.(string)
		if k != "sid" || !ok {
			return resp
		}
		a.SessionID = sid
	}
	rest := *resp
	rest.Active, rest.Scope, rest.ClientID, rest.TokenType, rest.AuthTime = false, nil, "", "", 0
	rest.Subject, rest.Audience, rest.AuthenticationMethodsReferences, rest.Username, rest.Claims = "", nil, nil, "", nil
	if !reflect.ValueOf(rest).IsZero() {
		return resp
	}
	return a
}
