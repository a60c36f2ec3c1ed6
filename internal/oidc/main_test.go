package oidc_test

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain quiets the OpenID library, which logs every refused request to the default
// logger (the server's own logs are kept per test by testserver).
func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_TEST_LOGS") == "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
