package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

func parseIssuer(dst *string, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http(s) URL such as https://id.example.com")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("must not have a query, fragment or user info")
	}
	if strings.HasSuffix(v, "/") {
		return fmt.Errorf("must not end with a slash")
	}
	*dst = v
	return nil
}

func parseDatabaseURL(dst *string, v string) error {
	switch {
	case strings.HasPrefix(v, "sqlite://"):
		if strings.TrimPrefix(v, "sqlite://") == "" {
			return fmt.Errorf("sqlite:// needs a file path, such as sqlite://./data/gatehouse.db")
		}
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			return fmt.Errorf("is not a valid postgres:// URL")
		}
	default:
		return fmt.Errorf("must start with sqlite:// or postgres://")
	}
	*dst = v
	return nil
}

// parseSMTPURL checks the rules notify.NewSMTP applies, so a bad URL stops start-up rather
// than the first email. Errors never repeat the URL: it may hold a password.
func parseSMTPURL(dst *string, v string) error {
	if v == "" {
		*dst = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return fmt.Errorf("must be smtp://[user:pass@]host[:port] (STARTTLS) or smtps://... (TLS)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port must be 1-65535")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("has a malformed query")
	}
	for k, vals := range q {
		if k != "tls" || len(vals) != 1 || vals[0] != "none" {
			return fmt.Errorf("the only query parameter is tls=none")
		}
	}
	if q.Has("tls") && (u.Scheme != "smtp" || !isLoopback(u.Hostname())) {
		return fmt.Errorf("tls=none is allowed only with smtp:// to a loopback host (127.0.0.0/8, ::1, localhost)")
	}
	*dst = v
	return nil
}

// isLoopback reports whether host names this machine, where plain SMTP cannot be read on
// the network.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseHTTPURL(dst *string, v string) error {
	if v == "" {
		*dst = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http(s) URL")
	}
	*dst = v
	return nil
}
