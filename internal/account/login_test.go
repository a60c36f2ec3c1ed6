package account_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// cheap argon2id parameters: the rules under test do not depend on the cost.
var cheap = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

const (
	perAccount = 5
	perIP      = 8
	window     = 15 * time.Minute
	goodPass   = "correct horse battery staple"
)

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

// rig is an account service over a fresh SQLite database, with real sessions, keys,
// hasher and an in-memory limiter on a settable clock.
type rig struct {
	db     *sqlstore.DB
	svc    *account.Service
	hasher *password.Hasher
	reg    *prometheus.Registry
	clock  *clock
}

func newRig(t *testing.T, params password.Params) *rig {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	reg := prometheus.NewRegistry()
	hasher, err := password.NewHasher(params, 2, 16, reg)
	if err != nil {
		t.Fatal(err)
	}
	hasher.Ready()
	log := audit.NewLog(make([]byte, 32))
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	km := &keys.Manager{Store: db, Audit: log, Box: box, Alg: "ES256", RetiredFor: time.Hour, Now: c.now}
	if err := km.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	access := &token.Access{Keys: km, Issuer: "https://id.example.test", Audience: "gatehouse", TTL: 5 * time.Minute, Now: c.now}
	sessions := session.NewService(&session.Service{Store: db, Access: access, IdleTTL: time.Hour, AbsoluteTTL: 24 * time.Hour,
		Now: c.now, CacheTTL: time.Second, Audit: log}, nil)
	svc := account.NewService(&account.Service{Store: db, Audit: log, Hasher: hasher, Policy: password.Policy{MinLength: 8},
		Sessions: sessions, Limiter: ratelimit.NewMemory(c.now), Now: c.now,
		Limits: account.Limits{FailuresPerAccount: perAccount, FailuresPerIP: perIP, Window: window, IPPerMinute: 100}}, nil)
	return &rig{db: db, svc: svc, hasher: hasher, reg: reg, clock: c}
}

// user stores an account whose password hash is hash ("" for none: a passkey-only account).
func (r *rig) user(t *testing.T, email, hash string) *store.User {
	t.Helper()
	now := r.clock.now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, Name: "Test", EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := r.db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if hash != "" {
		if err := r.db.SetPasswordHash(t.Context(), u.ID, hash, now); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// withPassword stores an account with goodPass hashed by the rig's hasher.
func (r *rig) withPassword(t *testing.T, email string) *store.User {
	t.Helper()
	h, err := r.hasher.Hash(t.Context(), goodPass)
	if err != nil {
		t.Fatal(err)
	}
	return r.user(t, email, h)
}

func (r *rig) login(t *testing.T, email, pw, ip string) (*account.LoginResult, error) {
	t.Helper()
	return r.svc.Login(t.Context(), account.LoginInput{Email: email, Password: pw,
		Device: session.Device{IP: ip, UserAgent: "test/1"}})
}

// hashes is how many hashes or verifications the hasher has computed.
func (r *rig) hashes(t *testing.T) uint64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gatehouse_password_hash_duration_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("the hasher's duration histogram is not registered")
	return 0
}

// actions lists the audit log's actions, oldest first.
func (r *rig) actions(t *testing.T) []string {
	t.Helper()
	evs, err := r.db.ListAudit(t.Context(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, string(evs[i].Action))
	}
	return out
}

func count(list []string, want audit.Action) int {
	n := 0
	for _, a := range list {
		if a == string(want) {
			n++
		}
	}
	return n
}

func wantRateLimited(t *testing.T, err error, what string) *account.RateLimited {
	t.Helper()
	var rl *account.RateLimited
	if !errors.As(err, &rl) {
		t.Fatalf("%s = %v, want *RateLimited", what, err)
	}
	if rl.RetryAfter <= 0 || rl.RetryAfter > window {
		t.Fatalf("%s: Retry-After %v, want within (0, %v]", what, rl.RetryAfter, window)
	}
	return rl
}

func TestLoginWithTheRightPasswordStartsASession(t *testing.T) {
	r := newRig(t, cheap)
	u := r.withPassword(t, "ada@example.com")
	res, err := r.login(t, "ada@example.com", goodPass, "192.0.2.1")
	if err != nil || res.Tokens == nil || res.MFA != nil {
		t.Fatalf("Login = %+v, %v", res, err)
	}
	sess, err := r.db.SessionByID(t.Context(), res.Tokens.SessionID)
	if err != nil || sess.UserID != u.ID || sess.IP != "192.0.2.1" {
		t.Fatalf("session = %+v, %v", sess, err)
	}
	if got := r.actions(t); count(got, audit.UserLoginSucceeded) != 1 {
		t.Fatalf("audit = %v, want one %s", got, audit.UserLoginSucceeded)
	}
}

// Five wrong passwords throttle the account: the sixth attempt is refused even with the
// right password, until the window has passed.
func TestWrongPasswordsThrottleTheAccount(t *testing.T) {
	r := newRig(t, cheap)
	r.withPassword(t, "ada@example.com")
	for i := range perAccount {
		// Each from its own address: only the account's count is under test.
		ip := "198.51.100." + string(rune('1'+i))
		if _, err := r.login(t, "ada@example.com", "wrong password", ip); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("wrong password %d = %v, want ErrInvalidCredentials", i+1, err)
		}
	}
	_, err := r.login(t, "ADA@example.com", goodPass, "203.0.113.9")
	wantRateLimited(t, err, "the right password after five failures")
	got := r.actions(t)
	if count(got, audit.UserLocked) != 1 || count(got, audit.UserLoginThrottled) != 1 {
		t.Fatalf("audit = %v, want one %s and one %s", got, audit.UserLocked, audit.UserLoginThrottled)
	}
	r.clock.advance(window)
	if _, err := r.login(t, "ada@example.com", goodPass, "203.0.113.9"); err != nil {
		t.Fatalf("the right password after the window: %v", err)
	}
}

