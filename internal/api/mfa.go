package api

import (
	"encoding/json"
	"errors"
	"github.com/gatehouse-id/gatehouse/internal/api/jsonbody"
	"net/http"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/problem"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// SecondFactors serves the MFA step of login, passkey login, and the user's factors.
type SecondFactors struct {
	MFA      *mfa.Service
	Accounts *account.Service
	Auth     *Authenticator
}

type mfaChallengeRequest struct {
	MFAToken string `json:"mfa_token"`
	Method   string `json:"method"`
}

type mfaVerifyRequest struct {
	MFAToken string `json:"mfa_token"`
	Method   string `json:"method"`
	Code     string `json:"code"`
}

type mfaTokenRequest struct {
	MFAToken string `json:"mfa_token"`
}

type mfaWebAuthnFinishRequest struct {
	MFAToken    string          `json:"mfa_token"`
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
}

type passkeyBeginRequest struct {
	Email string `json:"email,omitempty"`
}

type webauthnFinishRequest struct {
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
}

type registerBeginRequest struct {
	Name            string `json:"name,omitempty"`
	CurrentPassword string `json:"current_password,omitempty"`
}

// firstFactorRequest carries the current password, which adding the first second factor
// needs.
type firstFactorRequest struct {
	CurrentPassword string `json:"current_password,omitempty"`
}

type codeRequest struct {
	Code string `json:"code"`
}

type phoneRequest struct {
	Phone           string `json:"phone"`
	CurrentPassword string `json:"current_password,omitempty"`
}

// CeremonyResponse starts a WebAuthn ceremony.
type CeremonyResponse struct {
	ChallengeID string `json:"challenge_id"`
	Options     any    `json:"options"`
}

// MFAStatus is GET /v1/me/mfa.
type MFAStatus struct {
	TOTP struct {
		Enabled bool `json:"enabled"`
	} `json:"totp"`
	BackupCodes struct {
		Remaining int `json:"remaining"`
	} `json:"backup_codes"`
	Email struct {
		Enabled bool `json:"enabled"`
	} `json:"email"`
	SMS      SMSStatus    `json:"sms"`
	WebAuthn []Credential `json:"webauthn"`
}

// SMSStatus shows the SMS factor with a masked number.
type SMSStatus struct {
	Enabled bool    `json:"enabled"`
	Phone   *string `json:"phone"`
}

// Credential is a registered passkey or security key.
type Credential struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

// RegisteredCredential answers a finished registration; a first factor brings its backup
// codes, shown once.
type RegisteredCredential struct {
	Credential
	BackupCodes []string `json:"backup_codes,omitempty"`
}

// TOTPEnrollment is the new secret, shown once.
type TOTPEnrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRPNG      string `json:"qr_png"`
}

// BackupCodes are shown once.
type BackupCodes struct {
	BackupCodes []string `json:"backup_codes,omitempty"`
}

var (
	e164   = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	digits = regexp.MustCompile(`^[0-9A-Za-z -]{1,32}$`)
)

func device(r *http.Request) session.Device {
	info := reqinfo.From(r.Context())
	return session.Device{IP: info.IP, UserAgent: info.UserAgent}
}

func (f *fields) checkCode(field, v string) {
	if !digits.MatchString(v) {
		f.add(field, "is not a valid code")
	}
}

func (f *fields) checkCredential(field string, v json.RawMessage) {
	if len(v) == 0 || v[0] != '{' {
		f.add(field, "must be the authenticator's response object")
	}
}

