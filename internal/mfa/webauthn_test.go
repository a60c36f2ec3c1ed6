package mfa_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"slices"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// passkey is a software authenticator with one credential.
type passkey struct {
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newPasskey(userID string) *passkey {
	return &passkey{
		rp:   virtualwebauthn.RelyingParty{Name: "Gatehouse", ID: "localhost", Origin: rpOrigin},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(userID)}),
		cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, fullWidthP256Key()),
	}
}

// fullWidthP256Key makes a P-256 key whose coordinates both need 32 bytes: the software
// authenticator drops leading zeros of a coordinate, and the server rightly refuses a
// 31-byte one.
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

func optionsJSON(t *testing.T, c *mfa.Ceremony) string {
	t.Helper()
	b, err := json.Marshal(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// attest answers a registration ceremony.
func (p *passkey) attest(t *testing.T, c *mfa.Ceremony) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(optionsJSON(t, c))
	if err != nil {
		t.Fatalf("attestation options: %v", err)
	}
	return []byte(virtualwebauthn.CreateAttestationResponse(p.rp, p.auth, p.cred, *opts))
}

// assert answers an assertion ceremony with the given signature counter.
func (p *passkey) assert(t *testing.T, c *mfa.Ceremony, counter uint32) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(optionsJSON(t, c))
	if err != nil {
		t.Fatalf("assertion options: %v", err)
	}
	p.cred.Counter = counter
	return []byte(virtualwebauthn.CreateAssertionResponse(p.rp, p.auth, p.cred, *opts))
}

// registerPasskey adds pk to the user's credentials.
func (r *rig) registerPasskey(t *testing.T, u *store.User, pk *passkey, proof mfa.Proof) *mfa.CredentialInfo {
	t.Helper()
	c, err := r.mfa.BeginRegistration(t.Context(), u.ID, proof, "Key")
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	info, err := r.mfa.FinishRegistration(t.Context(), u.ID, "", c.ID, pk.attest(t, c))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	pk.auth.AddCredential(pk.cred)
	return info
}

