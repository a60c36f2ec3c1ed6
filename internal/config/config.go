// Package config holds Gatehouse's one validated configuration struct and loads it
// from flags, GATEHOUSE_* environment variables and an optional YAML file, in that
// order of precedence.
package config

import (
	"net/netip"
	"time"
)

// Environment names.
const (
	Development = "development"
	Production  = "production"
)

// Config is every setting the service reads. Load fills it; Validate checks it.
type Config struct {
	Env         string
	ProductName string
	Issuer      string
	HTTPAddr    string
	DataDir     string

	DatabaseURL      string
	DatabaseMaxConns int

	// MasterKey encrypts secrets at rest (signing keys, TOTP secrets). 32 bytes.
	MasterKey []byte

	LogLevel  string
	DebugAddr string

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration

	CORSOrigins    []string
	TrustedProxies []netip.Prefix

	AccessTokenTTL  time.Duration
	AccessTokenAud  string
	RefreshIdleTTL  time.Duration
	SessionTTL      time.Duration
	SigningAlg      string
	KeyRotation     time.Duration
	SessionCacheTTL time.Duration
	ReauthMaxAge    time.Duration

	WebAuthnRPID    string
	WebAuthnOrigins []string

	PasswordMinLength int
	Argon2MemoryKiB   uint32
	Argon2Iterations  uint32
	Argon2Parallelism uint8
	HashWorkers       int
	HashQueue         int

	LimitLoginFailuresPerAccount int
	LimitLoginFailuresPerIP      int
	LimitWindow                  time.Duration
	LimitIPPerMinute             int
	LimitIPv6Prefix              int

	AuditCheckpointInterval time.Duration

	RequireVerifiedEmail bool

	// BootstrapAdminEmail and BootstrapAdminPassword name the administrator created at a
	// start that finds none (both or neither).
	BootstrapAdminEmail    string
	BootstrapAdminPassword string

	// ImportFirebase* are a Firebase project's password hash parameters, for imports.
	ImportFirebaseSignerKey     string
	ImportFirebaseSaltSeparator string
	ImportFirebaseRounds        int
	ImportFirebaseMemCost       int

	EmailLinkBase string
	SMTPURL       string
	SMTPFrom      string
	SMTPCAFile    string
	SMSWebhookURL string

	// explicit records which settings were given by a flag, the environment or the file
	// rather than taken from a default; production mode needs some to be explicit.
	explicit map[string]bool
}

// IsProduction reports whether production mode (strict checks) is on.
func (c *Config) IsProduction() bool { return c.Env == Production }

// Explicit reports whether the setting with this environment name was set by the operator.
func (c *Config) Explicit(env string) bool { return c.explicit[env] }
