package api

import (
	"encoding/json"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// User is the public view of an account.
type User struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	MFAEnabled    bool      `json:"mfa_enabled"`
	CreatedAt     time.Time `json:"created_at"`
}

func userView(u *store.User) User {
	return User{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, MFAEnabled: u.MFAEnabled, CreatedAt: u.CreatedAt.UTC()}
}

// UserEnvelope wraps a user.
type UserEnvelope struct {
	User User `json:"user"`
}

// TokenResponse is returned by every call that starts or refreshes a session.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
}

func tokenView(t *session.Tokens) TokenResponse {
	return TokenResponse{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn, RefreshToken: t.RefreshToken, SessionID: t.SessionID}
}

// Session is one signed-in device of the caller.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// AuditEvent is one audit log row.
type AuditEvent struct {
	ID         string          `json:"id"`
	Time       time.Time       `json:"time"`
	Action     string          `json:"action"`
	ActorID    *string         `json:"actor_id"`
	OrgID      *string         `json:"org_id"`
	TargetType *string         `json:"target_type"`
	TargetID   *string         `json:"target_id"`
	IP         *string         `json:"ip"`
	UserAgent  *string         `json:"user_agent"`
	RequestID  *string         `json:"request_id"`
	Outcome    string          `json:"outcome"`
	Details    json.RawMessage `json:"details"`
}

func auditView(e *store.AuditEvent) AuditEvent {
	details := json.RawMessage(e.Details)
	if !json.Valid(details) {
		details = json.RawMessage("{}")
	}
	return AuditEvent{ID: e.ID, Time: e.Time.UTC(), Action: e.Action, ActorID: opt(e.ActorID), OrgID: opt(e.OrgID),
		TargetType: opt(e.TargetType), TargetID: opt(e.TargetID), IP: opt(e.IP), UserAgent: opt(e.UserAgent),
		RequestID: opt(e.RequestID), Outcome: e.Outcome, Details: details}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// MFARequired is the login answer for an account with a second factor.
type MFARequired struct {
	MFARequired bool     `json:"mfa_required"`
	MFAToken    string   `json:"mfa_token"`
	MFAMethods  []string `json:"mfa_methods"`
	ExpiresIn   int      `json:"expires_in"`
}

// LoginResponse documents the two shapes a login answers with: tokens, or the MFA step.
type LoginResponse struct {
	AccessToken  string   `json:"access_token,omitempty" doc:"with tokens"`
	TokenType    string   `json:"token_type,omitempty"`
	ExpiresIn    int      `json:"expires_in"`
	RefreshToken string   `json:"refresh_token,omitempty"`
	SessionID    string   `json:"session_id,omitempty"`
	MFARequired  bool     `json:"mfa_required,omitempty" doc:"true when a second factor is needed"`
	MFAToken     string   `json:"mfa_token,omitempty"`
	MFAMethods   []string `json:"mfa_methods,omitempty"`
}