// Mount registers the routes.
func (h *SecondFactors) Mount(rt *Router) {
	tag := "mfa"
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/mfa/challenge", ID: "mfaChallenge", Tag: tag,
		Summary: "Send a 6-digit code by email or SMS for a pending login", Request: mfaChallengeRequest{}, Status: 202,
		Errors: []int{401, 403, 409, 422, 429}}, h.challenge)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/mfa/verify", ID: "mfaVerify", Tag: tag,
		Summary: "Complete a login with a second-factor code (wrong codes count against the account's login throttle)", Request: mfaVerifyRequest{}, Response: TokenResponse{},
		Errors: []int{401, 403, 422, 429}}, h.verify)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/mfa/webauthn/begin", ID: "mfaWebAuthnBegin", Tag: tag,
		Summary: "Start WebAuthn as the second factor of a pending login", Request: mfaTokenRequest{}, Response: CeremonyResponse{},
		Errors: []int{401, 403, 409, 422, 429}}, h.stepUpBegin)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/mfa/webauthn/finish", ID: "mfaWebAuthnFinish", Tag: tag,
		Summary: "Complete a login with a WebAuthn assertion", Request: mfaWebAuthnFinishRequest{}, Response: TokenResponse{},
		Errors: []int{401, 403, 422, 429}}, h.stepUpFinish)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/webauthn/login/begin", ID: "passkeyLoginBegin", Tag: tag,
		Summary: "Start a passkey login: always discoverable (the authenticator picks the account), so the answer has the same shape whatever email is given", Request: passkeyBeginRequest{}, OptionalBody: true, Response: CeremonyResponse{},
		Errors: []int{422, 429}}, h.passkeyBegin)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/webauthn/login/finish", ID: "passkeyLoginFinish", Tag: tag,
		Summary: "Sign in with a passkey (no password)", Request: webauthnFinishRequest{}, Response: TokenResponse{},
		Errors: []int{401, 403, 422}}, h.passkeyFinish)

	me := "me"
	rt.Handle(openapi.Operation{Method: "GET", Path: "/v1/me/mfa", ID: "mfaStatus", Tag: me, Bearer: true,
		Summary: "The user's second factors", Response: MFAStatus{}}, h.Auth.Require(h.status))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/mfa/totp", ID: "totpEnroll", Tag: me, Bearer: true,
		Summary: "Start TOTP enrollment (secret, otpauth URL and QR code); current_password is required while the account has no second factor", Request: firstFactorRequest{}, OptionalBody: true,
		Response: TOTPEnrollment{}, Errors: []int{401, 403, 409, 422, 429}},
		h.Auth.Require(h.totpEnroll))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/mfa/totp/confirm", ID: "totpConfirm", Tag: me, Bearer: true,
		Summary: "Confirm TOTP with a code (backup codes when it is the first factor)", Request: codeRequest{}, Response: BackupCodes{},
		Errors: []int{401, 409, 422, 429}}, h.Auth.Require(h.totpConfirm))
	rt.Handle(openapi.Operation{Method: "DELETE", Path: "/v1/me/mfa/totp", ID: "totpDisable", Tag: me, Bearer: true,
		Summary: "Remove TOTP (needs a current code)", Request: codeRequest{}, Status: 204, Errors: []int{401, 409, 422, 429}},
		h.Auth.Require(h.totpDisable))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/mfa/backup-codes", ID: "backupCodes", Tag: me, Bearer: true,
		Summary: "New backup codes (the old ones stop working)", Response: BackupCodes{}, Errors: []int{403, 409}},
		h.Auth.Require(h.backupCodes))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/mfa/email", ID: "emailEnable", Tag: me, Bearer: true,
		Summary: "Turn on email codes (the email must be verified); current_password is required while the account has no second factor", Request: firstFactorRequest{}, OptionalBody: true,
		Status: 204, Errors: []int{401, 403, 422, 429}}, h.Auth.Require(h.emailEnable))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/mfa/sms", ID: "smsEnroll", Tag: me, Bearer: true,
		Summary: "Text a confirmation code to a phone number (E.164); current_password is required while the account has no second factor", Request: phoneRequest{}, Status: 202,
		Errors: []int{401, 403, 422, 429, 503}}, h.Auth.Require(h.smsEnroll))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/mfa/sms/confirm", ID: "smsConfirm", Tag: me, Bearer: true,
		Summary: "Confirm the phone number with the texted code (codes count against the account's login throttle)", Request: codeRequest{}, Status: 204, Errors: []int{401, 422, 429}},
		h.Auth.Require(h.smsConfirm))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/webauthn/register/begin", ID: "webauthnRegisterBegin", Tag: me, Bearer: true,
		Summary: "Start registering a passkey or security key; current_password is required while the account has no second factor", Request: registerBeginRequest{}, OptionalBody: true, Response: CeremonyResponse{},
		Errors: []int{401, 403, 422, 429}}, h.Auth.Require(h.registerBegin))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/me/webauthn/register/finish", ID: "webauthnRegisterFinish", Tag: me, Bearer: true,
		Summary: "Store the new credential (with backup codes, shown once, when it is the first factor); responses count against the account's login throttle", Request: webauthnFinishRequest{}, Status: 201, Response: RegisteredCredential{},
		Errors: []int{409, 422, 429}}, h.Auth.Require(h.registerFinish))
	rt.Handle(openapi.Operation{Method: "DELETE", Path: "/v1/me/webauthn/{id}", ID: "webauthnDelete", Tag: me, Bearer: true,
		Summary: "Remove a passkey or security key", Status: 204, Errors: []int{403, 404}}, h.Auth.Require(h.deleteCredential))
}

