package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// ErrNoMasterKey: no master key is configured and none is in the data directory.
var ErrNoMasterKey = errors.New("no master key")

// ExistingMasterKey returns the configured master key or the one in the data directory,
// and never creates one: commands that only read use it.
func ExistingMasterKey(cfg *config.Config) ([]byte, error) {
	if len(cfg.MasterKey) > 0 {
		return cfg.MasterKey, nil
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: GATEHOUSE_MASTER_KEY is not set and %s does not exist", ErrNoMasterKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s does not hold a base64 32-byte key; fix or remove it", path)
	}
	return key, nil
}

// MasterKey returns the configured master key or, in development only, the one in the
// data directory, generating it (mode 0600) on first start.
func MasterKey(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.IsProduction() && len(cfg.MasterKey) == 0 {
		return nil, errors.New("GATEHOUSE_MASTER_KEY is required in production")
	}
	key, err := ExistingMasterKey(cfg)
	if !errors.Is(err, ErrNoMasterKey) {
		return key, err
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	// Write a temporary file, then link it into place: the link fails if another
	// process won the race, and nobody ever reads a half-written key.
	tmp, err := os.CreateTemp(cfg.DataDir, ".master.key.*")
	if err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o600)
	}
	if werr != nil {
		return nil, fmt.Errorf("write master key: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return MasterKey(cfg, log)
		}
		return nil, fmt.Errorf("write master key: %w", err)
	}
	log.Warn("generated a development master key; set GATEHOUSE_MASTER_KEY in production", "path", path)
	return key, nil
}
