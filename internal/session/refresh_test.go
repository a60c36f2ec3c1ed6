package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// clock is a settable time shared by the service, its tokens and its keys.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rig is a session service with real keys and tokens over a fresh SQLite database.
type rig struct {
	db     store.Store
	svc    *session.Service
	access *token.Access
	clock  *clock
	userID string
}

const (
	idleTTL     = time.Hour
	absoluteTTL = 24 * time.Hour
)

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigOver(t, openDB(t))
}

func newRigOver(t *testing.T, db store.Store) *rig {
	t.Helper()
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	log := audit.NewLog(make([]byte, 32))
	km := &keys.Manager{Store: db, Audit: log, Box: box, Alg: "ES256", RetiredFor: time.Hour, Now: c.now}
	if err := km.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	access := &token.Access{Keys: km, Issuer: "https://id.example.test", Audience: "gatehouse", TTL: 5 * time.Minute, Now: c.now}
	svc := session.NewService(&session.Service{Store: db, Access: access, IdleTTL: idleTTL, AbsoluteTTL: absoluteTTL,
		Now: c.now, CacheTTL: 5 * time.Second, Audit: log, Limiter: ratelimit.NewMemory(c.now)}, nil)
	userID, _ := newSession(t, db)
	return &rig{db: db, svc: svc, access: access, clock: c, userID: userID}
}

// start signs the rig's user in, as a login does: in a transaction.
func (r *rig) start(t *testing.T, orgID string) (*session.Tokens, error) {
	t.Helper()
	var out *session.Tokens
	err := r.db.InTx(t.Context(), func(q store.Queries) (err error) {
		out, err = r.svc.Start(t.Context(), q, r.userID, []string{"pwd"}, orgID, session.Device{IP: "192.0.2.7", UserAgent: "test/1"})
		return err
	})
	return out, err
}

func (r *rig) mustStart(t *testing.T) *session.Tokens {
	t.Helper()
	tok, err := r.start(t, "")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return tok
}

// auditActions lists the audit log's actions about target, oldest first.
func (r *rig) auditActions(t *testing.T, target string) []string {
	t.Helper()
	evs, err := r.db.ListAudit(t.Context(), store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].TargetID == target {
			out = append(out, evs[i].Action)
		}
	}
	return out
}

func TestStartIssuesVerifiableTokensAndStoresTheDevice(t *testing.T) {
	r := newRig(t)
	tok := r.mustStart(t)
	claims, err := r.access.Verify(tok.AccessToken)
	if err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}
	if claims.Subject != r.userID || claims.SessionID != tok.SessionID {
		t.Fatalf("claims sub=%q sid=%q, want %q %q", claims.Subject, claims.SessionID, r.userID, tok.SessionID)
	}
	sess, err := r.db.SessionByID(t.Context(), tok.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if sess.IP != "192.0.2.7" || sess.UserAgent != "test/1" || !sess.ExpiresAt.Equal(r.clock.now().Add(absoluteTTL)) {
		t.Fatalf("stored session = %+v", sess)
	}
	if stored, err := r.db.RefreshTokenByHash(t.Context(), token.Hash(tok.RefreshToken)); err != nil || stored.SessionID != tok.SessionID {
		t.Fatalf("refresh token stored by its hash: %+v, %v", stored, err)
	}
}

func TestRefreshRotatesTheToken(t *testing.T) {
	r := newRig(t)
	first := r.mustStart(t)
	second, err := r.svc.Refresh(t.Context(), first.RefreshToken, "")
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if second.RefreshToken == first.RefreshToken || second.SessionID != first.SessionID {
		t.Fatalf("refresh gave %+v after %+v: want a new token of the same session", second, first)
	}
	third, err := r.svc.Refresh(t.Context(), second.RefreshToken, "")
	if err != nil {
		t.Fatalf("the rotated token does not refresh: %v", err)
	}
	if _, err := r.access.Verify(third.AccessToken); err != nil {
		t.Fatalf("refreshed access token: %v", err)
	}
}

