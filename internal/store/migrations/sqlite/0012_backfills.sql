-- Backfills: a past range of a schedule's occurrences to run, oldest first,
-- at a bounded rate. next_at is the next occurrence to consider (NULL once
-- none is left); last_step_at is when the engine last inserted some, from
-- which the rate allows the next batch. Runs of a backfill carry
-- run_trigger 'backfill'; the UNIQUE (schedule_id, scheduled_at) key of
-- runs makes "at most one run per occurrence" a database fact, however many
-- backfills cover it.
CREATE TABLE backfills (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id     BIGINT NOT NULL,
    since_at        BIGINT NOT NULL,
    until_at        BIGINT NOT NULL,
    rate_per_second INTEGER NOT NULL,
    status          TEXT NOT NULL,
    total           BIGINT NOT NULL,
    inserted        BIGINT NOT NULL DEFAULT 0,
    existing        BIGINT NOT NULL DEFAULT 0,
    next_at         BIGINT,
    last_step_at    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX backfills_schedule ON backfills (schedule_id, id);
CREATE INDEX backfills_running ON backfills (id) WHERE status = 'RUNNING';
