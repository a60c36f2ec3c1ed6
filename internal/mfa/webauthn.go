package mfa

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// waUser adapts a user and their credentials to the library.
type waUser struct {
	u     *store.User
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w *waUser) WebAuthnName() string                       { return w.u.Email }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }
func (w *waUser) WebAuthnDisplayName() string {
	if w.u.Name != "" {
		return w.u.Name
	}
	return w.u.Email
}

func (s *Service) loadWAUser(ctx context.Context, q store.MFA, u *store.User) (*waUser, []store.WebAuthnCredential, error) {
	rows, err := q.WebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	w := &waUser{u: u}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return nil, nil, err
		}
		w.creds = append(w.creds, c)
	}
	return w, rows, nil
}

// Ceremony is what begin returns: the id to finish with and the options for the browser.
type Ceremony struct {
	ID      string
	Options any
}

// CredentialInfo describes a registered credential.
type CredentialInfo struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// BackupCodes are given, once, when this credential is the user's first factor.
	BackupCodes []string
}

func (s *Service) saveCeremony(ctx context.Context, q store.MFA, kind, userID, challengeID string, data any) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	now := s.Now()
	c := &store.WebAuthnCeremony{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, UserID: userID, ChallengeID: challengeID,
		Data: raw, CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL)}
	return c.ID, q.CreateCeremony(ctx, c)
}

// registration is the stored state of a registration ceremony.
type registration struct {
	Session webauthn.SessionData `json:"session"`
	Name    string               `json:"name"`
}

// BeginRegistration starts adding a passkey or security key.
func (s *Service) BeginRegistration(ctx context.Context, userID string, proof Proof, name string) (*Ceremony, error) {
	if err := s.proveFirstFactor(ctx, userID, proof); err != nil {
		return nil, wrap("begin registration", err)
	}
	var out *Ceremony
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		u, err := user(ctx, q, userID)
		if err != nil {
			return err
		}
		if err := s.stepUp(u, proof); err != nil {
			return err
		}
		w, _, err := s.loadWAUser(ctx, q, u)
		if err != nil {
			return err
		}
		exclude := make([]protocol.CredentialDescriptor, len(w.creds))
		for i, c := range w.creds {
			exclude[i] = c.Descriptor()
		}
		creation, sess, err := s.WebAuthn.BeginRegistration(w,
			webauthn.WithExclusions(exclude),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
			webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
				ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred}))
		if err != nil {
			return err
		}
		if name == "" {
			name = "Passkey " + s.Now().Format("2006-01-02")
		}
		id, err := s.saveCeremony(ctx, q, "register", userID, "", registration{Session: *sess, Name: name})
		if err != nil {
			return err
		}
		out = &Ceremony{ID: id, Options: creation.Response}
		return nil
	})
	return out, wrap("begin registration", err)
}

// FinishRegistration verifies the authenticator's response and stores the credential.
// sessionID is the session registering it, which stays when MFA turns on.
//
// Responses count against the account's login throttle, and failed ones are audited.
func (s *Service) FinishRegistration(ctx context.Context, userID, sessionID, ceremonyID string, credential []byte) (*CredentialInfo, error) {
	var out *CredentialInfo
	err := s.guessLimited(ctx, userID, audit.MFAWebAuthnAdded, func() error {
		var err error
		out, err = s.finishRegistration(ctx, userID, sessionID, ceremonyID, credential)
		return err
	})
	return out, wrap("finish registration", err)
}

func (s *Service) finishRegistration(ctx context.Context, userID, sessionID, ceremonyID string, credential []byte) (*CredentialInfo, error) {
	var out *CredentialInfo
	err := s.changeFactors(ctx, func(q store.Queries) ([]string, error) {
		c, err := q.TakeCeremony(ctx, ceremonyID, "register", s.Now())
		if errors.Is(err, store.ErrNotFound) || (err == nil && c.UserID != userID) {
			return nil, ErrWebAuthn
		}
		if err != nil {
			return nil, err
		}
		var reg registration
		if err := json.Unmarshal(c.Data, &reg); err != nil {
			return nil, err
		}
		u, err := user(ctx, q, userID)
		if err != nil {
			return nil, err
		}
		w, _, err := s.loadWAUser(ctx, q, u)
		if err != nil {
			return nil, err
		}
		parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
		if err != nil {
			return nil, ErrWebAuthn
		}
		cred, err := s.WebAuthn.CreateCredential(w, reg.Session, parsed)
		if err != nil {
			return nil, ErrWebAuthn
		}
		data, err := json.Marshal(cred)
		if err != nil {
			return nil, err
		}
		now := s.Now()
		row := &store.WebAuthnCredential{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID,
			CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID), Name: reg.Name, Data: data,
			SignCount: cred.Authenticator.SignCount, CreatedAt: now}
		if err := q.AddWebAuthnCredential(ctx, row); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, ErrConflict
			}
			return nil, err
		}
		out = &CredentialInfo{ID: row.ID, Name: row.Name, CreatedAt: now}
		if !u.MFAEnabled { // the first factor: it comes with backup codes, as TOTP's does
			if out.BackupCodes, err = s.newBackupCodes(ctx, q, u); err != nil {
				return nil, err
			}
		}
		return s.factorChanged(ctx, q, u, sessionID, audit.MFAWebAuthnAdded, map[string]any{"credential": row.ID, "name": reg.Name},
			"A passkey or security key (\""+reg.Name+"\") was added")
	})
	return out, err
}

