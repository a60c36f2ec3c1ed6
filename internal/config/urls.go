package config

import (
	"fmt"
	"net/url"
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

func parseSMTPURL(dst *string, v string) error {
	if v == "" {
		*dst = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("must be smtp://[user:pass@]host:port or smtps://...")
	}
	*dst = v
	return nil
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