// A complete login clears the account's count.
func TestASuccessfulLoginClearsTheCount(t *testing.T) {
	r := newRig(t, cheap)
	r.withPassword(t, "ada@example.com")
	for range 2 {
		for range perAccount - 1 {
			if _, err := r.login(t, "ada@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, account.ErrInvalidCredentials) {
				t.Fatalf("wrong password = %v", err)
			}
		}
		if _, err := r.login(t, "ada@example.com", goodPass, "192.0.2.2"); err != nil {
			t.Fatalf("the right password within the limit: %v", err)
		}
	}
}

// The count is kept per address whatever its case, so varying it buys no extra guesses.
func TestTheAccountCountIgnoresCase(t *testing.T) {
	r := newRig(t, cheap)
	r.withPassword(t, "ada@example.com")
	for _, e := range []string{"ada@example.com", "Ada@example.com", "ADA@example.com", "ada@EXAMPLE.com", " ada@example.com "} {
		if _, err := r.login(t, e, "wrong password", "192.0.2.1"); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("wrong password as %q = %v", e, err)
		}
	}
	_, err := r.login(t, "aDa@example.com", goodPass, "192.0.2.2")
	wantRateLimited(t, err, "after five failures under different cases")
}

// Failures from one address across many accounts throttle that address, and only it.
func TestFailuresFromOneAddressThrottleIt(t *testing.T) {
	r := newRig(t, cheap)
	r.withPassword(t, "ada@example.com")
	for i := range perIP {
		email := "user" + string(rune('a'+i)) + "@example.com"
		if _, err := r.login(t, email, "wrong password", "192.0.2.66"); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("failure %d = %v", i+1, err)
		}
	}
	_, err := r.login(t, "ada@example.com", goodPass, "192.0.2.66")
	wantRateLimited(t, err, "the throttled address")
	if _, err := r.login(t, "ada@example.com", goodPass, "192.0.2.67"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// An unknown address, a wrong password and an account without a password answer with
// the same error after the same work (one password verification each), so neither the
// answer nor its time tells whether an account exists.
func TestUnknownAccountsAnswerLikeWrongPasswords(t *testing.T) {
	r := newRig(t, cheap)
	r.withPassword(t, "ada@example.com")
	r.user(t, "passkey@example.com", "")
	for _, c := range []struct{ name, email string }{
		{"wrong password", "ada@example.com"},
		{"unknown address", "nobody@example.com"},
		{"no password", "passkey@example.com"},
	} {
		before := r.hashes(t)
		_, err := r.login(t, c.email, "wrong password", "192.0.2.1")
		if !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("%s = %v, want ErrInvalidCredentials", c.name, err)
		}
		if n := r.hashes(t) - before; n != 1 {
			t.Fatalf("%s computed %d hashes, want 1 like the others", c.name, n)
		}
	}
	if got := r.actions(t); count(got, audit.UserLoginFailed) != 3 {
		t.Fatalf("audit = %v, want three %s", got, audit.UserLoginFailed)
	}
}

// An unknown address is throttled like a known one.
func TestUnknownAccountsAreThrottledAlike(t *testing.T) {
	r := newRig(t, cheap)
	for range perAccount {
		if _, err := r.login(t, "nobody@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("unknown address = %v", err)
		}
	}
	_, err := r.login(t, "nobody@example.com", "wrong password", "192.0.2.2")
	wantRateLimited(t, err, "an unknown address after five failures")
}