// DeleteCredential removes one of the user's credentials.
func (s *Service) DeleteCredential(ctx context.Context, userID, sessionID string, proof Proof, id string) error {
	err := s.changeFactors(ctx, func(q store.Queries) ([]string, error) {
		u, err := user(ctx, q, userID)
		if err != nil {
			return nil, err
		}
		if err := s.stepUp(u, proof); err != nil {
			return nil, err
		}
		if err := q.DeleteWebAuthnCredential(ctx, userID, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, ErrNotFound
			}
			return nil, err
		}
		return s.factorChanged(ctx, q, u, sessionID, audit.MFAWebAuthnRemoved, map[string]any{"credential": id}, "A passkey or security key was removed")
	})
	return wrap("delete credential", err)
}

// assertion is the stored state of a login or step-up ceremony.
type assertion struct {
	Session webauthn.SessionData `json:"session"`
}

// passwordless asks the authenticator to verify the user (PIN or biometric): without
// that, a passkey alone is one factor, and every account with a passkey has MFA on.
var passwordless = webauthn.WithUserVerification(protocol.VerificationRequired)

// BeginLogin starts a passkey login, from the client's per-IP budget of unauthenticated
// writes (each begin stores a ceremony). The login is always discoverable: the options
// name no credentials and the authenticator picks the account, so the answer has the same
// shape whatever email is given, and says nothing about whether it has an account or
// passkeys. (Naming the user's credentials would tell anyone which addresses have them.)
func (s *Service) BeginLogin(ctx context.Context, ip string) (*Ceremony, error) {
	if err := s.spendBudget(ctx, ip); err != nil {
		return nil, wrap("begin login", err)
	}
	options, sess, err := s.WebAuthn.BeginDiscoverableLogin(passwordless)
	if err != nil {
		return nil, wrap("begin login", err)
	}
	var out *Ceremony
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		id, err := s.saveCeremony(ctx, q, "login", "", "", assertion{Session: *sess})
		if err != nil {
			return err
		}
		out = &Ceremony{ID: id, Options: options.Response}
		return nil
	})
	return out, wrap("begin login", err)
}

// ErrDisabled: the account behind a valid passkey is disabled.
var ErrDisabled = errors.New("mfa: account disabled")

// FinishLogin verifies a passkey assertion and starts a session (no password). The
// session's amr has "mfa" only when this assertion verified the user (PIN or biometric):
// the credential record's flag is the one from registration, latched, and says nothing
// about this ceremony. A passkey login without user verification is one factor, which
// an account with MFA on never gets tokens for.
//
// A refused assertion still uses up its ceremony, and is audited when the account is
// known; the rules of password login (disabled account, unverified email when required)
// apply once the assertion is valid.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID string, credential []byte, dev session.Device) (*session.Tokens, error) {
	var tokens *session.Tokens
	var refused error
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		refused = nil
		refuse := func(u *store.User, reason string, err error) error {
			refused = err
			if u == nil {
				return nil
			}
			return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserLoginFailed, TargetType: "user", TargetID: u.ID,
				Outcome: audit.Failure, Time: s.Now(), Details: map[string]any{"method": "passkey", "reason": reason}})
		}
		c, err := q.TakeCeremony(ctx, ceremonyID, "login", s.Now())
		if errors.Is(err, store.ErrNotFound) {
			return refuse(nil, "", ErrWebAuthn)
		}
		if err != nil {
			return err
		}
		var st assertion
		if err := json.Unmarshal(c.Data, &st); err != nil {
			return err
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
		if err != nil {
			return refuse(nil, "", ErrWebAuthn)
		}
		row, err := q.WebAuthnCredentialByCredID(ctx, base64.RawURLEncoding.EncodeToString(parsed.RawID))
		if errors.Is(err, store.ErrNotFound) {
			return refuse(nil, "", ErrWebAuthn)
		}
		if err != nil {
			return err
		}
		u, err := user(ctx, q, row.UserID)
		if err != nil {
			return err
		}
		w, _, err := s.loadWAUser(ctx, q, u)
		if err != nil {
			return err
		}
		// The authenticator names the account (the user handle): it must be the owner
		// of the credential it used.
		cred, err := s.WebAuthn.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, []byte(u.ID)) {
				return nil, ErrWebAuthn
			}
			return w, nil
		}, st.Session, parsed)
		if err != nil {
			return refuse(u, "invalid_assertion", ErrWebAuthn)
		}
		if err := s.recordUse(ctx, q, row, cred); errors.Is(err, ErrWebAuthn) {
			return refuse(u, "sign_count", ErrWebAuthn)
		} else if err != nil {
			return err
		}
		// The flags of this assertion, covered by its signature.
		verified := parsed.Response.AuthenticatorData.Flags.HasUserVerified()
		switch {
		case u.Disabled:
			return refuse(u, "disabled", ErrDisabled)
		case s.RequireVerifiedEmail && !u.EmailVerified:
			return refuse(u, "email_not_verified", ErrEmailNotVerified)
		case !verified && u.MFAEnabled:
			// A backstop: the ceremony requires user verification, so the library has
			// already refused such an assertion; one factor must never pass as two.
			return refuse(u, "user_not_verified", ErrWebAuthn)
		}
		amr := []string{"hwk"}
		if verified {
			amr = append(amr, "mfa") // possession of the key plus the user's PIN or biometric
		}
		if tokens, err = s.Sessions.Start(ctx, q, u.ID, amr, "", dev); err != nil {
			return err
		}
		if err := q.SetLastLogin(ctx, u.ID, s.Now()); err != nil {
			return err
		}
		return s.Audit.Record(ctx, q, audit.Event{Action: audit.UserLoginPasskey, ActorID: u.ID, TargetType: "session",
			TargetID: tokens.SessionID, Time: s.Now(), Details: map[string]any{"amr": amr, "credential": row.ID}})
	})
	if err != nil {
		return nil, wrap("finish login", err)
	}
	if refused != nil {
		return nil, refused
	}
	return tokens, nil
}

