-- Occurrences that got no run of their own, and why: skipped for overlap,
-- coalesced into a later occurrence's run (run_id), missed by the misfire
-- policy, or after a window's end. One row per claim decision, covering
-- [from_at, until_at); written only when something is skipped or missed.
CREATE TABLE misses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id BIGINT NOT NULL,
    from_at     BIGINT NOT NULL,
    until_at    BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    run_id      BIGINT,
    lateness_ms BIGINT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX misses_schedule ON misses (schedule_id, from_at);
