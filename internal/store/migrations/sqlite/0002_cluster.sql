-- Several nodes on one database: each node heartbeats, one holds the
-- dispatcher lease, and claimed runs wait in runs (node_id = '') with their
-- job until a node takes them.
CREATE TABLE nodes (
    node_id      TEXT   PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

ALTER TABLE runs ADD COLUMN job TEXT;
CREATE INDEX runs_unassigned ON runs (scheduled_at) WHERE status = 'RUNNING' AND node_id = '';
