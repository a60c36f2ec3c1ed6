package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Setting describes one configuration value: where it comes from, its default and how
// it is parsed into Config. The table below is the single source for flags, environment
// names, YAML keys, help text and the README's configuration reference.
type Setting struct {
	Env     string // GATEHOUSE_HTTP_ADDR
	Default string
	Help    string
	// Secret settings are never accepted as flags (they would show in `ps`) and are
	// never printed.
	Secret bool
	apply  func(c *Config, v string) error
}

// Key is the YAML key: the environment name without the prefix, lower case.
func (s Setting) Key() string { return strings.ToLower(strings.TrimPrefix(s.Env, "GATEHOUSE_")) }

// Flag is the command-line flag name: the key with dashes.
func (s Setting) Flag() string { return strings.ReplaceAll(s.Key(), "_", "-") }

// Settings lists every setting, in the order the README documents them.
var Settings = []Setting{
	{Env: "GATEHOUSE_ENV", Default: Development, Help: "development (zero configuration) or production (strict checks)",
		apply: func(c *Config, v string) error {
			if v != Development && v != Production {
				return fmt.Errorf("must be %q or %q", Development, Production)
			}
			c.Env = v
			return nil
		}},
	{Env: "GATEHOUSE_PRODUCT_NAME", Default: "Gatehouse", Help: "name shown in emails, pages and authenticator apps",
		apply: func(c *Config, v string) error { return nonEmpty(&c.ProductName, v) }},
	{Env: "GATEHOUSE_ISSUER", Default: "http://127.0.0.1:8080", Help: "public base URL; the `iss` of every token (no trailing slash)",
		apply: func(c *Config, v string) error { return parseIssuer(&c.Issuer, v) }},
	{Env: "GATEHOUSE_HTTP_ADDR", Default: "127.0.0.1:8080", Help: "host:port to listen on",
		apply: func(c *Config, v string) error { return parseAddr(&c.HTTPAddr, v) }},
	{Env: "GATEHOUSE_DATA_DIR", Default: "./data", Help: "directory for the development database and generated master key",
		apply: func(c *Config, v string) error { return nonEmpty(&c.DataDir, v) }},
	{Env: "GATEHOUSE_DATABASE_URL", Default: "sqlite://./data/gatehouse.db", Help: "sqlite://path or postgres://user@host:5432/db", Secret: true,
		apply: func(c *Config, v string) error { return parseDatabaseURL(&c.DatabaseURL, v) }},
	{Env: "GATEHOUSE_DATABASE_MAX_CONNS", Default: "10", Help: "PostgreSQL connection pool size",
		apply: func(c *Config, v string) error { return parseInt(&c.DatabaseMaxConns, v, 1, 1000) }},
	{Env: "GATEHOUSE_MASTER_KEY", Help: "32 bytes, base64: encrypts signing keys and TOTP secrets at rest; generated into the data directory in development", Secret: true,
		apply: func(c *Config, v string) error { return parseMasterKey(&c.MasterKey, v) }},
	{Env: "GATEHOUSE_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error",
		apply: func(c *Config, v string) error { return oneOf(&c.LogLevel, v, "debug", "info", "warn", "error") }},
	{Env: "GATEHOUSE_DEBUG_ADDR", Help: "host:port for net/http/pprof profiles (off by default; keep it on loopback)",
		apply: func(c *Config, v string) error { return parseAddr(&c.DebugAddr, v) }},
	{Env: "GATEHOUSE_HTTP_READ_HEADER_TIMEOUT", Default: "5s", Help: "time allowed to read request headers",
		apply: func(c *Config, v string) error { return parseDuration(&c.ReadHeaderTimeout, v, time.Second, time.Hour) }},
	{Env: "GATEHOUSE_HTTP_READ_TIMEOUT", Default: "15s", Help: "time allowed to read a whole request",
		apply: func(c *Config, v string) error { return parseDuration(&c.ReadTimeout, v, time.Second, time.Hour) }},
	{Env: "GATEHOUSE_HTTP_WRITE_TIMEOUT", Default: "30s", Help: "time allowed to write a response",
		apply: func(c *Config, v string) error { return parseDuration(&c.WriteTimeout, v, time.Second, time.Hour) }},
	{Env: "GATEHOUSE_HTTP_IDLE_TIMEOUT", Default: "120s", Help: "keep-alive idle timeout",
		apply: func(c *Config, v string) error { return parseDuration(&c.IdleTimeout, v, time.Second, time.Hour) }},
	{Env: "GATEHOUSE_SHUTDOWN_TIMEOUT", Default: "20s", Help: "how long in-flight requests may run after SIGTERM",
		apply: func(c *Config, v string) error { return parseDuration(&c.ShutdownTimeout, v, 0, time.Hour) }},
	{Env: "GATEHOUSE_CORS_ORIGINS", Help: "comma-separated origins allowed by CORS (none by default)",
		apply: func(c *Config, v string) error { return parseOrigins(&c.CORSOrigins, v) }},
	{Env: "GATEHOUSE_TRUSTED_PROXIES", Help: "comma-separated CIDRs whose X-Forwarded-For is believed (none by default)",
		apply: func(c *Config, v string) error { return parsePrefixes(&c.TrustedProxies, v) }},
	{Env: "GATEHOUSE_ACCESS_TOKEN_TTL", Default: "15m", Help: "access token lifetime",
		apply: func(c *Config, v string) error { return parseDuration(&c.AccessTokenTTL, v, time.Minute, 24*time.Hour) }},
	{Env: "GATEHOUSE_ACCESS_TOKEN_AUDIENCE", Help: "`aud` of access tokens (default: the issuer)",
		apply: func(c *Config, v string) error { c.AccessTokenAud = v; return nil }},
	{Env: "GATEHOUSE_REFRESH_IDLE_TTL", Default: "720h", Help: "a session unused this long ends",
		apply: func(c *Config, v string) error {
			return parseDuration(&c.RefreshIdleTTL, v, time.Minute, 24*365*time.Hour)
		}},
	{Env: "GATEHOUSE_SESSION_TTL", Default: "2160h", Help: "absolute session lifetime",
		apply: func(c *Config, v string) error {
			return parseDuration(&c.SessionTTL, v, time.Minute, 24*3650*time.Hour)
		}},
	{Env: "GATEHOUSE_SIGNING_ALG", Default: "RS256", Help: "RS256, ES256 or EdDSA",
		apply: func(c *Config, v string) error { return oneOf(&c.SigningAlg, v, "RS256", "ES256", "EdDSA") }},
	{Env: "GATEHOUSE_SIGNING_KEY_ROTATION", Default: "2160h", Help: "rotate the active signing key this often (0 turns automatic rotation off)",
		apply: func(c *Config, v string) error { return parseDuration(&c.KeyRotation, v, 0, 24*3650*time.Hour) }},
	{Env: "GATEHOUSE_WEBAUTHN_RP_ID", Help: "WebAuthn relying-party id (default: the issuer's host name)",
		apply: func(c *Config, v string) error { c.WebAuthnRPID = v; return nil }},
	{Env: "GATEHOUSE_WEBAUTHN_ORIGINS", Help: "comma-separated origins allowed in WebAuthn ceremonies (default: the issuer's origin)",
		apply: func(c *Config, v string) error { return parseOrigins(&c.WebAuthnOrigins, v) }},
	{Env: "GATEHOUSE_SESSION_CACHE_TTL", Default: "5s", Help: "how long a session's liveness is cached on /v1 calls (at most 5s)",
		apply: func(c *Config, v string) error { return parseDuration(&c.SessionCacheTTL, v, 0, 5*time.Second) }},
	{Env: "GATEHOUSE_REAUTH_MAX_AGE", Default: "15m", Help: "second factors can be added, and backup codes or passkeys changed, only this long after signing in (1m to 24h)",
		apply: func(c *Config, v string) error { return parseDuration(&c.ReauthMaxAge, v, time.Minute, 24*time.Hour) }},
	{Env: "GATEHOUSE_PASSWORD_MIN_LENGTH", Default: "12", Help: "minimum password length in characters (8 to 64)",
		apply: func(c *Config, v string) error { return parseInt(&c.PasswordMinLength, v, 8, 64) }},
	{Env: "GATEHOUSE_ARGON2_MEMORY_KIB", Default: "19456", Help: "argon2id memory per hash, KiB",
		apply: func(c *Config, v string) error { return parseUint32(&c.Argon2MemoryKiB, v, 8, 4<<20) }},
	{Env: "GATEHOUSE_ARGON2_ITERATIONS", Default: "2", Help: "argon2id passes",
		apply: func(c *Config, v string) error { return parseUint32(&c.Argon2Iterations, v, 1, 100) }},
	{Env: "GATEHOUSE_ARGON2_PARALLELISM", Default: "1", Help: "argon2id lanes",
		apply: func(c *Config, v string) error {
			var n int
			if err := parseInt(&n, v, 1, 64); err != nil {
				return err
			}
			c.Argon2Parallelism = uint8(n)
			return nil
		}},
	{Env: "GATEHOUSE_HASH_WORKERS", Default: "0", Help: "concurrent password hashes (0: one per CPU)",
		apply: func(c *Config, v string) error { return parseInt(&c.HashWorkers, v, 0, 1024) }},
	{Env: "GATEHOUSE_HASH_QUEUE", Default: "256", Help: "password hashes allowed to wait for a worker before 503",
		apply: func(c *Config, v string) error { return parseInt(&c.HashQueue, v, 0, 100000) }},
	{Env: "GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", Default: "5", Help: "failed logins per account per window before 429",
		apply: func(c *Config, v string) error { return parseInt(&c.LimitLoginFailuresPerAccount, v, 1, 1000000) }},
	{Env: "GATEHOUSE_LIMIT_LOGIN_FAILURES_PER_IP", Default: "100", Help: "failed logins per client IP per window before 429",
		apply: func(c *Config, v string) error { return parseInt(&c.LimitLoginFailuresPerIP, v, 1, 1000000) }},
	{Env: "GATEHOUSE_LIMIT_WINDOW", Default: "15m", Help: "login throttling window",
		apply: func(c *Config, v string) error { return parseDuration(&c.LimitWindow, v, time.Second, 24*time.Hour) }},
	{Env: "GATEHOUSE_LIMIT_IP_PER_MINUTE", Default: "20", Help: "unauthenticated requests that write (register, verify, resend, forgot, reset, MFA challenges, passkey begins) per client IP per minute",
		apply: func(c *Config, v string) error { return parseInt(&c.LimitIPPerMinute, v, 1, 1000000) }},
	{Env: "GATEHOUSE_LIMIT_IPV6_PREFIX", Default: "64", Help: "per-IP limits count an IPv6 client by this many leading bits of its address (32 to 128); IPv4 by the whole address",
		apply: func(c *Config, v string) error { return parseInt(&c.LimitIPv6Prefix, v, 32, 128) }},
	{Env: "GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL", Default: "1m", Help: "how often the audit chain's head is logged as a checkpoint for `gatehouse audit verify --checkpoint`",
		apply: func(c *Config, v string) error {
			return parseDuration(&c.AuditCheckpointInterval, v, time.Second, 24*time.Hour)
		}},
	{Env: "GATEHOUSE_REQUIRE_VERIFIED_EMAIL", Default: "false", Help: "refuse login until the email is verified",
		apply: func(c *Config, v string) error { return parseBool(&c.RequireVerifiedEmail, v) }},
	{Env: "GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", Help: "on a start that finds no administrator: the instance administrator to create (or the account with this email to promote), with GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD",
		apply: func(c *Config, v string) error { return parseEmail(&c.BootstrapAdminEmail, v) }},
	{Env: "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", Help: "the bootstrap administrator's password (it replaces the password of a promoted account, whose sessions end)", Secret: true,
		apply: func(c *Config, v string) error { return nonEmpty(&c.BootstrapAdminPassword, v) }},
	{Env: "GATEHOUSE_IMPORT_FIREBASE_SIGNER_KEY", Help: "for imports from Firebase: the project's base64_signer_key (console: Authentication, Users, Password hash parameters)", Secret: true,
		apply: func(c *Config, v string) error { return parseBase64(&c.ImportFirebaseSignerKey, v) }},
	{Env: "GATEHOUSE_IMPORT_FIREBASE_SALT_SEPARATOR", Help: "for imports from Firebase: the project's base64_salt_separator",
		apply: func(c *Config, v string) error { return parseBase64(&c.ImportFirebaseSaltSeparator, v) }},
	{Env: "GATEHOUSE_IMPORT_FIREBASE_ROUNDS", Help: "for imports from Firebase: the project's rounds (1 to 8)",
		apply: func(c *Config, v string) error { return parseInt(&c.ImportFirebaseRounds, v, 1, 8) }},
	{Env: "GATEHOUSE_IMPORT_FIREBASE_MEM_COST", Help: "for imports from Firebase: the project's mem_cost (1 to 14)",
		apply: func(c *Config, v string) error { return parseInt(&c.ImportFirebaseMemCost, v, 1, 14) }},
	{Env: "GATEHOUSE_EMAIL_LINK_BASE", Help: "base URL of the pages that receive emailed tokens (/verify-email, /password/reset, /invitations/accept?token=...); default: the issuer",
		apply: func(c *Config, v string) error { return parseHTTPURL(&c.EmailLinkBase, strings.TrimSuffix(v, "/")) }},
	{Env: "GATEHOUSE_SMTP_URL", Help: "smtp://user:pass@host:587 (STARTTLS required; smtps:// for implicit TLS; ?tls=none for a loopback relay only); unset in development: mail is logged", Secret: true,
		apply: func(c *Config, v string) error { return parseSMTPURL(&c.SMTPURL, v) }},
	{Env: "GATEHOUSE_SMTP_CA_FILE", Help: "PEM file of the CA that signs the mail server's certificate (default: the system's roots)",
		apply: func(c *Config, v string) error { c.SMTPCAFile = v; return nil }},
	{Env: "GATEHOUSE_SMTP_FROM", Help: "From address of outgoing mail (default: no-reply@ the issuer's host)",
		apply: func(c *Config, v string) error { c.SMTPFrom = v; return nil }},
	{Env: "GATEHOUSE_SMS_WEBHOOK_URL", Help: "URL that receives POST {\"to\",\"body\"} for each SMS; unset in development: SMS is logged", Secret: true,
		apply: func(c *Config, v string) error { return parseHTTPURL(&c.SMSWebhookURL, v) }},
}

