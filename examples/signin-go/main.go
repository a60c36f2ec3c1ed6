// Command signin-go is the smallest web app that signs people in with Gatehouse: the
// authorization code flow with PKCE, through golang.org/x/oauth2 and coreos/go-oidc.
//
//	gatehouse clients create --name "Example" --redirect-uri http://127.0.0.1:3000/callback
//	GATEHOUSE_ISSUER=http://127.0.0.1:8080 CLIENT_ID=... CLIENT_SECRET=... go run ./examples/signin-go
//
// Then open http://127.0.0.1:3000/.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	app, err := newApp(context.Background(), os.Getenv("GATEHOUSE_ISSUER"), os.Getenv("CLIENT_ID"), os.Getenv("CLIENT_SECRET"),
		"http://127.0.0.1:3000/callback")
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:3000", app))
}

// newApp returns the app's handler: / starts a sign-in, /callback finishes it.
func newApp(ctx context.Context, issuer, clientID, clientSecret, redirectURL string) (http.Handler, error) {
	provider, err := oidc.NewProvider(ctx, issuer) // reads /.well-known/openid-configuration
	if err != nil {
		return nil, err
	}
	conf := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  redirectURL,
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		state, pkce := random(), oauth2.GenerateVerifier()
		setCookie(w, "state", state)
		setCookie(w, "pkce", pkce)
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce)), http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		state, err1 := r.Cookie("state")
		pkce, err2 := r.Cookie("pkce")
		// RFC 9207: the answer names its issuer; a mix-up would name another.
		if err1 != nil || err2 != nil || q.Get("state") != state.Value || q.Get("iss") != issuer {
			http.Error(w, "bad state or issuer", http.StatusBadRequest)
			return
		}
		tok, err := conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(pkce.Value))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(r.Context(), raw) // signature (JWKS), iss, aud, expiry
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var claims struct {
			Email string `json:"email"`
			Name  string `json:"name"`
		}
		_ = idt.Claims(&claims)
		fmt.Fprintf(w, "Signed in as %s <%s> (sub %s)\n", claims.Name, claims.Email, idt.Subject)
	})
	return mux, nil
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func setCookie(w http.ResponseWriter, name, value string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
}
