package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/testutil/apitest"
	"github.com/gatehouse-id/gatehouse/internal/testutil/testserver"
)

// passkey is a software authenticator with one credential.
type passkey struct {
	rp       virtualwebauthn.RelyingParty
	auth     virtualwebauthn.Authenticator
	cred     virtualwebauthn.Credential
	finished *apitest.Response // the last registration's answer
}

func newPasskey(e *env, userID string) *passkey {
	rp := virtualwebauthn.RelyingParty{Name: "Gatehouse", ID: "localhost", Origin: e.srv.Config.Issuer}
	auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(userID)})
	return &passkey{rp: rp, auth: auth, cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, fullWidthP256Key())}
}

// fullWidthP256Key makes a P-256 key whose coordinates both need 32 bytes. The software
// authenticator encodes them with big.Int.Bytes, which drops leading zeros, and a 31-byte
// coordinate (about one key in 64) is rightly refused by the server.
func fullWidthP256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) == 32 && len(k.Y.Bytes()) == 32 {
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				panic(err)
			}
			return der
		}
	}
}

func optionsJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// register adds the passkey to the signed-in user's account.
func (p *passkey) register(t *testing.T, e *env, access, name string) string {
	t.Helper()
	begin := e.c.Do(t, "POST", "/v1/me/webauthn/register/begin", map[string]any{"name": name, "current_password": goodPassword}, access).Expect(t, 200)
	opts, err := virtualwebauthn.ParseAttestationOptions(optionsJSON(t, begin.Body["options"]))
	if err != nil {
		t.Fatalf("attestation options: %v", err)
	}
	if opts.RelyingPartyID != "localhost" || len(opts.Challenge) < 16 {
		t.Fatalf("options: rp %q, challenge of %d bytes", opts.RelyingPartyID, len(opts.Challenge))
	}
	resp := virtualwebauthn.CreateAttestationResponse(p.rp, p.auth, p.cred, *opts)
	fin := e.c.Do(t, "POST", "/v1/me/webauthn/register/finish", map[string]any{"challenge_id": begin.Str("challenge_id"),
		"credential": json.RawMessage(resp)}, access).Expect(t, 201)
	if fin.Str("name") != name || fin.Str("id") == "" {
		t.Fatalf("register finish = %s", fin.Raw)
	}
	p.auth.AddCredential(p.cred)
	p.finished = fin
	return fin.Str("id")
}

// assert answers an assertion request with the given counter.
func (p *passkey) assert(t *testing.T, options any, counter uint32) json.RawMessage {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(optionsJSON(t, options))
	if err != nil {
		t.Fatalf("assertion options: %v", err)
	}
	if len(opts.Challenge) < 16 {
		t.Fatalf("challenge of %d bytes", len(opts.Challenge))
	}
	p.cred.Counter = counter
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(p.rp, p.auth, p.cred, *opts))
}

// shapeOf describes a JSON value's keys and value types, not its values (challenges and
// ids differ between answers; the shape must not).
func shapeOf(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteString("{")
		for _, k := range keys {
			b.WriteString(k + ":" + shapeOf(x[k]) + ",")
		}
		return b.String() + "}"
	case []any:
		var b strings.Builder
		b.WriteString("[")
		for _, e := range x {
			b.WriteString(shapeOf(e) + ",")
		}
		return b.String() + "]"
	case string:
		return "string"
	default:
		return fmt.Sprintf("%T=%v", x, x)
	}
}

func TestPasskeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.WithLocalhostIssuer())
		u := e.verifiedUser(t, "passkey")
		pk := newPasskey(e, u.id)
		credID := pk.register(t, e, u.tok.Access, "YubiKey")
		st := e.c.Do(t, "GET", "/v1/me/mfa", nil, u.tok.Access).Expect(t, 200)
		if list := st.Body["webauthn"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "YubiKey" {
			t.Fatalf("webauthn status = %s", st.Raw)
		}
		e.mail.WaitFor(t, u.email, "Security change")

		// Passwordless, discoverable: the authenticator names the account.
		begin := e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{}, "").Expect(t, 200)
		if opts := begin.Body["options"].(map[string]any); opts["allowCredentials"] != nil {
			t.Fatalf("discoverable options list credentials: %v", opts)
		}
		login := e.c.Do(t, "POST", "/v1/auth/webauthn/login/finish", map[string]any{"challenge_id": begin.Str("challenge_id"),
			"credential": pk.assert(t, begin.Body["options"], 1)}, "").Expect(t, 200)
		c := claimsOf(t, login.Str("access_token"))
		if c["sub"] != u.id || !slices.Contains(strs(c["amr"]), "hwk") {
			t.Fatalf("passkey login claims = %v", c)
		}
		// The challenge is used up: the same response again fails.
		e.c.Do(t, "POST", "/v1/auth/webauthn/login/finish", map[string]any{"challenge_id": begin.Str("challenge_id"),
			"credential": pk.assert(t, begin.Body["options"], 2)}, "").Expect(t, 401, "invalid_credentials")

		// With an email: the answer has the same shape for an account with passkeys, one
		// without, and no account at all, and names no credential (review: it listed the
		// user's credential ids, telling anyone which addresses have passkeys).
		noPasskey := e.verifiedUser(t, "nopasskey")
		shapes := map[string]string{}
		for who, body := range map[string]any{"with passkeys": map[string]any{"email": u.email},
			"without passkeys": map[string]any{"email": noPasskey.email}, "no account": map[string]any{"email": uniqueEmail("ghost")},
			"no email": map[string]any{}} {
			r := e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", body, "").Expect(t, 200)
			shapes[who] = shapeOf(r.Body)
			if strings.Contains(string(r.Raw), base64.RawURLEncoding.EncodeToString(pk.cred.ID)) {
				t.Fatalf("%s: the answer names the credential: %s", who, r.Raw)
			}
		}
		for who, shape := range shapes {
			if shape != shapes["no email"] {
				t.Fatalf("the answer for %s has another shape:\n%s\nthan for no email:\n%s", who, shape, shapes["no email"])
			}
		}
		begin = e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{"email": u.email}, "").Expect(t, 200)
		// A replayed counter (not above the last one seen) is refused.
		e.c.Do(t, "POST", "/v1/auth/webauthn/login/finish", map[string]any{"challenge_id": begin.Str("challenge_id"),
			"credential": pk.assert(t, begin.Body["options"], 1)}, "").Expect(t, 401, "invalid_credentials")
		begin = e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{"email": u.email}, "").Expect(t, 200)
		e.c.Do(t, "POST", "/v1/auth/webauthn/login/finish", map[string]any{"challenge_id": begin.Str("challenge_id"),
			"credential": pk.assert(t, begin.Body["options"], 5)}, "").Expect(t, 200)

		// A tampered signature is refused.
		begin = e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{}, "").Expect(t, 200)
		resp := pk.assert(t, begin.Body["options"], 6)
		var m map[string]any
		json.Unmarshal(resp, &m)
		sig := m["response"].(map[string]any)["signature"].(string)
		m["response"].(map[string]any)["signature"] = flipB64(sig)
		e.c.Do(t, "POST", "/v1/auth/webauthn/login/finish", map[string]any{"challenge_id": begin.Str("challenge_id"),
			"credential": m}, "").Expect(t, 401, "invalid_credentials")

		// As a second factor after the password.
		r := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "").Expect(t, 200)
		// The passkey, and the backup codes that came with it as the first factor.
		if !slices.Equal(strs(r.Body["mfa_methods"]), []string{"backup_code", "webauthn"}) {
			t.Fatalf("methods = %v", r.Body["mfa_methods"])
		}
		mt := r.Str("mfa_token")
		sb := e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/begin", map[string]any{"mfa_token": mt}, "").Expect(t, 200)
		bad := pk.assert(t, sb.Body["options"], 5) // replayed counter: 5 was already seen
		e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/finish", map[string]any{"mfa_token": mt, "challenge_id": sb.Str("challenge_id"), "credential": bad}, "").
			Expect(t, 401, "invalid_code")
		sb = e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/begin", map[string]any{"mfa_token": mt}, "").Expect(t, 200)
		ok := e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/finish", map[string]any{"mfa_token": mt, "challenge_id": sb.Str("challenge_id"),
			"credential": pk.assert(t, sb.Body["options"], 7)}, "").Expect(t, 200)
		if c := claimsOf(t, ok.Str("access_token")); !slices.Equal(strs(c["amr"]), []string{"pwd", "hwk", "mfa"}) {
			t.Fatalf("step-up amr = %v", c["amr"])
		}
		mfaAccess := ok.Str("access_token")

		// A second credential, then removal of both: MFA turns off.
		pk2 := newPasskey(e, u.id)
		e.c.Do(t, "POST", "/v1/me/webauthn/register/begin", nil, u.tok.Access).Expect(t, 403, "forbidden") // needs a factor-verified session
		id2 := pk2.register(t, e, mfaAccess, "Phone")
		if _, ok := pk2.finished.Body["backup_codes"]; ok {
			t.Fatalf("a second factor came with new backup codes: %s", pk2.finished.Raw)
		}
		e.c.Do(t, "DELETE", "/v1/me/webauthn/"+credID, nil, u.tok.Access).Expect(t, 403, "forbidden")
		e.c.Do(t, "DELETE", "/v1/me/webauthn/"+credID, nil, mfaAccess).Expect(t, 204)
		e.c.Do(t, "DELETE", "/v1/me/webauthn/"+credID, nil, mfaAccess).Expect(t, 404)
		e.c.Do(t, "DELETE", "/v1/me/webauthn/"+id2, nil, mfaAccess).Expect(t, 204)
		if e.c.Do(t, "GET", "/v1/me", nil, mfaAccess).Expect(t, 200).Body["mfa_enabled"] != false {
			t.Fatal("MFA still on after removing every credential")
		}
		// Nobody else can touch the user's credentials.
		stranger := e.verifiedUser(t, "pk-stranger")
		pk3 := newPasskey(e, u.id)
		id3 := pk3.register(t, e, mfaAccess, "Laptop")
		e.c.Do(t, "DELETE", "/v1/me/webauthn/"+id3, nil, stranger.tok.Access).Expect(t, 404)
		if !strings.Contains(strings.Join(e.auditActions(t, mfaAccess), " "), "mfa.webauthn.removed") {
			t.Fatal("removal not audited")
		}
	})
}

