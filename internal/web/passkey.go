package web

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/logging"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// Passkeys need the browser's WebAuthn API, so passkey.js drives these JSON endpoints:
// a begin returns the options for navigator.credentials, a finish takes the
// authenticator's answer. They are page endpoints, not /v1: the session is the cookie,
// the CSRF token comes in a header, and a finished sign-in answers where to go next.

type jsonHandler func(w http.ResponseWriter, r *http.Request) (any, error)

// ceremony is a begin's answer.
type ceremony struct {
	ChallengeID string `json:"challenge_id"`
	Options     any    `json:"options"`
}

// finishRequest ends a ceremony; a sign-in carries its flow.
type finishRequest struct {
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
	AuthRequest string          `json:"auth_request,omitempty"`
	Return      string          `json:"return,omitempty"`
}

func (f finishRequest) flow() flow {
	out := flow{Return: safeReturn(f.Return)}
	if requestIDShape.MatchString(f.AuthRequest) {
		out.AuthRequest = f.AuthRequest
	}
	return out
}

// next is a finished step's answer: where the script sends the browser.
type next struct {
	Redirect    string   `json:"redirect"`
	BackupCodes []string `json:"backup_codes,omitempty"`
}

type jsonError struct {
	Error    string `json:"error"`
	Redirect string `json:"redirect,omitempty"`
}

func (p *Pages) serveJSON(h jsonHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logging.From(r.Context()).ErrorContext(r.Context(), "panic serving a passkey step", "path", r.URL.Path)
				p.writeJSONError(w, r, errors.New("panic"))
			}
		}()
		if err := p.checkPost(r, r.Header.Get("X-CSRF-Token")); err != nil {
			p.writeJSONError(w, r, err)
			return
		}
		out, err := h(w, r)
		if err != nil {
			p.writeJSONError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Pages) writeJSONError(w http.ResponseWriter, r *http.Request, err error) {
	ue := explain(err)
	if ue == nil {
		logging.From(r.Context()).ErrorContext(r.Context(), "passkey step failed", "path", r.URL.Path, "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, jsonError{Error: "An unexpected error occurred. Request id: " + reqinfo.From(r.Context()).RequestID})
		return
	}
	setRetry(w, ue)
	out := jsonError{Error: ue.msg}
	if ue == errExpiredMFA {
		out.Redirect = "/login"
	}
	writeJSON(w, ue.status, out)
}

var errBadBody = fail(http.StatusBadRequest, "The request was not understood. Reload the page and try again.")

// decode reads a JSON body (a begin may have none).
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errBadBody
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return errBadBody
	}
	return nil
}

func decodeFinish(r *http.Request) (finishRequest, error) {
	var req finishRequest
	if err := decode(r, &req); err != nil {
		return req, err
	}
	if req.ChallengeID == "" || len(req.Credential) == 0 || req.Credential[0] != '{' {
		return req, errBadBody
	}
	return req, nil
}

func (p *Pages) passkeyBegin(w http.ResponseWriter, r *http.Request) (any, error) {
	c, err := p.MFA.BeginLogin(r.Context(), clientIP(r))
	if err != nil {
		return nil, err
	}
	return ceremony{ChallengeID: c.ID, Options: c.Options}, nil
}

var errPasskeyRefused = fail(http.StatusUnauthorized, "This passkey was not accepted. Try again, or sign in with your password.")

func (p *Pages) passkeyFinish(w http.ResponseWriter, r *http.Request) (any, error) {
	req, err := decodeFinish(r)
	if err != nil {
		return nil, err
	}
	tokens, err := p.MFA.FinishLogin(r.Context(), req.ChallengeID, req.Credential, device(r))
	if errors.Is(err, mfa.ErrWebAuthn) {
		return nil, errPasskeyRefused
	}
	if err != nil {
		return nil, err
	}
	return p.finishSignIn(w, r, tokens, req.flow())
}

func (p *Pages) stepUpBegin(w http.ResponseWriter, r *http.Request) (any, error) {
	pd, ok := p.pending(r)
	if !ok {
		return nil, errExpiredMFA
	}
	c, err := p.MFA.BeginStepUp(r.Context(), clientIP(r), pd.Token)
	if err != nil {
		return nil, err
	}
	return ceremony{ChallengeID: c.ID, Options: c.Options}, nil
}

func (p *Pages) stepUpFinish(w http.ResponseWriter, r *http.Request) (any, error) {
	pd, ok := p.pending(r)
	if !ok {
		return nil, errExpiredMFA
	}
	req, err := decodeFinish(r)
	if err != nil {
		return nil, err
	}
	tokens, err := p.MFA.FinishStepUp(r.Context(), pd.Token, req.ChallengeID, req.Credential, device(r))
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		return nil, errPasskeyRefused
	case errors.Is(err, mfa.ErrInvalidToken):
		p.jar.clear(w, mfaCookie)
		return nil, errExpiredMFA
	case err != nil:
		return nil, err
	}
	p.jar.clear(w, mfaCookie)
	return p.finishSignIn(w, r, tokens, req.flow())
}

func (p *Pages) finishSignIn(w http.ResponseWriter, r *http.Request, tokens *session.Tokens, f flow) (any, error) {
	sess, err := p.signIn(w, r, tokens)
	if err != nil {
		return nil, err
	}
	to, err := p.next(r.Context(), f, sess)
	if err != nil {
		return nil, err
	}
	return next{Redirect: to}, nil
}

var errSignedOut = fail(http.StatusUnauthorized, "You are signed out. Reload the page and sign in again.")

type registerBegin struct {
	Name            string `json:"name"`
	CurrentPassword string `json:"current_password"`
}

func (p *Pages) registerPasskeyBegin(w http.ResponseWriter, r *http.Request) (any, error) {
	sess, err := p.session(r)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, errSignedOut
	}
	var req registerBegin
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if !plainText(req.Name, 100) {
		return nil, fail(http.StatusUnprocessableEntity, "The passkey's name must be at most 100 characters of plain text.")
	}
	pr := proof(r, sess)
	pr.Password = req.CurrentPassword
	c, err := p.MFA.BeginRegistration(r.Context(), sess.UserID, pr, req.Name)
	if err != nil {
		return nil, err
	}
	return ceremony{ChallengeID: c.ID, Options: c.Options}, nil
}

func (p *Pages) registerPasskeyFinish(w http.ResponseWriter, r *http.Request) (any, error) {
	sess, err := p.session(r)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, errSignedOut
	}
	req, err := decodeFinish(r)
	if err != nil {
		return nil, err
	}
	cred, err := p.MFA.FinishRegistration(r.Context(), sess.UserID, sess.ID, req.ChallengeID, req.Credential)
	if err != nil {
		return nil, err
	}
	return next{Redirect: "/account?done=passkey_added", BackupCodes: cred.BackupCodes}, nil
}
