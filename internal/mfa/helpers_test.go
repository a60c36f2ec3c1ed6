package mfa_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/password"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testdb"
	"github.com/gatehouse-id/gatehouse/internal/token"
)

// clock is a settable time shared by every service of the rig.
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

// wakes counts the outbox wake-ups; the rig reads messages from the outbox table itself.
type wakes struct{ n atomic.Int64 }

func (w *wakes) Wake() { w.n.Add(1) }

// rig is the mfa service wired as internal/app/build.go wires it (real account service,
// sessions, keys, limiter and audit log) over a fresh SQLite database, with a settable
// clock.
type rig struct {
	db       *sqlstore.DB
	mfa      *mfa.Service
	accounts *account.Service
	sessions *session.Service
	clock    *clock
	outbox   *wakes
	seen     map[string]bool // outbox messages already read
}

const (
	goodPassword = "quiet lantern over the harbour"
	clientIP     = "192.0.2.10"
	rpOrigin     = "https://localhost"
	// failuresPerAccount is the account throttle of the rig: high enough that the tests
	// of other rules never reach it (TestLoginThrottleIsChargedBeforeTheCheck lowers it).
	failuresPerAccount = 50
	reauthMaxAge       = time.Hour
)

var device = session.Device{IP: clientIP, UserAgent: "mfa-test/1"}

func openDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), testdb.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := openDB(t)
	// Ten seconds into a TOTP step: the codes of the steps around now are unambiguous.
	c := &clock{t: time.Unix(time.Now().Unix()/30*30+10, 0).UTC()}
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	auditLog := audit.NewLog(make([]byte, 32))
	km := &keys.Manager{Store: db, Audit: auditLog, Box: box, Alg: "ES256", RetiredFor: time.Hour, Now: c.now}
	if err := km.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	access := &token.Access{Keys: km, Issuer: "https://id.example.test", Audience: "gatehouse", TTL: 5 * time.Minute, Now: c.now}
	limiter := ratelimit.NewMemory(c.now)
	sessions := session.NewService(&session.Service{Store: db, Access: access, IdleTTL: time.Hour, AbsoluteTTL: 24 * time.Hour,
		Now: c.now, CacheTTL: 5 * time.Second, Audit: auditLog, Limiter: limiter}, nil)
	hasher, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	composer, err := notify.NewComposer("Gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	outbox := &wakes{}
	accounts := account.NewService(&account.Service{
		Store: db, Audit: auditLog, Hasher: hasher, Policy: password.Policy{MinLength: 8}, Sessions: sessions,
		Limiter: limiter, Limits: account.Limits{FailuresPerAccount: failuresPerAccount, FailuresPerIP: 1000,
			Window: time.Hour, IPPerMinute: 10000},
		Composer: composer, Outbox: outbox, LinkBase: "https://app.example.test", Product: "Gatehouse", Now: c.now,
		UserCacheTTL: 5 * time.Second,
	}, nil)
	wa, err := webauthn.New(&webauthn.Config{RPID: "localhost", RPDisplayName: "Gatehouse", RPOrigins: []string{rpOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	masterKey := make([]byte, 32)
	rand.Read(masterKey)
	factors, err := mfa.New(&mfa.Service{Store: db, Audit: auditLog, Box: box, Sessions: sessions, Composer: composer, Outbox: outbox,
		Limiter: limiter, WebAuthn: wa, Product: "Gatehouse", Now: c.now, SMSEnabled: true, ReauthMaxAge: reauthMaxAge}, masterKey)
	if err != nil {
		t.Fatal(err)
	}
	accounts.SecondFactor = factors
	factors.Attempts = accounts
	factors.Budget = accounts
	factors.UserChanged = accounts.ForgetUser
	return &rig{db: db, mfa: factors, accounts: accounts, sessions: sessions, clock: c, outbox: outbox, seen: map[string]bool{}}
}

// newUser registers a user with goodPassword and a verified email.
func (r *rig) newUser(t *testing.T) *store.User {
	t.Helper()
	u, err := r.accounts.Register(t.Context(), clientIP, "u-"+uuid.NewString()[:8]+"@example.com", goodPassword, "Ada")
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := r.db.SetEmailVerified(t.Context(), u.ID, r.clock.now()); err != nil {
		t.Fatal(err)
	}
	r.messages(t) // the verification email
	return r.user(t, u.ID)
}

func (r *rig) user(t *testing.T, id string) *store.User {
	t.Helper()
	u, err := r.db.UserByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// proof is what a session signed in with the password just now shows, with the
// password: enough to add a first factor.
func (r *rig) proof() mfa.Proof {
	return mfa.Proof{AMR: []string{"pwd"}, SignedInAt: r.clock.now(), Password: goodPassword}
}

// mfaProof is what a session that used a second factor just now shows.
func (r *rig) mfaProof() mfa.Proof {
	return mfa.Proof{AMR: []string{"pwd", "otp", "mfa"}, SignedInAt: r.clock.now()}
}

// startSession signs the user in with amr, as a login does (in a transaction).
func (r *rig) startSession(t *testing.T, userID string, amr ...string) *session.Tokens {
	t.Helper()
	var out *session.Tokens
	err := r.db.InTx(t.Context(), func(q store.Queries) (err error) {
		out, err = r.sessions.Start(t.Context(), q, userID, amr, "", device)
		return err
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return out
}

// begin starts the step-up of a password login, as the login's transaction does, and
// returns the mfa_token.
func (r *rig) begin(t *testing.T, u *store.User) *mfa.Pending {
	t.Helper()
	var p *mfa.Pending
	err := r.db.InTx(t.Context(), func(q store.Queries) (err error) {
		p, err = r.mfa.Begin(t.Context(), q, r.user(t, u.ID), "", []string{"pwd"}, device)
		return err
	})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if p == nil {
		t.Fatal("Begin: no step-up for a user with a second factor")
	}
	return p
}

// sessionAMR reads a started session's amr from the store.
func (r *rig) sessionAMR(t *testing.T, tok *session.Tokens) []string {
	t.Helper()
	if tok == nil {
		t.Fatal("no tokens")
	}
	s, err := r.db.SessionByID(t.Context(), tok.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	return s.AMR
}

// messages returns the outbox messages queued since the last call, oldest first.
func (r *rig) messages(t *testing.T) []store.Message {
	t.Helper()
	// Claimed far in the future and for long: each call sees every message not seen yet.
	msgs, err := r.db.ClaimMessages(t.Context(), r.clock.now().Add(24*time.Hour), 365*24*time.Hour, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Message
	for _, m := range msgs {
		if !r.seen[m.ID] {
			r.seen[m.ID] = true
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b store.Message) int { return strings.Compare(a.ID, b.ID) }) // UUIDv7: time-ordered
	return out
}

var codeInMessage = regexp.MustCompile(`code: (\d{6})`)

// codeSentTo returns the code of the newest message queued to recipient since the last
// read of the outbox; it fails when there is none.
func (r *rig) codeSentTo(t *testing.T, channel, recipient string) string {
	t.Helper()
	code := ""
	for _, m := range r.messages(t) {
		if m.Channel != channel || m.Recipient != recipient {
			continue
		}
		if c := codeInMessage.FindStringSubmatch(m.Subject + "\n" + m.BodyText); c != nil {
			code = c[1]
		}
	}
	if code == "" {
		t.Fatalf("no %s code was queued to %s", channel, recipient)
	}
	return code
}

// auditDetails returns the details of the events of action about the user, oldest first.
func (r *rig) auditDetails(t *testing.T, userID string, action audit.Action) []map[string]any {
	t.Helper()
	evs, err := r.db.ListAudit(t.Context(), store.AuditFilter{SubjectID: userID, Action: string(action), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i := len(evs) - 1; i >= 0; i-- {
		d := map[string]any{"outcome": evs[i].Outcome}
		if evs[i].Details != "" {
			if err := json.Unmarshal([]byte(evs[i].Details), &d); err != nil {
				t.Fatalf("details %q: %v", evs[i].Details, err)
			}
			d["outcome"] = evs[i].Outcome
		}
		out = append(out, d)
	}
	return out
}

// TOTP codes as an authenticator app computes them.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

const step = 30 * time.Second

// enableTOTP enrolls and confirms an authenticator app for the user (the current step is
// spent by the confirmation) and returns its secret and the backup codes given with it.
func (r *rig) enableTOTP(t *testing.T, u *store.User) (secret string, backup []string) {
	t.Helper()
	en, err := r.mfa.EnrollTOTP(t.Context(), u.ID, r.proof())
	if err != nil {
		t.Fatalf("EnrollTOTP: %v", err)
	}
	backup, err = r.mfa.ConfirmTOTP(t.Context(), u.ID, "", totpAt(t, en.Secret, r.clock.now()))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	return en.Secret, backup
}

// verify completes the pending login p with a code.
func (r *rig) verify(t *testing.T, p *mfa.Pending, method, code string) (*session.Tokens, error) {
	t.Helper()
	return r.mfa.Verify(t.Context(), p.Token, method, code, device)
}

// wrongCode returns a six-digit code other than right.
func wrongCode(right string) string {
	if right == "000000" {
		return "111111"
	}
	return "000000"
}

func expectErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}