func TestUnknownRefreshTokenIsInvalid(t *testing.T) {
	r := newRig(t)
	r.mustStart(t)
	if _, err := r.svc.Refresh(t.Context(), "not-a-token", ""); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("Refresh(unknown) = %v, want ErrInvalidToken", err)
	}
}

// A used token presented again revokes the whole session: the newest token dies too.
func TestReusedRefreshTokenRevokesTheSession(t *testing.T) {
	r := newRig(t)
	first := r.mustStart(t)
	second, err := r.svc.Refresh(t.Context(), first.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Check(t.Context(), first.SessionID, r.userID); err != nil {
		t.Fatalf("Check before reuse: %v", err) // caches the session as live
	}
	if _, err := r.svc.Refresh(t.Context(), first.RefreshToken, ""); !errors.Is(err, session.ErrReused) {
		t.Fatalf("reuse = %v, want ErrReused", err)
	}
	if _, err := r.svc.Refresh(t.Context(), second.RefreshToken, ""); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("the newest token after reuse = %v, want ErrInvalidToken", err)
	}
	sess, err := r.db.SessionByID(t.Context(), first.SessionID)
	if err != nil || sess.RevokedAt == nil || sess.RevokeReason != session.ReasonRefreshReused {
		t.Fatalf("session after reuse = %+v, %v; want revoked for reuse", sess, err)
	}
	if _, err := r.svc.Check(t.Context(), first.SessionID, r.userID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Check after reuse = %v, want ErrNotFound (the cache must forget it)", err)
	}
	if got := r.auditActions(t, first.SessionID); len(got) != 1 || got[0] != string(audit.TokenRefreshReused) {
		t.Fatalf("audit about the session = %v, want one %s", got, audit.TokenRefreshReused)
	}
}

// staleReads answers RefreshTokenByHash inside transactions as it was before any use: the
// read of an exchange that raced another one, which then used the token first.
type staleReads struct {
	store.Store
}

func (s staleReads) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.Store.InTx(ctx, func(q store.Queries) error { return fn(staleQueries{q}) })
}

type staleQueries struct{ store.Queries }

func (q staleQueries) RefreshTokenByHash(ctx context.Context, hash string) (*store.RefreshToken, error) {
	rt, err := q.Queries.RefreshTokenByHash(ctx, hash)
	if rt != nil {
		rt.UsedAt = nil
	}
	return rt, err
}

// The exchange that loses the race to use a token (its conditional update finds the
// token used) treats it as reuse. SQLite serializes writers, so the race is forced here.
func TestLosingTheRaceToUseATokenIsReuse(t *testing.T) {
	r := newRig(t)
	first := r.mustStart(t)
	if _, err := r.svc.Refresh(t.Context(), first.RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	r.svc.Store = staleReads{r.db}
	if _, err := r.svc.Refresh(t.Context(), first.RefreshToken, ""); !errors.Is(err, session.ErrReused) {
		t.Fatalf("the loser of the race = %v, want ErrReused", err)
	}
	if sess, _ := r.db.SessionByID(t.Context(), first.SessionID); sess.RevokedAt == nil {
		t.Fatal("the session is still live after the lost race")
	}
}

func TestConcurrentRefreshesOfOneTokenLetExactlyOneWin(t *testing.T) {
	r := newRig(t)
	first := r.mustStart(t)
	const n = 6
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := r.svc.Refresh(t.Context(), first.RefreshToken, "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, session.ErrReused), errors.Is(err, session.ErrInvalidToken):
		default:
			t.Fatalf("Refresh: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent refreshes of one token won, want 1", wins, n)
	}
}

func TestIdleSessionEnds(t *testing.T) {
	r := newRig(t)
	tok := r.mustStart(t)
	r.clock.advance(idleTTL - time.Second)
	tok, err := r.svc.Refresh(t.Context(), tok.RefreshToken, "")
	if err != nil {
		t.Fatalf("refresh within the idle time: %v", err)
	}
	r.clock.advance(idleTTL)
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, ""); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("refresh after the idle time = %v, want ErrInvalidToken", err)
	}
	if _, err := r.svc.Check(t.Context(), tok.SessionID, r.userID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Check of an idle session = %v, want ErrNotFound", err)
	}
}

