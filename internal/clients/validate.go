package clients

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Grant types, authentication methods and scopes a client may be registered with.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"

	AuthSecretBasic = "client_secret_basic"
	AuthSecretPost  = "client_secret_post"
	AuthNone        = "none" // a public client: no secret, PKCE instead
)

var (
	grantTypes  = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
	authMethods = []string{AuthSecretBasic, AuthSecretPost, AuthNone}
	// Scopes is every scope a client may ask for, and what one gets when none are given.
	Scopes = []string{"openid", "profile", "email", "offline_access"}
)

// Bounds.
const (
	MaxName        = 200
	MaxURIs        = 20
	MaxURILength   = 2000
	MinAccessTTL   = 60 * time.Second
	MaxAccessTTL   = 24 * time.Hour
	maxListEntries = 10
)

// FieldError names one invalid field of a client.
type FieldError struct{ Field, Message string }

// Invalid lists every invalid field of a client, in the order of the fields.
type Invalid []FieldError

func (e Invalid) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Field + " " + f.Message
	}
	return "clients: invalid client: " + strings.Join(parts, "; ")
}

func (e *Invalid) add(field, msg string) { *e = append(*e, FieldError{field, msg}) }

// validate checks a whole client as it would be stored and fills in the defaults
// (authentication method, scopes).
func validate(c *Spec) error {
	var inv Invalid
	name := strings.TrimSpace(c.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0 || n > MaxName:
		inv.add("name", "must have 1 to "+strconv.Itoa(MaxName)+" characters")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		inv.add("name", "must not contain control characters")
	}
	c.Name = name
	if c.AuthMethod == "" {
		c.AuthMethod = AuthSecretBasic
	}
	public := c.AuthMethod == AuthNone
	if !slices.Contains(authMethods, c.AuthMethod) {
		inv.add("token_endpoint_auth_method", "must be one of "+strings.Join(authMethods, ", "))
	}
	checkGrants(&inv, c.GrantTypes, public)
	code := slices.Contains(c.GrantTypes, GrantAuthorizationCode)
	if code && len(c.RedirectURIs) == 0 {
		inv.add("redirect_uris", "must name at least one URI for the authorization_code grant")
	}
	checkURIs(&inv, "redirect_uris", c.RedirectURIs, public)
	checkURIs(&inv, "post_logout_redirect_uris", c.PostLogoutRedirectURIs, public)
	if c.Scopes == nil {
		c.Scopes = slices.Clone(Scopes)
	}
	checkSet(&inv, "scopes", c.Scopes, Scopes)
	if c.AccessTokenTTL != 0 && (c.AccessTokenTTL < MinAccessTTL || c.AccessTokenTTL > MaxAccessTTL || c.AccessTokenTTL%time.Second != 0) {
		inv.add("access_token_ttl_seconds", "must be left out (the instance's default) or a whole number from 60 to 86400")
	}
	if len(inv) > 0 {
		return inv
	}
	return nil
}

func checkGrants(inv *Invalid, grants []string, public bool) {
	if !checkSet(inv, "grant_types", grants, grantTypes) {
		return
	}
	if slices.Contains(grants, GrantRefreshToken) && !slices.Contains(grants, GrantAuthorizationCode) {
		inv.add("grant_types", "refresh_token needs authorization_code")
	}
	if public && slices.Contains(grants, GrantClientCredentials) {
		inv.add("grant_types", "a public client (token_endpoint_auth_method none) cannot use client_credentials")
	}
}

// checkSet requires a non-empty list of distinct members of allowed.
func checkSet(inv *Invalid, field string, list, allowed []string) bool {
	if len(list) == 0 {
		inv.add(field, "must name at least one of "+strings.Join(allowed, ", "))
		return false
	}
	if len(list) > maxListEntries {
		inv.add(field, "has too many entries")
		return false
	}
	for i, v := range list {
		if !slices.Contains(allowed, v) {
			inv.add(field, "may only contain "+strings.Join(allowed, ", "))
			return false
		}
		if slices.Contains(list[:i], v) {
			inv.add(field, "must not repeat "+v)
			return false
		}
	}
	return true
}

// checkURIs applies the redirect URI rules to each URI of a list (reporting the first
// bad one): absolute, no fragment, no wildcard, https, or http on a loopback host only,
// or (public clients only) a private-use scheme with a dot (RFC 8252 §7.1).
func checkURIs(inv *Invalid, field string, uris []string, public bool) {
	if len(uris) > MaxURIs {
		inv.add(field, "must have at most "+strconv.Itoa(MaxURIs)+" URIs")
		return
	}
	for i, u := range uris {
		if msg := checkURI(u, public); msg != "" {
			inv.add(field, msg)
			return
		}
		if slices.Contains(uris[:i], u) {
			inv.add(field, "must not repeat a URI")
			return
		}
	}
}

// loopbackHosts are the hosts an http:// redirect URI may name (RFC 8252 §7.3).
var loopbackHosts = []string{"127.0.0.1", "::1", "localhost"}

func checkURI(raw string, public bool) string {
	switch {
	case raw == "":
		return "must not contain an empty URI"
	case len(raw) > MaxURILength:
		return "must contain URIs of at most " + strconv.Itoa(MaxURILength) + " characters"
	case strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || r > unicode.MaxASCII }):
		return "must contain URIs without spaces, control or non-ASCII characters (percent-encode them): " + raw
	case strings.Contains(raw, "#"):
		return "must contain URIs without a fragment: " + raw
	case strings.Contains(raw, "*"):
		return "must contain exact URIs, without wildcards: " + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "must contain absolute URIs: " + raw
	}
	switch u.Scheme {
	case "https", "http":
		if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
			return "must contain absolute URIs with a host: " + raw
		}
		if u.User != nil {
			return "must contain URIs without user information: " + raw
		}
		if _, err := strconv.Atoi(u.Port()); u.Port() != "" && err != nil {
			return "must contain URIs with a numeric port: " + raw
		}
		if u.Scheme == "http" && !slices.Contains(loopbackHosts, strings.ToLower(u.Hostname())) {
			return "may use http:// only for a loopback host (127.0.0.1, [::1] or localhost): " + raw
		}
		if strings.Contains(u.Host, "[") && net.ParseIP(u.Hostname()) == nil {
			return "must contain URIs with a valid host: " + raw
		}
		return ""
	}
	if !public {
		return "must use https:// (or http:// on a loopback host): " + raw
	}
	if !strings.Contains(u.Scheme, ".") {
		return "must use https://, http:// on a loopback host, or a private-use scheme in reverse-domain form such as com.example.app:/callback: " + raw
	}
	if u.User != nil || (u.Host == "" && u.Path == "" && u.Opaque == "") {
		return "must contain private-use URIs of the form com.example.app:/path: " + raw
	}
	return ""
}