// recordUse refuses a signature counter that did not grow (a cloned authenticator or a
// replayed assertion) and stores the new one.
func (s *Service) recordUse(ctx context.Context, q store.MFA, row *store.WebAuthnCredential, cred *webauthn.Credential) error {
	if cred.Authenticator.CloneWarning {
		return ErrWebAuthn
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	err = q.UpdateWebAuthnCredential(ctx, row.ID, row.SignCount, cred.Authenticator.SignCount, data, s.Now())
	if errors.Is(err, store.ErrConflict) {
		return ErrWebAuthn
	}
	return err
}

// BeginStepUp starts WebAuthn as the second factor of a pending login, from the client's
// per-IP budget of unauthenticated writes (each begin stores a ceremony).
func (s *Service) BeginStepUp(ctx context.Context, ip, mfaToken string) (*Ceremony, error) {
	if err := s.spendBudget(ctx, ip); err != nil {
		return nil, wrap("begin step-up", err)
	}
	var out *Ceremony
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		ch, err := s.challenge(ctx, q, mfaToken)
		if err != nil {
			return err
		}
		u, err := pendingUser(ctx, q, ch)
		if err != nil {
			return err
		}
		w, _, err := s.loadWAUser(ctx, q, u)
		if err != nil {
			return err
		}
		if len(w.creds) == 0 {
			return ErrConflict
		}
		options, sess, err := s.WebAuthn.BeginLogin(w)
		if err != nil {
			return err
		}
		id, err := s.saveCeremony(ctx, q, "mfa", u.ID, ch.ID, assertion{Session: *sess})
		if err != nil {
			return err
		}
		out = &Ceremony{ID: id, Options: options.Response}
		return nil
	})
	return out, wrap("begin step-up", err)
}

// FinishStepUp verifies the assertion and completes the pending login.
func (s *Service) FinishStepUp(ctx context.Context, mfaToken, ceremonyID string, credential []byte, dev session.Device) (*session.Tokens, error) {
	tokens, err := s.complete(ctx, mfaToken, MethodWebAuthn, dev, func(q store.Queries, u *store.User, ch *store.MFAChallenge) (bool, error) {
		return s.verifyStepUp(ctx, q, u, ch, ceremonyID, credential)
	})
	if err != nil {
		return nil, wrap("finish step-up", err)
	}
	return tokens, nil
}

func (s *Service) verifyStepUp(ctx context.Context, q store.MFA, u *store.User, ch *store.MFAChallenge, ceremonyID string, credential []byte) (bool, error) {
	c, err := q.TakeCeremony(ctx, ceremonyID, "mfa", s.Now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && (c.ChallengeID != ch.ID || c.UserID != u.ID)) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var st assertion
	if err := json.Unmarshal(c.Data, &st); err != nil {
		return false, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return false, nil
	}
	w, rows, err := s.loadWAUser(ctx, q, u)
	if err != nil {
		return false, err
	}
	cred, err := s.WebAuthn.ValidateLogin(w, st.Session, parsed)
	if err != nil {
		return false, nil
	}
	idx := slices.IndexFunc(rows, func(r store.WebAuthnCredential) bool {
		return r.CredentialID == base64.RawURLEncoding.EncodeToString(cred.ID)
	})
	if idx < 0 {
		return false, nil
	}
	if err := s.recordUse(ctx, q, &rows[idx], cred); err != nil {
		if errors.Is(err, ErrWebAuthn) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
