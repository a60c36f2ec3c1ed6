package session_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// A sign-in on the hosted pages starts a browser session reached by its cookie, and
// issues no token: nobody would hold them, and signing one costs a signature.
func TestBrowserSignInStartsACookieSessionWithoutTokens(t *testing.T) {
	r := newRig(t)
	var tok *session.Tokens
	err := r.db.InTx(t.Context(), func(q store.Queries) (err error) {
		tok, err = r.svc.Start(t.Context(), q, r.userID, []string{"pwd"}, "",
			session.Device{IP: "192.0.2.8", UserAgent: "browser/1", Browser: true})
		return err
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if tok.Cookie == "" || tok.AccessToken != "" || tok.RefreshToken != "" || tok.ExpiresIn != 0 {
		t.Fatalf("tokens = %+v, want only a cookie and the session id", tok)
	}
	sess, err := r.svc.ByCookie(t.Context(), tok.Cookie)
	if err != nil || sess.ID != tok.SessionID || sess.Kind != store.SessionBrowser || sess.UserID != r.userID ||
		sess.IP != "192.0.2.8" || sess.UserAgent != "browser/1" {
		t.Fatalf("ByCookie = %+v, %v", sess, err)
	}
	stored, err := r.db.SessionByCookie(t.Context(), token.Hash(tok.Cookie))
	if err != nil || stored.ID != tok.SessionID {
		t.Fatalf("the store keeps the cookie's hash: %+v, %v", stored, err)
	}
	if _, err := r.db.SessionByCookie(t.Context(), tok.Cookie); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the cookie itself is stored: %v", err)
	}

	// An API sign-in gets tokens and no cookie.
	api := r.mustStart(t)
	if api.Cookie != "" || api.AccessToken == "" || api.RefreshToken == "" {
		t.Fatalf("API tokens = %+v", api)
	}
	if _, err := r.svc.ByCookie(t.Context(), ""); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("ByCookie(\"\") = %v, want ErrNotFound", err)
	}
}
