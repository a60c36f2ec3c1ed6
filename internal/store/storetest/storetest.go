// Package storetest is the conformance suite every store.Store backend must pass.
// Run it from the backend's tests with a function that opens a fresh, migrated store.
package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Opener returns a new, empty, migrated store; it is closed by the suite.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against the backend.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"Passwords", testPasswords},
		{"Admins", testAdmins},
		{"ListUsers", testListUsers},
		{"SetUserEmail", testSetUserEmail},
		{"LockAdmins", testLockAdmins},
		{"EraseUser", testEraseUser},
		{"ImportColumns", testImportColumns},
		{"BulkImport", testBulkImport},
		{"Sessions", testSessions},
		{"RefreshTokenRace", testRefreshTokenRace},
		{"OneTimeTokens", testOneTimeTokens},
		{"VoidOneTimeTokens", testVoidOneTimeTokens},
		{"PurgeExpired", testPurgeExpired},
		{"Outbox", testOutbox},
		{"SigningKeys", testSigningKeys},
		{"AuditLog", testAuditLog},
		{"AuditChainLock", testAuditChainLock},
		{"AuditConcurrentAppends", testAuditConcurrent},
		{"TxRollback", testTxRollback},
		{"Orgs", testOrgs},
		{"MFA", testMFA},
		{"ChallengeAttemptsConcurrent", testChallengeAttemptsConcurrent},
		{"Clients", testClients},
		{"AuthRequests", testAuthRequests},
		{"AuthCodeRace", testAuthCodeRace},
		{"Consents", testConsents},
		{"BrowserSessions", testBrowserSessions},
		{"RevokeGrants", testRevokeGrants},
		{"PurgeAuthRequests", testPurgeAuthRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// base is a fixed instant with microsecond precision, as both databases keep it.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func newUser(t *testing.T, s store.Store, email string) *store.User {
	t.Helper()
	u := &store.User{ID: newID(), Email: email, Name: "Test", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func newSession(t *testing.T, s store.Store, userID string, at time.Time) *store.Session {
	t.Helper()
	sess := &store.Session{ID: newID(), UserID: userID, AMR: []string{"pwd"}, IP: "192.0.2.1", UserAgent: "test/1",
		CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(90 * 24 * time.Hour)}
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}
