-- +goose Up
-- The janitor deletes rows past their use in small batches, found by these.
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
CREATE INDEX mfa_codes_expires ON mfa_codes (expires_at);
CREATE INDEX one_time_tokens_expires ON one_time_tokens (expires_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP INDEX sessions_revoked;
DROP INDEX sessions_expires;
DROP INDEX one_time_tokens_expires;
DROP INDEX mfa_codes_expires;
DROP INDEX mfa_challenges_expires;
DROP INDEX webauthn_ceremonies_expires;
