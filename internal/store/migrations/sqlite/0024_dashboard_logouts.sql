-- Dashboard sessions ended by a logout, until they would have expired:
-- a copy of the cookie is then refused by every node too.
CREATE TABLE dashboard_logouts (
    session_id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_logouts_expires ON dashboard_logouts (expires_at);
