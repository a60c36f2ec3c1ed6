-- +goose Up
-- Users moved in from another system keep that system's id (matched on re-import), and
-- a password hash set by an import is marked so that a re-import may replace it while the
-- user has not signed in or changed it (both write a Gatehouse hash, unmarked).
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;
ALTER TABLE credentials ADD COLUMN imported BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE credentials DROP COLUMN imported;
DROP INDEX users_external_id;
ALTER TABLE users DROP COLUMN external_id;
