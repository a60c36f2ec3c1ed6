-- +goose Up
-- Audit rows are appended without touching a shared row: each carries a keyed MAC of its
-- content (mac, personal_mac), and the chainer links committed rows into the hash chain
-- afterwards (seq, prev_hash, hash: unset until then). pos is the insertion order.
-- Existing rows keep their order and chain fields; their MACs are empty until the
-- service, which holds the key, re-chains them once with the keyed hash (audited).
CREATE TABLE audit_events_v2 (
    pos          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    time         TEXT NOT NULL,
    action       TEXT NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    org_id       TEXT NOT NULL DEFAULT '',
    target_type  TEXT NOT NULL DEFAULT '',
    target_id    TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    request_id   TEXT NOT NULL DEFAULT '',
    outcome      TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT '{}',
    personal_mac TEXT NOT NULL DEFAULT '',
    mac          TEXT NOT NULL DEFAULT '',
    erased_at    TEXT,
    seq          INTEGER UNIQUE,
    prev_hash    TEXT NOT NULL DEFAULT '',
    hash         TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_events_v2 (pos, id, time, action, actor_id, org_id, target_type, target_id, ip, user_agent, request_id,
    outcome, details, seq, prev_hash, hash)
SELECT seq, id, time, action, actor_id, org_id, target_type, target_id, ip, user_agent, request_id,
    outcome, details, seq, prev_hash, hash FROM audit_events ORDER BY seq;
DROP TABLE audit_events;
DROP TABLE audit_head;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
CREATE INDEX audit_actor ON audit_events (actor_id, pos);
CREATE INDEX audit_target ON audit_events (target_id, pos);
CREATE INDEX audit_org ON audit_events (org_id, pos);
CREATE INDEX audit_unchained ON audit_events (pos) WHERE seq IS NULL;

-- +goose Down
-- The old shape, with the head at the last chained row. Binaries of that version verify
-- the plain SHA-256 chain, so they will report the keyed hashes as changed.
CREATE TABLE audit_events_v1 (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    time        TEXT NOT NULL,
    action      TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    org_id      TEXT NOT NULL DEFAULT '',
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
INSERT INTO audit_events_v1 SELECT seq, id, time, action, actor_id, org_id, target_type, target_id, ip, user_agent,
    request_id, outcome, details, prev_hash, hash FROM audit_events WHERE seq IS NOT NULL ORDER BY seq;
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
SELECT 1, COALESCE(MAX(seq), 0), COALESCE((SELECT hash FROM audit_events_v1 ORDER BY seq DESC LIMIT 1), '') FROM audit_events_v1;
DROP TABLE audit_events;
ALTER TABLE audit_events_v1 RENAME TO audit_events;
CREATE INDEX audit_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_target ON audit_events (target_id, seq);
CREATE INDEX audit_org ON audit_events (org_id, seq);
