// Package audit records security events as append-only, hash-chained rows written in the
// transaction of the change they describe, and verifies the chain.
package audit

// Action names a security event. Dotted, stable: operators alert on them.
type Action string

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

const (
	UserRegistered        Action = "user.registered"
	UserEmailVerified     Action = "user.email_verified"
	UserUpdated           Action = "user.updated"
	UserLoginSucceeded    Action = "user.login.succeeded"
	UserLoginFailed       Action = "user.login.failed"
	UserLoginThrottled    Action = "user.login.throttled"
	UserLocked            Action = "user.locked"
	UserLogout            Action = "user.logout"
	UserPasswordChanged   Action = "user.password.changed"
	UserPasswordReset     Action = "user.password.reset"
	UserPasswordResetSent Action = "user.password.reset_requested"
	UserPasswordUpgraded  Action = "user.password.rehashed"
	UserReauthFailed      Action = "user.reauth.failed" // a wrong current password where a change asked for it
	VerificationSent      Action = "user.verification.sent"
	SessionRevoked        Action = "session.revoked"
	TokenRefreshReused    Action = "token.refresh.reused"
	KeyGenerated          Action = "key.generated"
	KeyRotated            Action = "key.rotated"
)

// Organization events.
const (
	OrgCreated            Action = "org.created"
	OrgUpdated            Action = "org.updated"
	OrgDeleted            Action = "org.deleted"
	OrgPolicyChanged      Action = "org.policy.changed"
	OrgMemberInvited      Action = "org.member.invited"
	OrgInvitationRevoked  Action = "org.invitation.revoked"
	OrgMemberJoined       Action = "org.member.joined"
	OrgMemberRemoved      Action = "org.member.removed"
	OrgMemberRolesChanged Action = "org.member.roles_changed"
	OrgRoleDefined        Action = "org.role.defined"
	OrgRoleDeleted        Action = "org.role.deleted"
)

// Second-factor events.
const (
	MFAChallenged        Action = "user.login.mfa_required"
	MFAFailed            Action = "user.login.mfa_failed"
	MFATOTPEnrolled      Action = "mfa.totp.enrolled"
	MFATOTPEnabled       Action = "mfa.totp.enabled"
	MFATOTPDisabled      Action = "mfa.totp.disabled"
	MFABackupRegenerated Action = "mfa.backup_codes.regenerated"
	MFABackupUsed        Action = "mfa.backup_code.used"
	MFAEmailEnabled      Action = "mfa.email.enabled"
	MFASMSEnrolled       Action = "mfa.sms.enrolled"
	MFASMSEnabled        Action = "mfa.sms.enabled"
	MFACodeSent          Action = "mfa.code.sent"
	MFAWebAuthnAdded     Action = "mfa.webauthn.added"
	MFAWebAuthnRemoved   Action = "mfa.webauthn.removed"
	MFADisabled          Action = "mfa.disabled"
	MFAReset             Action = "mfa.reset"
	UserLoginPasskey     Action = "user.login.passkey"
)

// Administration events: an instance administrator's actions (actor empty and details
// {"via": "cli"} for the command line; the bootstrap administrator's creation says
// {"via": "bootstrap"}).
const (
	AdminUserCreated         Action = "admin.user.created"
	AdminUserPromoted        Action = "admin.user.promoted"
	AdminClientCreated       Action = "admin.client.created"
	AdminClientUpdated       Action = "admin.client.updated"
	AdminClientDeleted       Action = "admin.client.deleted"
	AdminClientSecretRotated Action = "admin.client.secret_rotated"
)

// Audit log events.
const (
	// AuditChainRekeyed: rows written before the chain was keyed were checked with the
	// old unkeyed hash and chained again with the keyed one (once, at upgrade).
	AuditChainRekeyed Action = "audit.chain.rekeyed"
	// AuditLateAccepted: the operator had rows chained that were older than the chainer
	// accepts on its own (see Chainer.AcceptLate).
	AuditLateAccepted Action = "audit.chain.late_accepted"
)
