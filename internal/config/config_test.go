package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsNeedNoConfiguration(t *testing.T) {
	c, err := Load(Sources{Env: envOf(nil)})
	if err != nil {
		t.Fatalf("Load with nothing set: %v", err)
	}
	if c.Env != Development || c.HTTPAddr != "127.0.0.1:8080" || c.Issuer != "http://127.0.0.1:8080" ||
		c.DatabaseURL != "sqlite://./data/gatehouse.db" || c.AccessTokenTTL != 15*time.Minute ||
		c.PasswordMinLength != 12 || c.LimitLoginFailuresPerAccount != 5 || c.LimitWindow != 15*time.Minute {
		t.Fatalf("defaults = %+v", c)
	}
	if c.AccessTokenAud != c.Issuer || c.HashWorkers < 1 || c.MasterKey != nil {
		t.Fatalf("derived defaults = aud %q workers %d key %v", c.AccessTokenAud, c.HashWorkers, c.MasterKey)
	}
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gatehouse.yaml")
	os.WriteFile(file, []byte("http_addr: 127.0.0.1:7000\nlog_level: warn\ncors_origins: [https://a.example, https://b.example]\nlimit_window: 1m\n"), 0o600)
	c, err := Load(Sources{
		File:  file,
		Env:   envOf(map[string]string{"GATEHOUSE_HTTP_ADDR": "127.0.0.1:7001", "GATEHOUSE_LOG_LEVEL": "error"}),
		Flags: map[string]string{"http-addr": "127.0.0.1:7002"},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.HTTPAddr != "127.0.0.1:7002" || c.LogLevel != "error" || c.LimitWindow != time.Minute ||
		strings.Join(c.CORSOrigins, " ") != "https://a.example https://b.example" {
		t.Fatalf("precedence: %+v", c)
	}
}

func TestInvalidSettingsAreNamed(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GATEHOUSE_HTTP_ADDR": "nonsense"}, "GATEHOUSE_HTTP_ADDR"},
		{map[string]string{"GATEHOUSE_ISSUER": "https://id.example.com/"}, "GATEHOUSE_ISSUER: must not end with a slash"},
		{map[string]string{"GATEHOUSE_DATABASE_URL": "mysql://x"}, "GATEHOUSE_DATABASE_URL"},
		{map[string]string{"GATEHOUSE_MASTER_KEY": "c2hvcnQ="}, "GATEHOUSE_MASTER_KEY: must decode to 32 bytes"},
		{map[string]string{"GATEHOUSE_ACCESS_TOKEN_TTL": "soon"}, "GATEHOUSE_ACCESS_TOKEN_TTL"},
		{map[string]string{"GATEHOUSE_SESSION_CACHE_TTL": "10s"}, "GATEHOUSE_SESSION_CACHE_TTL"},
		{map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/33"}, "GATEHOUSE_TRUSTED_PROXIES"},
		{map[string]string{"GATEHOUSE_SIGNING_ALG": "HS256"}, "GATEHOUSE_SIGNING_ALG"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "mail.example.com"}, "GATEHOUSE_SMTP_URL"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "http://mail.example.com:587"}, "GATEHOUSE_SMTP_URL: must be smtp://"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://:587"}, "GATEHOUSE_SMTP_URL: must be smtp://"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com:70000"}, "GATEHOUSE_SMTP_URL: port"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com:587?tls=none"}, "GATEHOUSE_SMTP_URL: tls=none is allowed only"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://10.0.0.1:25?tls=none"}, "GATEHOUSE_SMTP_URL: tls=none is allowed only"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtps://127.0.0.1:465?tls=none"}, "GATEHOUSE_SMTP_URL: tls=none is allowed only"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://127.0.0.1:25?tls=opportunistic"}, "GATEHOUSE_SMTP_URL: the only query parameter"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://127.0.0.1:25?tls=none&tls=none"}, "GATEHOUSE_SMTP_URL: the only query parameter"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com:587?starttls=no"}, "GATEHOUSE_SMTP_URL: the only query parameter"},
		{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com:587?tls=%zz"}, "GATEHOUSE_SMTP_URL: has a malformed query"},
		{map[string]string{"GATEHOUSE_REFRESH_IDLE_TTL": "100h", "GATEHOUSE_SESSION_TTL": "10h"}, "GATEHOUSE_REFRESH_IDLE_TTL: must not exceed"},
	}
	for _, tc := range tests {
		_, err := Load(Sources{Env: envOf(tc.env)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v) = %v; want an error naming %q", tc.env, err, tc.want)
		}
	}
}

func TestFlagErrorsNameTheFlag(t *testing.T) {
	_, err := Load(Sources{Env: envOf(nil), Flags: map[string]string{"http-addr": "x"}})
	if err == nil || !strings.Contains(err.Error(), "--http-addr (GATEHOUSE_HTTP_ADDR)") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretsAreNotFlags(t *testing.T) {
	c, err := Load(Sources{Env: envOf(nil), Flags: map[string]string{"master-key": "x"}})
	if err != nil || c.MasterKey != nil {
		t.Fatalf("a secret was taken from a flag: %v %v", c, err)
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("http_adr: 1\n"), 0o600)
	_, err := Load(Sources{Env: envOf(nil), File: file})
	if err == nil || !strings.Contains(err.Error(), `unknown key "http_adr"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestProductionListsEverythingMissing(t *testing.T) {
	_, err := Load(Sources{Env: envOf(map[string]string{"GATEHOUSE_ENV": "production"})})
	if err == nil {
		t.Fatal("production with nothing set was accepted")
	}
	for _, want := range []string{"GATEHOUSE_MASTER_KEY", "GATEHOUSE_ISSUER", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_SMTP_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	c, err := Load(Sources{Env: envOf(map[string]string{
		"GATEHOUSE_ENV":          "production",
		"GATEHOUSE_MASTER_KEY":   "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"GATEHOUSE_ISSUER":       "https://id.example.com",
		"GATEHOUSE_DATABASE_URL": "postgres://gh@db:5432/gh",
		"GATEHOUSE_SMTP_URL":     "smtp://mail:587",
	})})
	if err != nil || !c.IsProduction() || len(c.MasterKey) != 32 {
		t.Fatalf("complete production config: %v", err)
	}
}

func TestEverySettingIsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if s.Help == "" || !strings.HasPrefix(s.Env, "GATEHOUSE_") || seen[s.Env] {
			t.Errorf("setting %q: missing help, bad name or duplicate", s.Env)
		}
		seen[s.Env] = true
	}
}

func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var ref strings.Builder
	WriteReference(&ref)
	if !strings.Contains(string(readme), ref.String()) {
		t.Fatal("README.md's configuration table is out of date: replace it with the output of `go run ./cmd/gatehouse config reference`")
	}
}

func TestSMTPURLsThatAreAccepted(t *testing.T) {
	for _, v := range []string{
		"smtp://user:pass@mail.example.com:587",
		"smtp://mail.example.com",
		"smtps://user:pass@mail.example.com",
		"smtps://mail.example.com:465",
		"smtp://127.0.0.1:1025?tls=none",
		"smtp://127.0.0.2:25?tls=none",
		"smtp://[::1]:25?tls=none",
		"smtp://localhost:25?tls=none",
	} {
		c, err := Load(Sources{Env: envOf(map[string]string{"GATEHOUSE_SMTP_URL": v})})
		if err != nil || c.SMTPURL != v {
			t.Errorf("Load(GATEHOUSE_SMTP_URL=%s) = %v", v, err)
		}
	}
}

func TestSMTPURLErrorsHideThePassword(t *testing.T) {
	for _, v := range []string{"smtp://u:hunter2@mail.example.com:bad", "smtp://u:hunter2@mail.example.com?tls=none", "ftp://u:hunter2@x"} {
		_, err := Load(Sources{Env: envOf(map[string]string{"GATEHOUSE_SMTP_URL": v})})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Load(%s) = %v", v, err)
		}
	}
}

// The bootstrap administrator's email and password go together; the password's value
// never appears in a message.
func TestBootstrapAdminSettings(t *testing.T) {
	c, err := Load(Sources{Env: envOf(map[string]string{"GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL": " ops@example.com ",
		"GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD": "a long enough secret"})})
	if err != nil || c.BootstrapAdminEmail != "ops@example.com" || c.BootstrapAdminPassword != "a long enough secret" {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL": "ops@example.com"}, "set both, or neither"},
		{map[string]string{"GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD": "a long enough secret"}, "set both, or neither"},
		{map[string]string{"GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL": "Ops <ops@example.com>", "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD": "a long enough secret"}, "GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: must be an email address"},
		{map[string]string{"GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL": "ops@localhost", "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD": "a long enough secret"}, "GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: must be an email address"},
		{map[string]string{"GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL": "ops@example.com", "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD": "short-hunter"[:11]}, "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: must have at least 12"},
	} {
		_, err := Load(Sources{Env: envOf(tc.env)})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter") {
			t.Errorf("Load(%v) = %v, want %q", tc.env, err, tc.want)
		}
	}
	if _, ok := Lookup("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD"); !ok {
		t.Fatal("no bootstrap password setting")
	}
	for _, s := range Settings {
		if s.Env == "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD" && !s.Secret {
			t.Fatal("the bootstrap password is not a secret setting (it would be a flag)")
		}
	}
}
