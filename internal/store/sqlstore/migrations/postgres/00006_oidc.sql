-- +goose Up
-- Sessions of three kinds (api, browser, oauth): a browser session is found by the hash
-- of its cookie; an OAuth grant belongs to a client and comes from a browser session.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN cookie_hash TEXT;
CREATE UNIQUE INDEX sessions_cookie ON sessions (cookie_hash) WHERE cookie_hash IS NOT NULL;
CREATE INDEX sessions_client ON sessions (client_id) WHERE client_id <> '';
CREATE INDEX sessions_parent ON sessions (parent_id) WHERE parent_id <> '';

CREATE TABLE oauth_clients (
    client_id                  TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    secret_hash                TEXT NOT NULL DEFAULT '',
    redirect_uris              TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris  TEXT NOT NULL DEFAULT '[]',
    grant_types                TEXT NOT NULL DEFAULT '[]',
    token_endpoint_auth_method TEXT NOT NULL,
    scopes                     TEXT NOT NULL DEFAULT '[]',
    first_party                BOOLEAN NOT NULL DEFAULT FALSE,
    access_token_ttl_seconds   INTEGER NOT NULL DEFAULT 0,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

CREATE TABLE oauth_auth_requests (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    redirect_uri          TEXT NOT NULL,
    state                 TEXT NOT NULL DEFAULT '',
    nonce                 TEXT NOT NULL DEFAULT '',
    scopes                TEXT NOT NULL DEFAULT '[]',
    response_mode         TEXT NOT NULL DEFAULT '',
    code_challenge        TEXT NOT NULL DEFAULT '',
    code_challenge_method TEXT NOT NULL DEFAULT '',
    prompt                TEXT NOT NULL DEFAULT '[]',
    max_age               INTEGER,
    login_hint            TEXT NOT NULL DEFAULT '',
    org_id                TEXT NOT NULL DEFAULT '',
    user_id               TEXT NOT NULL DEFAULT '',
    browser_session_id    TEXT NOT NULL DEFAULT '',
    auth_time             TIMESTAMPTZ,
    amr                   TEXT NOT NULL DEFAULT '',
    code_hash             TEXT,
    code_expires_at       TIMESTAMPTZ,
    code_used_at          TIMESTAMPTZ,
    grant_session_id      TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX oauth_auth_requests_code ON oauth_auth_requests (code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX oauth_auth_requests_expires ON oauth_auth_requests (expires_at);

CREATE TABLE oauth_consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- +goose Down
DROP TABLE oauth_consents;
DROP TABLE oauth_auth_requests;
DROP TABLE oauth_clients;
DROP INDEX sessions_parent;
DROP INDEX sessions_client;
DROP INDEX sessions_cookie;
ALTER TABLE sessions DROP COLUMN cookie_hash;
ALTER TABLE sessions DROP COLUMN auth_time;
ALTER TABLE sessions DROP COLUMN parent_id;
ALTER TABLE sessions DROP COLUMN scopes;
ALTER TABLE sessions DROP COLUMN client_id;
ALTER TABLE sessions DROP COLUMN kind;