// Lookup returns the setting with this environment name.
func Lookup(env string) (Setting, bool) {
	for _, s := range Settings {
		if s.Env == env {
			return s, true
		}
	}
	return Setting{}, false
}

func nonEmpty(dst *string, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("must not be empty")
	}
	*dst = v
	return nil
}

func parseEmail(dst *string, v string) error {
	v = strings.TrimSpace(v)
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Address != v || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		return fmt.Errorf("must be an email address such as admin@example.com")
	}
	*dst = v
	return nil
}

func oneOf(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
}

func parseInt(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be a whole number")
	}
	if n < lo || n > hi {
		return fmt.Errorf("must be between %d and %d", lo, hi)
	}
	*dst = n
	return nil
}

func parseUint32(dst *uint32, v string, lo, hi int) error {
	var n int
	if err := parseInt(&n, v, lo, hi); err != nil {
		return err
	}
	*dst = uint32(n)
	return nil
}

func parseBool(dst *bool, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be true or false")
	}
	*dst = b
	return nil
}

func parseDuration(dst *time.Duration, v string, lo, hi time.Duration) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be a duration such as 15m or 720h")
	}
	if d < lo || d > hi {
		return fmt.Errorf("must be between %s and %s", lo, hi)
	}
	*dst = d
	return nil
}

