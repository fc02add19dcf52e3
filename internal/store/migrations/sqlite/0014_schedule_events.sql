-- A schedule's history: created, updated (which fields), paused (reason,
-- until, by whom), resumed, stopped (why), triggered, backfilled. detail is
-- a JSON object; actor says who (the engine, the API, a token's
-- fingerprint). Deleted with its schedule.
CREATE TABLE schedule_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX schedule_events_schedule ON schedule_events (schedule_id, id);