// A registration ceremony finishes only a registration, only for its user, once, and
// within CeremonyTTL. The first passkey takes the password, and comes with backup codes.
func TestRegistrationCeremony(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	pk := newPasskey(u.ID)

	_, err := r.mfa.BeginRegistration(ctx, u.ID, r.mfaProof(), "Key")
	expectErr(t, "a first passkey without the password", err, mfa.ErrPasswordRequired)
	c, err := r.mfa.BeginRegistration(ctx, u.ID, r.proof(), "Key")
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	resp := pk.attest(t, c)

	_, err = r.mfa.FinishLogin(ctx, c.ID, resp, device)
	expectErr(t, "a registration ceremony finishing a login", err, mfa.ErrWebAuthn)
	other := r.newUser(t)
	_, err = r.mfa.FinishRegistration(ctx, other.ID, "", c.ID, resp)
	expectErr(t, "another user finishing the registration", err, mfa.ErrWebAuthn)
	if st, _ := r.mfa.Status(ctx, other.ID); len(st.Credentials) != 0 {
		t.Fatalf("another user got the credential: %+v", st)
	}

	info, err := r.mfa.FinishRegistration(ctx, u.ID, "", c.ID, resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	pk.auth.AddCredential(pk.cred)
	if info.Name != "Key" || len(info.BackupCodes) != 10 {
		t.Fatalf("first credential = %+v, want it named Key with 10 backup codes", info)
	}
	if methods, _ := r.mfa.Methods(ctx, r.db, u.ID); !slices.Equal(methods, []string{mfa.MethodBackup, mfa.MethodWebAuthn}) || !r.user(t, u.ID).MFAEnabled {
		t.Fatalf("methods after the first passkey = %v", methods)
	}
	_, err = r.mfa.FinishRegistration(ctx, u.ID, "", c.ID, resp)
	expectErr(t, "finishing the same ceremony again", err, mfa.ErrWebAuthn)

	second := newPasskey(u.ID)
	c, err = r.mfa.BeginRegistration(ctx, u.ID, r.mfaProof(), "Second")
	if err != nil {
		t.Fatal(err)
	}
	r.clock.advance(mfa.CeremonyTTL)
	_, err = r.mfa.FinishRegistration(ctx, u.ID, "", c.ID, second.attest(t, c))
	expectErr(t, "finishing an expired ceremony", err, mfa.ErrWebAuthn)
	if st, _ := r.mfa.Status(ctx, u.ID); len(st.Credentials) != 1 {
		t.Fatalf("credentials = %+v, want the first only", st.Credentials)
	}
	if fails := r.auditDetails(t, u.ID, audit.MFAWebAuthnAdded); len(fails) != 3 || fails[2]["reason"] != "invalid_response" {
		t.Fatalf("refused registrations audited as %v", fails)
	}
}

// A passwordless login ceremony is used once, expires, and refuses a signature counter
// that did not grow (a cloned authenticator or a replay).
func TestPasskeyLoginCeremony(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	pk := newPasskey(u.ID)
	r.registerPasskey(t, u, pk, r.proof())

	c, err := r.mfa.BeginLogin(ctx, clientIP)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.mfa.FinishLogin(ctx, c.ID, pk.assert(t, c, 1), device)
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if amr := r.sessionAMR(t, tok); !slices.Equal(amr, []string{"hwk", "mfa"}) {
		t.Fatalf("amr = %v", amr)
	}
	_, err = r.mfa.FinishLogin(ctx, c.ID, pk.assert(t, c, 2), device)
	expectErr(t, "the same ceremony again", err, mfa.ErrWebAuthn)

	c, _ = r.mfa.BeginLogin(ctx, clientIP)
	_, err = r.mfa.FinishLogin(ctx, c.ID, pk.assert(t, c, 1), device)
	expectErr(t, "a counter that did not grow", err, mfa.ErrWebAuthn)
	if fails := r.auditDetails(t, u.ID, audit.UserLoginFailed); len(fails) != 1 || fails[0]["reason"] != "sign_count" {
		t.Fatalf("refused login audited as %v", fails)
	}

	c, _ = r.mfa.BeginLogin(ctx, clientIP)
	r.clock.advance(mfa.CeremonyTTL)
	_, err = r.mfa.FinishLogin(ctx, c.ID, pk.assert(t, c, 5), device)
	expectErr(t, "an expired ceremony", err, mfa.ErrWebAuthn)

	c, _ = r.mfa.BeginLogin(ctx, clientIP)
	if _, err := r.mfa.FinishLogin(ctx, c.ID, pk.assert(t, c, 6), device); err != nil {
		t.Fatalf("a fresh ceremony: %v", err)
	}
}

// A step-up ceremony completes only the pending login it was begun for; a passwordless
// login ceremony completes none.
func TestStepUpCeremonyIsBoundToItsLogin(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	pk := newPasskey(u.ID)
	r.registerPasskey(t, u, pk, r.proof())

	a, b := r.begin(t, u), r.begin(t, u)
	if !slices.Equal(a.Methods, []string{mfa.MethodBackup, mfa.MethodWebAuthn}) {
		t.Fatalf("methods = %v", a.Methods)
	}
	ca, err := r.mfa.BeginStepUp(ctx, clientIP, a.Token)
	if err != nil {
		t.Fatalf("BeginStepUp: %v", err)
	}
	_, err = r.mfa.FinishStepUp(ctx, b.Token, ca.ID, pk.assert(t, ca, 1), device)
	expectErr(t, "a ceremony of another pending login", err, mfa.ErrInvalidCode)
	cl, err := r.mfa.BeginLogin(ctx, clientIP)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.mfa.FinishStepUp(ctx, a.Token, cl.ID, pk.assert(t, cl, 2), device)
	expectErr(t, "a passwordless login ceremony", err, mfa.ErrInvalidCode)
	_, err = r.mfa.Verify(ctx, a.Token, mfa.MethodWebAuthn, "", device)
	expectErr(t, "WebAuthn without a ceremony", err, mfa.ErrInvalidCode)

	ca, err = r.mfa.BeginStepUp(ctx, clientIP, a.Token)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.mfa.FinishStepUp(ctx, a.Token, ca.ID, pk.assert(t, ca, 3), device)
	if err != nil {
		t.Fatalf("FinishStepUp: %v", err)
	}
	if amr := r.sessionAMR(t, tok); !slices.Equal(amr, []string{"pwd", "hwk", "mfa"}) {
		t.Fatalf("amr = %v", amr)
	}
	if fails := r.auditDetails(t, u.ID, audit.MFAFailed); len(fails) != 3 || fails[0]["method"] != mfa.MethodWebAuthn {
		t.Fatalf("refused step-ups audited as %v", fails)
	}
}

// Removing a passkey takes a session that used a second factor; the last one gone, MFA
// turns off. Nobody removes another user's credential.
func TestDeleteCredential(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	u := r.newUser(t)
	info := r.registerPasskey(t, u, newPasskey(u.ID), r.proof())

	expectErr(t, "removing from a session without a second factor", r.mfa.DeleteCredential(ctx, u.ID, "", r.proof(), info.ID), mfa.ErrStepUpRequired)
	other := r.newUser(t)
	expectErr(t, "removing another user's credential", r.mfa.DeleteCredential(ctx, other.ID, "", r.mfaProof(), info.ID), mfa.ErrNotFound)
	if err := r.mfa.DeleteCredential(ctx, u.ID, "", r.mfaProof(), info.ID); err != nil {
		t.Fatalf("DeleteCredential: %v", err)
	}
	if st, _ := r.mfa.Status(ctx, u.ID); len(st.Credentials) != 0 || st.BackupCodes != 0 || r.user(t, u.ID).MFAEnabled {
		t.Fatalf("after removing the only passkey: %+v", st)
	}
	expectErr(t, "removing it again", r.mfa.DeleteCredential(ctx, u.ID, "", r.proof(), info.ID), mfa.ErrNotFound)
}
