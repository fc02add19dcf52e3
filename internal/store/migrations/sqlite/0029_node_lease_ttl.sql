-- The LEASE_TTL each node runs with, written by its heartbeat (0: a node of
-- a build before it). Fencing assumes every node runs with the same one; a
-- node that finds another live node with a different one says so.
ALTER TABLE nodes ADD COLUMN lease_ttl_ms BIGINT NOT NULL DEFAULT 0;
