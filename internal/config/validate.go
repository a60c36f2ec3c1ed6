package config

import (
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"unicode/utf8"
)

// validate checks rules that span settings, fills derived defaults, and in production
// lists everything that must be set explicitly.
func (c *Config) validate() []string {
	var problems []string
	if c.AccessTokenAud == "" {
		c.AccessTokenAud = c.Issuer
	}
	if c.EmailLinkBase == "" {
		c.EmailLinkBase = c.Issuer
	}
	if c.HashWorkers == 0 {
		c.HashWorkers = runtime.NumCPU()
	}
	if c.SMTPFrom == "" {
		host := "localhost"
		if u, err := url.Parse(c.Issuer); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		c.SMTPFrom = c.ProductName + " <no-reply@" + host + ">"
	}
	if u, err := url.Parse(c.Issuer); err == nil {
		origin := u.Scheme + "://" + u.Host
		if net.ParseIP(u.Hostname()) != nil {
			// A WebAuthn relying party is a domain, never an IP address: an issuer on an IP
			// (the development default) offers passkeys to http://localhost on the same port.
			if c.WebAuthnRPID == "" {
				c.WebAuthnRPID = "localhost"
			}
			if len(c.WebAuthnOrigins) == 0 {
				c.WebAuthnOrigins = []string{origin, u.Scheme + "://" + net.JoinHostPort("localhost", u.Port())}
				if u.Port() == "" {
					c.WebAuthnOrigins[1] = u.Scheme + "://localhost"
				}
			}
		}
		if c.WebAuthnRPID == "" {
			c.WebAuthnRPID = u.Hostname()
		}
		if len(c.WebAuthnOrigins) == 0 {
			c.WebAuthnOrigins = []string{origin}
		}
	}
	if (c.BootstrapAdminEmail == "") != (c.BootstrapAdminPassword == "") {
		problems = append(problems, "GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: set both, or neither")
	}
	if n := utf8.RuneCountInString(c.BootstrapAdminPassword); n > 0 && n < c.PasswordMinLength {
		problems = append(problems, fmt.Sprintf("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: must have at least %d characters (GATEHOUSE_PASSWORD_MIN_LENGTH)", c.PasswordMinLength))
	}
	if c.RefreshIdleTTL > c.SessionTTL && c.SessionTTL > 0 {
		problems = append(problems, "GATEHOUSE_REFRESH_IDLE_TTL: must not exceed GATEHOUSE_SESSION_TTL")
	}
	if !c.IsProduction() {
		return problems
	}
	if len(c.MasterKey) == 0 {
		problems = append(problems, "GATEHOUSE_MASTER_KEY: required in production (32 bytes, base64)")
	}
	if !strings.HasPrefix(c.Issuer, "https://") || !c.Explicit("GATEHOUSE_ISSUER") {
		problems = append(problems, "GATEHOUSE_ISSUER: required in production and must be https://")
	}
	if !c.Explicit("GATEHOUSE_DATABASE_URL") {
		problems = append(problems, "GATEHOUSE_DATABASE_URL: required in production")
	}
	if c.SMTPURL == "" {
		problems = append(problems, "GATEHOUSE_SMTP_URL: required in production")
	}
	return problems
}
