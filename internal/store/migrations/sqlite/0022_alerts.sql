-- Alerting. notifiers are where alerts go; their secrets (an SMTP password,
-- a slack webhook's URL, webhook signing secrets) are encrypted with
-- SECRET_KEY when it is set. last_* say how the latest delivery went.
CREATE TABLE notifiers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    type            TEXT NOT NULL,
    url             TEXT NOT NULL DEFAULT '',
    signing_secrets TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    password        TEXT NOT NULL DEFAULT '',
    last_status     TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    last_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- One row per alert and notifier: written in the transaction that records
-- the run which changed the alert state (so once, whichever node finished
-- it), then delivered by the leader, retried, and kept as the history.
-- message is the alert as JSON, fixed when it was raised.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notifier_id     BIGINT NOT NULL,
    schedule_id     BIGINT,
    run_id          BIGINT,
    event           TEXT NOT NULL,
    message         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_schedule ON notifications (schedule_id, id);
CREATE INDEX notifications_notifier ON notifications (notifier_id, id);

-- A schedule's alert rule (JSON; NULL: the default rule) and its
-- auto-pause threshold (NULL: never).
ALTER TABLE schedules ADD COLUMN alert TEXT;
ALTER TABLE schedules ADD COLUMN auto_pause_after INTEGER;

-- Streaks and alert state, kept with the counters: the finishing
-- transaction already locks this row.
ALTER TABLE run_stats ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats ADD COLUMN consecutive_successes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats ADD COLUMN failing_since BIGINT;
ALTER TABLE run_stats ADD COLUMN alert_state TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE run_stats ADD COLUMN alerted_at BIGINT;

-- Service-wide settings by name: the default alert rule (alert_default).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