// A disabled account says so only to whoever knows its password.
func TestADisabledAccountAnswersOnlyTheRightPassword(t *testing.T) {
	r := newRig(t, cheap)
	u := r.withPassword(t, "ada@example.com")
	if err := r.db.SetUserDisabled(t.Context(), u.ID, true, r.clock.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.login(t, "ada@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("wrong password on a disabled account = %v, want ErrInvalidCredentials", err)
	}
	if _, err := r.login(t, "ada@example.com", goodPass, "192.0.2.1"); !errors.Is(err, account.ErrDisabled) {
		t.Fatalf("right password on a disabled account = %v, want ErrDisabled", err)
	}
}

// A bcrypt hash (an imported account) is accepted and replaced by argon2id on login,
// once, in the login's transaction with its audit event.
func TestBcryptHashIsUpgradedOnLogin(t *testing.T) {
	r := newRig(t, cheap)
	b, err := bcrypt.GenerateFromPassword([]byte(goodPass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u := r.user(t, "imported@example.com", string(b))
	if _, err := r.login(t, "imported@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("wrong password against bcrypt = %v", err)
	}
	if stored, _ := r.db.PasswordHash(t.Context(), u.ID); stored != string(b) {
		t.Fatal("a wrong password changed the stored hash")
	}
	for range 2 {
		if _, err := r.login(t, "imported@example.com", goodPass, "192.0.2.1"); err != nil {
			t.Fatalf("login with a bcrypt hash: %v", err)
		}
	}
	stored, err := r.db.PasswordHash(t.Context(), u.ID)
	if err != nil || !strings.HasPrefix(stored, "$argon2id$") {
		t.Fatalf("stored hash after login = %q, %v; want argon2id", stored, err)
	}
	if ok, rehash, err := r.hasher.Verify(t.Context(), goodPass, stored); !ok || rehash || err != nil {
		t.Fatalf("the upgraded hash: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if got := r.actions(t); count(got, audit.UserPasswordUpgraded) != 1 {
		t.Fatalf("audit = %v, want one %s", got, audit.UserPasswordUpgraded)
	}
}

// An argon2id hash with parameters weaker than the configured ones is upgraded too.
func TestWeakerArgon2ParametersAreUpgraded(t *testing.T) {
	r := newRig(t, password.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1})
	weak, err := password.NewHasher(cheap, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := weak.Hash(t.Context(), goodPass)
	if err != nil {
		t.Fatal(err)
	}
	u := r.user(t, "ada@example.com", old)
	if _, err := r.login(t, "ada@example.com", goodPass, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	stored, _ := r.db.PasswordHash(t.Context(), u.ID)
	if stored == old || !strings.Contains(stored, "m=128,t=2") {
		t.Fatalf("stored hash after login = %q, want the configured parameters", stored)
	}
}

// Re-proving the password for a sensitive change is charged to the same throttle.
func TestCheckPasswordIsThrottledWithLogins(t *testing.T) {
	r := newRig(t, cheap)
	u := r.withPassword(t, "ada@example.com")
	if err := r.svc.CheckPassword(t.Context(), u.ID, goodPass); err != nil {
		t.Fatalf("CheckPassword(right): %v", err)
	}
	for range perAccount {
		if err := r.svc.CheckPassword(t.Context(), u.ID, "wrong password"); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("CheckPassword(wrong) = %v", err)
		}
	}
	wantRateLimited(t, r.svc.CheckPassword(t.Context(), u.ID, goodPass), "CheckPassword after five failures")
	_, err := r.login(t, "ada@example.com", goodPass, "192.0.2.1")
	wantRateLimited(t, err, "login after five failed re-proofs")
	if got := r.actions(t); count(got, audit.UserReauthFailed) != perAccount {
		t.Fatalf("audit = %v, want %d %s", got, perAccount, audit.UserReauthFailed)
	}
}

// A storage failure is not an answer about the account: it is an error that names the
// operation, so that the 500 it becomes is traceable in the log.
func TestStorageFailureNamesTheOperation(t *testing.T) {
	r := newRig(t, cheap)
	r.withPassword(t, "ada@example.com")
	r.db.Close()
	_, err := r.login(t, "ada@example.com", goodPass, "192.0.2.1")
	if err == nil || errors.Is(err, account.ErrInvalidCredentials) || !strings.HasPrefix(err.Error(), "account: login: ") {
		t.Fatalf("Login on a closed database = %v, want an error naming account: login", err)
	}
}
