package api

import (
	"github.com/gatehouse-id/gatehouse/internal/api/jsonbody"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/problem"
)

func (h *SecondFactors) status(w http.ResponseWriter, r *http.Request, p *Principal) error {
	st, err := h.MFA.Status(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	var out MFAStatus
	out.TOTP.Enabled = st.TOTP
	out.BackupCodes.Remaining = st.BackupCodes
	out.Email.Enabled = st.Email
	out.SMS.Enabled = st.SMS
	if st.SMS {
		out.SMS.Phone = &st.Phone
	}
	out.WebAuthn = []Credential{}
	for _, c := range st.Credentials {
		out.WebAuthn = append(out.WebAuthn, Credential{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)})
	}
	return writeJSON(w, http.StatusOK, out)
}

// firstFactorProof reads the optional {"current_password"} body of a route that may add
// the first second factor, and returns the caller's proof with it.
func firstFactorProof(r *http.Request, p *Principal) (mfa.Proof, error) {
	var req firstFactorRequest
	if r.ContentLength != 0 {
		if err := jsonbody.Decode(r, &req); err != nil {
			return mfa.Proof{}, err
		}
	}
	return proofWith(p, req.CurrentPassword)
}

// proofWith is the caller's proof with the current password they sent (checked for
// length here; against the stored hash by the mfa service when it is needed).
func proofWith(p *Principal, password string) (mfa.Proof, error) {
	if password != "" {
		var f fields
		f.checkPassword("current_password", password)
		if err := f.err(); err != nil {
			return mfa.Proof{}, err
		}
	}
	proof := p.proof()
	proof.Password = password
	return proof, nil
}

func (h *SecondFactors) totpEnroll(w http.ResponseWriter, r *http.Request, p *Principal) error {
	proof, err := firstFactorProof(r, p)
	if err != nil {
		return err
	}
	e, err := h.MFA.EnrollTOTP(r.Context(), p.UserID, proof)
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, TOTPEnrollment{Secret: e.Secret, OTPAuthURL: e.OTPAuthURL, QRPNG: e.QRPNG})
}

func (h *SecondFactors) totpConfirm(w http.ResponseWriter, r *http.Request, p *Principal) error {
	code, err := decodeCode(r)
	if err != nil {
		return err
	}
	codes, err := h.MFA.ConfirmTOTP(r.Context(), p.UserID, p.SessionID, code)
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, BackupCodes{BackupCodes: codes})
}

func (h *SecondFactors) totpDisable(w http.ResponseWriter, r *http.Request, p *Principal) error {
	code, err := decodeCode(r)
	if err != nil {
		return err
	}
	if err := h.MFA.DisableTOTP(r.Context(), p.UserID, p.SessionID, code); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *SecondFactors) backupCodes(w http.ResponseWriter, r *http.Request, p *Principal) error {
	codes, err := h.MFA.RegenerateBackupCodes(r.Context(), p.UserID, p.proof())
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, BackupCodes{BackupCodes: codes})
}

func (h *SecondFactors) emailEnable(w http.ResponseWriter, r *http.Request, p *Principal) error {
	proof, err := firstFactorProof(r, p)
	if err != nil {
		return err
	}
	if err := h.MFA.EnableEmail(r.Context(), p.UserID, p.SessionID, proof); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *SecondFactors) smsEnroll(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req phoneRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	if !e164.MatchString(req.Phone) {
		return problem.Validation(problem.FieldError{Field: "phone", Message: "must be an E.164 number such as +14155550123"})
	}
	proof, err := proofWith(p, req.CurrentPassword)
	if err != nil {
		return err
	}
	if err := h.MFA.StartSMS(r.Context(), p.UserID, proof, req.Phone); err != nil {
		return domainError(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *SecondFactors) smsConfirm(w http.ResponseWriter, r *http.Request, p *Principal) error {
	code, err := decodeCode(r)
	if err != nil {
		return err
	}
	if err := h.MFA.ConfirmSMS(r.Context(), p.UserID, p.SessionID, code); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *SecondFactors) registerBegin(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req registerBeginRequest
	if r.ContentLength != 0 {
		if err := jsonbody.Decode(r, &req); err != nil {
			return err
		}
	}
	var f fields
	f.checkText("name", req.Name, 100)
	if err := f.err(); err != nil {
		return err
	}
	proof, err := proofWith(p, req.CurrentPassword)
	if err != nil {
		return err
	}
	c, err := h.MFA.BeginRegistration(r.Context(), p.UserID, proof, req.Name)
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, CeremonyResponse{ChallengeID: c.ID, Options: c.Options})
}

func (h *SecondFactors) registerFinish(w http.ResponseWriter, r *http.Request, p *Principal) error {
	req, err := decodeFinish(r)
	if err != nil {
		return err
	}
	c, err := h.MFA.FinishRegistration(r.Context(), p.UserID, p.SessionID, req.ChallengeID, req.Credential)
	if err != nil {
		return domainError(err)
	}
	out := RegisteredCredential{Credential: Credential{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano)},
		BackupCodes: c.BackupCodes}
	return writeSecret(w, http.StatusCreated, out)
}

func (h *SecondFactors) deleteCredential(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id := r.PathValue("id")
	if !validID(id) {
		return problem.NotFound()
	}
	if err := h.MFA.DeleteCredential(r.Context(), p.UserID, p.SessionID, p.proof(), id); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

// decodeCode reads a {"code"} body.
func decodeCode(r *http.Request) (string, error) {
	var req codeRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return "", err
	}
	var f fields
	f.checkCode("code", req.Code)
	return req.Code, f.err()
}