// flipB64 changes one bit of a base64url value.
func flipB64(s string) string {
	b, _ := base64.RawURLEncoding.DecodeString(s)
	b[len(b)/2] ^= 0x01
	return base64.RawURLEncoding.EncodeToString(b)
}

// login runs a passwordless login, discoverable or naming the email, and returns
// the finish response.
func (p *passkey) login(t *testing.T, e *env, email string, counter uint32) *apitest.Response {
	t.Helper()
	body := map[string]any{}
	if email != "" {
		body["email"] = email
	}
	begin := e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", body, "").Expect(t, 200)
	return e.c.Do(t, "POST", "/v1/auth/webauthn/login/finish", map[string]any{"challenge_id": begin.Str("challenge_id"),
		"credential": p.assert(t, begin.Body["options"], counter)}, "")
}

// loginFailures returns the details of the user.login.failed events about the user.
func loginFailures(t *testing.T, e *env, userID string) []map[string]any {
	t.Helper()
	events, err := e.srv.App.Store().ListAudit(t.Context(), store.AuditFilter{SubjectID: userID, Action: "user.login.failed", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range events {
		var d map[string]any
		if err := json.Unmarshal([]byte(ev.Details), &d); err != nil {
			t.Fatalf("details %q: %v", ev.Details, err)
		}
		out = append(out, d)
	}
	return out
}

// Whether a passwordless login used two factors depends on this assertion's user
// verification (PIN or biometric), not on the flag the credential was registered with.
// A passkey makes MFA on, so a login without user verification would be one factor for
// an MFA account: it gets no tokens.
func TestPasskeyLoginNeedsUserVerification(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.WithLocalhostIssuer())
		u := e.verifiedUser(t, "pk-uv")
		pk := newPasskey(e, u.id)
		pk.register(t, e, u.tok.Access, "Security key") // registered with user verification
		if e.c.Do(t, "GET", "/v1/me", nil, u.tok.Access).Expect(t, 200).Body["mfa_enabled"] != true {
			t.Fatal("a passkey did not turn MFA on")
		}
		// The first factor comes with its backup codes, shown once.
		if codes, _ := pk.finished.Body["backup_codes"].([]any); len(codes) != 10 || pk.finished.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("first passkey: %s (Cache-Control %q)", pk.finished.Raw, pk.finished.Header.Get("Cache-Control"))
		}
		begin := e.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{}, "").Expect(t, 200)
		if uv := begin.Body["options"].(map[string]any)["userVerification"]; uv != "required" {
			t.Fatalf("passwordless options ask userVerification %v, want required", uv)
		}

		pk.auth.Options.UserNotVerified = true
		pk.login(t, e, "", 1).Expect(t, 401, "invalid_credentials")
		pk.login(t, e, u.email, 2).Expect(t, 401, "invalid_credentials")
		fails := loginFailures(t, e, u.id)
		// The ceremony requires user verification, so the library itself refuses the
		// assertion: its failure is audited as an invalid assertion.
		if len(fails) != 2 || fails[0]["method"] != "passkey" || fails[0]["reason"] != "invalid_assertion" || fails[1]["reason"] != "invalid_assertion" {
			t.Fatalf("login failures audited = %v, want 2 invalid passkey assertions", fails)
		}

		pk.auth.Options.UserNotVerified = false
		ok := pk.login(t, e, "", 3).Expect(t, 200)
		if amr := strs(claimsOf(t, ok.Str("access_token"))["amr"]); !slices.Equal(amr, []string{"hwk", "mfa"}) {
			t.Fatalf("amr with user verification = %v", amr)
		}
	})
}

