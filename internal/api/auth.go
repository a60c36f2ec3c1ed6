package api

import (
	"github.com/gatehouse-id/gatehouse/internal/api/jsonbody"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/api/openapi"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// Accounts serves the public account routes (/v1/auth/...).
type Accounts struct {
	Accounts *account.Service
	Sessions *session.Service
	Auth     *Authenticator
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name,omitempty"`
}

type tokenRequest struct {
	Token string `json:"token"`
}

type emailRequest struct {
	Email string `json:"email"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	OrgID    string `json:"org_id,omitempty"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	OrgID        string `json:"org_id,omitempty"`
}

type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

type emptyRequest struct{}

const maxName = 200

// Mount registers the routes.
func (h *Accounts) Mount(rt *Router) {
	tag := "accounts"
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/register", ID: "register", Tag: tag,
		Summary: "Create an account and email a verification link", Request: registerRequest{}, Status: 201, Response: UserEnvelope{},
		Errors: []int{409, 422, 429, 503}}, h.register)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/verify-email", ID: "verifyEmail", Tag: tag,
		Summary: "Verify an email address with the emailed token", Request: tokenRequest{}, Response: UserEnvelope{},
		Errors: []int{422, 429}}, h.verifyEmail)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/verify-email/resend", ID: "resendVerification", Tag: tag,
		Summary: "Email a new verification link (202 whether or not the account exists)", Request: emailRequest{}, Status: 202,
		Errors: []int{422, 429}}, h.resend)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/login", ID: "login", Tag: tag,
		Summary: "Sign in with email and password (tokens, or mfa_required for accounts with a second factor)", Request: loginRequest{}, Response: LoginResponse{},
		Errors: []int{401, 403, 422, 429, 503}}, h.login)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/token/refresh", ID: "refresh", Tag: tag,
		Summary: "Exchange a refresh token for new tokens (rotation; reuse revokes the session)", Request: refreshRequest{},
		Response: TokenResponse{}, Errors: []int{401, 403, 422}}, h.refresh)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/logout", ID: "logout", Tag: tag, Bearer: true,
		Summary: "End the current session", Status: 204}, h.Auth.Require(h.logout))
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/password/forgot", ID: "forgotPassword", Tag: tag,
		Summary: "Email a password reset link (202 whether or not the account exists)", Request: emailRequest{}, Status: 202,
		Errors: []int{422, 429}}, h.forgot)
	rt.Handle(openapi.Operation{Method: "POST", Path: "/v1/auth/password/reset", ID: "resetPassword", Tag: tag,
		Summary: "Set a new password with the emailed token; ends every session and voids the user's other emailed tokens", Request: resetRequest{}, Status: 204,
		Errors: []int{422, 429, 503}}, h.reset)
}

func (h *Accounts) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkEmail("email", req.Email)
	f.checkRequired("password", req.Password)
	f.checkText("name", req.Name, maxName)
	if err := f.err(); err != nil {
		return err
	}
	u, err := h.Accounts.Register(r.Context(), reqinfo.From(r.Context()).IP, req.Email, req.Password, req.Name)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusCreated, UserEnvelope{User: userView(u)})
}

func (h *Accounts) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("token", req.Token)
	if err := f.err(); err != nil {
		return err
	}
	u, err := h.Accounts.VerifyEmail(r.Context(), reqinfo.From(r.Context()).IP, req.Token)
	if err != nil {
		return domainError(err)
	}
	return writeJSON(w, http.StatusOK, UserEnvelope{User: userView(u)})
}

func (h *Accounts) resend(w http.ResponseWriter, r *http.Request) error {
	email, err := decodeEmail(r)
	if err != nil {
		return err
	}
	if err := h.Accounts.ResendVerification(r.Context(), reqinfo.From(r.Context()).IP, email); err != nil {
		return domainError(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *Accounts) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkRequired("email", req.Email)
	f.checkPassword("password", req.Password)
	if len(req.Email) > maxEmail {
		f.add("email", "must have at most 254 characters")
	}
	f.checkID("org_id", req.OrgID)
	if err := f.err(); err != nil {
		return err
	}
	info := reqinfo.From(r.Context())
	res, err := h.Accounts.Login(r.Context(), account.LoginInput{Email: req.Email, Password: req.Password, OrgID: req.OrgID,
		Device: session.Device{IP: info.IP, UserAgent: info.UserAgent}})
	if err != nil {
		return domainError(err)
	}
	if res.MFA != nil {
		return writeSecret(w, http.StatusOK, MFARequired{MFARequired: true, MFAToken: res.MFA.Token, MFAMethods: res.MFA.Methods, ExpiresIn: res.MFA.ExpiresIn})
	}
	return writeSecret(w, http.StatusOK, tokenView(res.Tokens))
}

func (h *Accounts) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("refresh_token", req.RefreshToken)
	f.checkID("org_id", req.OrgID)
	if err := f.err(); err != nil {
		return err
	}
	tokens, err := h.Sessions.Refresh(r.Context(), req.RefreshToken, req.OrgID)
	if err != nil {
		return domainError(err)
	}
	return writeSecret(w, http.StatusOK, tokenView(tokens))
}

func (h *Accounts) logout(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if r.ContentLength != 0 {
		var req emptyRequest
		if err := jsonbody.Decode(r, &req); err != nil {
			return err
		}
	}
	if err := h.Sessions.Revoke(r.Context(), p.UserID, p.SessionID, session.ReasonLogout); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

func (h *Accounts) forgot(w http.ResponseWriter, r *http.Request) error {
	email, err := decodeEmail(r)
	if err != nil {
		return err
	}
	if err := h.Accounts.ForgotPassword(r.Context(), reqinfo.From(r.Context()).IP, email); err != nil {
		return domainError(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *Accounts) reset(w http.ResponseWriter, r *http.Request) error {
	var req resetRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return err
	}
	var f fields
	f.checkToken("token", req.Token)
	f.checkRequired("password", req.Password)
	if err := f.err(); err != nil {
		return err
	}
	if err := h.Accounts.ResetPassword(r.Context(), reqinfo.From(r.Context()).IP, req.Token, req.Password); err != nil {
		return domainError(err)
	}
	return noContent(w)
}

// decodeEmail reads an {"email"} body.
func decodeEmail(r *http.Request) (string, error) {
	var req emailRequest
	if err := jsonbody.Decode(r, &req); err != nil {
		return "", err
	}
	var f fields
	f.checkEmail("email", req.Email)
	return req.Email, f.err()
}