// Activity keeps a session alive only up to its absolute lifetime.
func TestSessionEndsAtItsAbsoluteLifetime(t *testing.T) {
	r := newRig(t)
	tok := r.mustStart(t)
	var err error
	for elapsed := time.Duration(0); elapsed+idleTTL/2 < absoluteTTL; elapsed += idleTTL / 2 {
		r.clock.advance(idleTTL / 2)
		if tok, err = r.svc.Refresh(t.Context(), tok.RefreshToken, ""); err != nil {
			t.Fatalf("refresh at %v: %v", elapsed+idleTTL/2, err)
		}
	}
	r.clock.advance(idleTTL / 2)
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, ""); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("refresh past the absolute lifetime = %v, want ErrInvalidToken", err)
	}
}

// A used token of a session that has ended is answered invalid, and audited at most once
// per ReplayAuditEvery.
func TestReplayAfterTheSessionEndedIsAuditedOncePerInterval(t *testing.T) {
	r := newRig(t)
	first := r.mustStart(t)
	if _, err := r.svc.Refresh(t.Context(), first.RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Revoke(t.Context(), r.userID, first.SessionID, session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := r.svc.Refresh(t.Context(), first.RefreshToken, ""); !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("replay after logout = %v, want ErrInvalidToken", err)
		}
	}
	r.clock.advance(session.ReplayAuditEvery)
	if _, err := r.svc.Refresh(t.Context(), first.RefreshToken, ""); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("replay after logout = %v", err)
	}
	want := []string{string(audit.UserLogout), string(audit.TokenRefreshReused), string(audit.TokenRefreshReused)}
	if got := r.auditActions(t, first.SessionID); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("audit about the session = %v, want %v", got, want)
	}
}

func TestCheckRefusesAnotherUsersSession(t *testing.T) {
	r := newRig(t)
	tok := r.mustStart(t)
	if _, err := r.svc.Check(t.Context(), tok.SessionID, r.userID); err != nil {
		t.Fatalf("Check(own session): %v", err)
	}
	if _, err := r.svc.Check(t.Context(), tok.SessionID, "someone-else"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Check(another user's session) = %v, want ErrNotFound", err)
	}
}

func TestRevokeIsOnlyForTheOwner(t *testing.T) {
	r := newRig(t)
	tok := r.mustStart(t)
	if err := r.svc.Revoke(t.Context(), "someone-else", tok.SessionID, session.ReasonUserRevoked); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Revoke by another user = %v, want ErrNotFound", err)
	}
	if _, err := r.svc.Refresh(t.Context(), tok.RefreshToken, ""); err != nil {
		t.Fatalf("the session must survive another user's revoke: %v", err)
	}
	if err := r.svc.Revoke(t.Context(), r.userID, tok.SessionID, session.ReasonUserRevoked); err != nil {
		t.Fatalf("Revoke by the owner: %v", err)
	}
	if err := r.svc.Revoke(t.Context(), r.userID, tok.SessionID, session.ReasonUserRevoked); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("second Revoke = %v, want ErrNotFound", err)
	}
}

func TestRevokeOthersKeepsTheCurrentSession(t *testing.T) {
	r := newRig(t)
	keep, other := r.mustStart(t), r.mustStart(t)
	if err := r.svc.RevokeOthers(t.Context(), r.userID, keep.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Refresh(t.Context(), keep.RefreshToken, ""); err != nil {
		t.Fatalf("the kept session: %v", err)
	}
	if _, err := r.svc.Refresh(t.Context(), other.RefreshToken, ""); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("another session after RevokeOthers = %v, want ErrInvalidToken", err)
	}
	list, err := r.svc.List(t.Context(), r.userID)
	if err != nil || len(list) != 1 || list[0].ID != keep.SessionID {
		t.Fatalf("List = %v, %v; want only the kept session", list, err)
	}
}
