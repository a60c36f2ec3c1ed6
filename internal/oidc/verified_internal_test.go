package oidc

import (
	"testing"
	"time"
)

// TestVerifiedTokensBounds: a remembered verification ends with its token, after
// verifiedTTL at most, and is never kept for a token already expired.
func TestVerifiedTokensBounds(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var v verifiedTokens
	v.put("short", verifiedToken{tokenID: "g:s:1", subject: "u", kid: "k", until: now.Add(10 * time.Second)}, now)
	if e, ok := v.get("short", now.Add(9*time.Second)); !ok || e.tokenID != "g:s:1" || e.subject != "u" || e.kid != "k" {
		t.Fatalf("live entry: %+v %v", e, ok)
	}
	if _, ok := v.get("short", now.Add(10*time.Second)); ok {
		t.Fatal("entry outlived its token's expiry")
	}
	v.put("long", verifiedToken{tokenID: "g:s:2", until: now.Add(time.Hour)}, now)
	if _, ok := v.get("long", now.Add(verifiedTTL-time.Nanosecond)); !ok {
		t.Fatal("entry gone before verifiedTTL")
	}
	if _, ok := v.get("long", now.Add(verifiedTTL)); ok {
		t.Fatal("entry outlived verifiedTTL")
	}
	v.put("expired", verifiedToken{tokenID: "g:s:3", until: now}, now)
	if _, ok := v.get("expired", now.Add(-time.Second)); ok {
		t.Fatal("an expired token was remembered")
	}
	if _, ok := v.get("other", now); ok {
		t.Fatal("an unknown token was found")
	}
}

// TestVerifiedTokensStayBounded: past verifiedMax entries the expired ones go, and when
// every entry is live the map starts over.
func TestVerifiedTokensStayBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var v verifiedTokens
	for i := range verifiedMax + 5 {
		v.put(string(rune(i))+"-token", verifiedToken{until: now.Add(time.Hour)}, now)
	}
	if n := len(v.entries); n > verifiedMax {
		t.Fatalf("%d entries, want at most %d", n, verifiedMax)
	}
}

func TestKeyID(t *testing.T) {
	// {"alg":"RS256","kid":"abc","typ":"JWT"}
	if got := keyID("eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyIsInR5cCI6IkpXVCJ9.e30.sig"); got != "abc" {
		t.Fatalf("kid = %q", got)
	}
	for _, raw := range []string{"", "no-dots", "!!!.e30.sig", "e30.e30.sig"} {
		if got := keyID(raw); got != "" {
			t.Fatalf("keyID(%q) = %q, want none", raw, got)
		}
	}
}