func parseAddr(dst *string, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("must be host:port, such as 127.0.0.1:8080")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535")
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Errorf("host %q is not an IP address or host name", host)
	}
	*dst = v
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

func parseMasterKey(dst *[]byte, v string) error {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		k, err = base64.RawURLEncoding.DecodeString(strings.TrimSpace(v))
	}
	if err != nil {
		return fmt.Errorf("must be base64")
	}
	if len(k) != 32 {
		return fmt.Errorf("must decode to 32 bytes, got %d (generate one with: openssl rand -base64 32)", len(k))
	}
	*dst = k
	return nil
}

func parseOrigins(dst *[]string, v string) error {
	var out []string
	for _, o := range splitList(v) {
		if o != "*" {
			var s string
			if err := parseHTTPURL(&s, o); err != nil || strings.Count(o, "/") > 2 {
				return fmt.Errorf("%q is not an origin such as https://app.example.com", o)
			}
		}
		out = append(out, strings.TrimSuffix(o, "/"))
	}
	*dst = out
	return nil
}

func parsePrefixes(dst *[]netip.Prefix, v string) error {
	var out []netip.Prefix
	for _, p := range splitList(v) {
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return fmt.Errorf("%q is not an IP address or CIDR", p)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", p)
		}
		out = append(out, pf.Masked())
	}
	*dst = out
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseBase64 accepts standard base64 (padded), as Firebase's console shows its keys.
func parseBase64(dst *string, v string) error {
	if _, err := base64.StdEncoding.DecodeString(v); err != nil || v == "" {
		return errors.New("must be standard base64")
	}
	*dst = v
	return nil
}