func (h *SecondFactors) challenge(w http.ResponseWriter, r *http.Request) error {
	var req mfaChallengeRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("mfa_token", req.MFAToken)
	if req.Method != mfa.MethodEmail && req.Method != mfa.MethodSMS {
		f.add("method", `must be "email" or "sms"`)
	}
	if err := f.err(); err != nil {
		return err
	}
	if err := h.MFA.SendLoginCode(r.Context(), reqinfo.From(r.Context()).IP, req.MFAToken, req.Method); err != nil {
		return domainError(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *SecondFactors) verify(w http.ResponseWriter, r *http.Request) error {
	var req mfaVerifyRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("mfa_token", req.MFAToken)
	switch req.Method {
	case mfa.MethodTOTP, mfa.MethodBackup, mfa.MethodEmail, mfa.MethodSMS:
	default:
		f.add("method", `must be "totp", "backup_code", "email" or "sms"`)
	}
	f.checkCode("code", req.Code)
	if err := f.err(); err != nil {
		return err
	}
	tokens, err := h.MFA.Verify(r.Context(), req.MFAToken, req.Method, req.Code, device(r))
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, tokenView(tokens))
}

func (h *SecondFactors) stepUpBegin(w http.ResponseWriter, r *http.Request) error {
	var req mfaTokenRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("mfa_token", req.MFAToken)
	if err := f.err(); err != nil {
		return err
	}
	c, err := h.MFA.BeginStepUp(r.Context(), reqinfo.From(r.Context()).IP, req.MFAToken)
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, CeremonyResponse{ChallengeID: c.ID, Options: c.Options})
}

func (h *SecondFactors) stepUpFinish(w http.ResponseWriter, r *http.Request) error {
	var req mfaWebAuthnFinishRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("mfa_token", req.MFAToken)
	f.checkID("challenge_id", req.ChallengeID)
	f.checkCredential("credential", req.Credential)
	if err := f.err(); err != nil {
		return err
	}
	tokens, err := h.MFA.FinishStepUp(r.Context(), req.MFAToken, req.ChallengeID, req.Credential, device(r))
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, tokenView(tokens))
}

func (h *SecondFactors) passkeyBegin(w http.ResponseWriter, r *http.Request) error {
	var req passkeyBeginRequest
	if r.ContentLength != 0 {
		if err := jsonbody.Decode(r, &req); err != nil {
			return err
		}
	}
	if req.Email != "" {
		var f fields
		f.checkEmail("email", req.Email)
		if err := f.err(); err != nil {
			return err
		}
	}
	// The email is checked but not used: the login is discoverable whatever it names.
	c, err := h.MFA.BeginLogin(r.Context(), reqinfo.From(r.Context()).IP)
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, CeremonyResponse{ChallengeID: c.ID, Options: c.Options})
}

func (h *SecondFactors) passkeyFinish(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeFinish(r)
	if err != nil {
		return err
	}
	tokens, err := h.MFA.FinishLogin(r.Context(), req.ChallengeID, req.Credential, device(r))
	if err != nil {
		if errors.Is(err, mfa.ErrWebAuthn) {
			return problem.InvalidCredentials()
		}
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, tokenView(tokens))
}

// decodeFinish reads the {challenge_id, credential} body that ends a WebAuthn ceremony.
func decodeFinish(r *http.Request) (webauthnFinishRequest, error) {
	var req webauthnFinishRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return req, err
	}
	var f fields
	f.checkID("challenge_id", req.ChallengeID)
	f.checkCredential("credential", req.Credential)
	return req, f.err()
}
