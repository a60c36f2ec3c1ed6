package oidc

import "github.com/gatehouse-id/gatehouse/internal/audit"

// Actions of the OpenID provider, in the audit log.
const (
	GrantStarted   audit.Action = "oauth.grant.started"
	CodeReused     audit.Action = "oauth.code.reused"
	TokenRevoked   audit.Action = "oauth.token.revoked"
	ConsentGiven   audit.Action = "oauth.consent.granted"
	ConsentRevoked audit.Action = "oauth.consent.revoked"
	SignedOut      audit.Action = "oauth.end_session"
)