// Passwordless login applies what password login does: a disabled account and (when
// required) an unverified email are refused once the assertion is valid, and a refused
// assertion is audited.
func TestPasskeyLoginFollowsPasswordLoginRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		url, dir := db(t), t.TempDir()
		a := newEnv(t, url, testserver.WithLocalhostIssuer(), testserver.With("GATEHOUSE_DATA_DIR", dir))
		// A second server on the same database that requires verified emails.
		b := newEnv(t, url, testserver.With("GATEHOUSE_DATA_DIR", dir), testserver.With("GATEHOUSE_ISSUER", a.srv.Config.Issuer),
			testserver.With("GATEHOUSE_REQUIRE_VERIFIED_EMAIL", "true"))
		email := uniqueEmail("pk-rules")
		id := a.register(t, email, goodPassword)
		pk := newPasskey(a, id)
		pk.register(t, a, a.login(t, email, goodPassword).Access, "Key")

		// A tampered signature: refused and audited.
		begin := a.c.Do(t, "POST", "/v1/auth/webauthn/login/begin", map[string]any{}, "").Expect(t, 200)
		var m map[string]any
		json.Unmarshal(pk.assert(t, begin.Body["options"], 1), &m)
		resp := m["response"].(map[string]any)
		resp["signature"] = flipB64(resp["signature"].(string))
		a.c.Do(t, "POST", "/v1/auth/webauthn/login/finish", map[string]any{"challenge_id": begin.Str("challenge_id"), "credential": m}, "").
			Expect(t, 401, "invalid_credentials")
		fails := loginFailures(t, a, id)
		if len(fails) != 1 || fails[0]["method"] != "passkey" || fails[0]["reason"] != "invalid_assertion" {
			t.Fatalf("login failures audited = %v", fails)
		}

		// The email is not verified: the server that requires it refuses the passkey.
		pk.login(t, b, "", 2).Expect(t, 403, "email_not_verified")
		if fails := loginFailures(t, a, id); len(fails) != 2 || fails[0]["reason"] != "email_not_verified" || fails[0]["method"] != "passkey" {
			t.Fatalf("login failures audited = %v", fails)
		}
		tok := a.mail.WaitFor(t, email, "Verify").Token()
		a.c.Do(t, "POST", "/v1/auth/verify-email", map[string]any{"token": tok}, "").Expect(t, 200)
		pk.login(t, b, "", 3).Expect(t, 200)
	})
}

// WebAuthn as the second factor of a password login refuses a tampered signature.
func TestStepUpRefusesTamperedSignature(t *testing.T) {
	eachBackend(t, func(t *testing.T, db func(testing.TB) string) {
		e := newEnv(t, db(t), testserver.WithLocalhostIssuer())
		u := e.verifiedUser(t, "stepup-tamper")
		pk := newPasskey(e, u.id)
		pk.register(t, e, u.tok.Access, "Key")
		r := e.c.Do(t, "POST", "/v1/auth/login", map[string]any{"email": u.email, "password": goodPassword}, "").Expect(t, 200)
		mt := r.Str("mfa_token")

		sb := e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/begin", map[string]any{"mfa_token": mt}, "").Expect(t, 200)
		var m map[string]any
		json.Unmarshal(pk.assert(t, sb.Body["options"], 1), &m)
		resp := m["response"].(map[string]any)
		resp["signature"] = flipB64(resp["signature"].(string))
		e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/finish", map[string]any{"mfa_token": mt, "challenge_id": sb.Str("challenge_id"), "credential": m}, "").
			Expect(t, 401, "invalid_code")

		// The same key, signing properly, completes the login.
		sb = e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/begin", map[string]any{"mfa_token": mt}, "").Expect(t, 200)
		ok := e.c.Do(t, "POST", "/v1/auth/mfa/webauthn/finish", map[string]any{"mfa_token": mt, "challenge_id": sb.Str("challenge_id"),
			"credential": pk.assert(t, sb.Body["options"], 2)}, "").Expect(t, 200)
		if amr := strs(claimsOf(t, ok.Str("access_token"))["amr"]); !slices.Equal(amr, []string{"pwd", "hwk", "mfa"}) {
			t.Fatalf("amr = %v", amr)
		}
	})
}
