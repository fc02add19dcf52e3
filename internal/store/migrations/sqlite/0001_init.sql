-- Times are unix milliseconds (UTC). Durations in milliseconds unless named otherwise.
CREATE TABLE targets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '{}',
    body_template   TEXT    NOT NULL DEFAULT '',
    timeout_seconds REAL,
    max_retries     INTEGER,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE schedules (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    target_id        BIGINT  NOT NULL REFERENCES targets (id),
    schedule_type    TEXT    NOT NULL,
    interval_seconds BIGINT  NOT NULL,
    duration_seconds BIGINT,
    status           TEXT    NOT NULL,
    stopped_reason   TEXT    NOT NULL DEFAULT '',
    anchor_at        BIGINT  NOT NULL,
    next_run_at      BIGINT,
    ends_at          BIGINT,
    remaining_ms     BIGINT,
    version          BIGINT  NOT NULL DEFAULT 1,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX schedules_target_id ON schedules (target_id);
CREATE INDEX schedules_status ON schedules (status);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE status = 'ACTIVE';

-- Runs outlive their schedule (history); hence no foreign key on schedule_id.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id      BIGINT  NOT NULL,
    target_id        BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    scheduled_at     BIGINT  NOT NULL,
    started_at       BIGINT  NOT NULL,
    finished_at      BIGINT,
    missed           BIGINT  NOT NULL DEFAULT 0,
    latency_ms       REAL,
    status_code      INTEGER,
    response_size    BIGINT,
    error_type       TEXT    NOT NULL DEFAULT '',
    error_message    TEXT    NOT NULL DEFAULT '',
    dns_ms           REAL,
    connect_ms       REAL,
    tls_ms           REAL,
    first_byte_ms    REAL,
    request_method   TEXT    NOT NULL DEFAULT '',
    request_url      TEXT    NOT NULL DEFAULT '',
    response_body    TEXT,
    response_headers TEXT,
    node_id          TEXT    NOT NULL DEFAULT '',
    UNIQUE (schedule_id, scheduled_at)
);
CREATE INDEX runs_running ON runs (schedule_id) WHERE status = 'RUNNING';
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_target ON runs (target_id, id);
CREATE INDEX runs_scheduled_at ON runs (scheduled_at);

CREATE TABLE attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    attempt_number INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    started_at     BIGINT  NOT NULL,
    finished_at    BIGINT  NOT NULL,
    latency_ms     REAL,
    status_code    INTEGER,
    response_size  BIGINT,
    error_type     TEXT    NOT NULL DEFAULT '',
    error_message  TEXT    NOT NULL DEFAULT '',
    dns_ms         REAL,
    connect_ms     REAL,
    tls_ms         REAL,
    first_byte_ms  REAL,
    UNIQUE (run_id, attempt_number)
);

-- Counters kept as runs finish, so metrics never scan runs.
-- scope 0 is the whole service; scope N is schedule N.
CREATE TABLE run_stats (
    scope                 BIGINT PRIMARY KEY,
    runs_success          BIGINT NOT NULL DEFAULT 0,
    runs_failed           BIGINT NOT NULL DEFAULT 0,
    runs_timeout          BIGINT NOT NULL DEFAULT 0,
    runs_dns_error        BIGINT NOT NULL DEFAULT 0,
    runs_connection_error BIGINT NOT NULL DEFAULT 0,
    runs_interrupted      BIGINT NOT NULL DEFAULT 0,
    latency_sum_ms        REAL   NOT NULL DEFAULT 0,
    latency_count         BIGINT NOT NULL DEFAULT 0,
    histogram             TEXT   NOT NULL DEFAULT '',
    last_run_at           BIGINT,
    last_status           TEXT,
    skipped_overlap       BIGINT NOT NULL DEFAULT 0,
    missed                BIGINT NOT NULL DEFAULT 0
);
INSERT INTO run_stats (scope) VALUES (0);

-- Finished runs per minute, for runs_last_hour.
CREATE TABLE run_stats_minute (
    minute BIGINT PRIMARY KEY,
    runs   BIGINT NOT NULL DEFAULT 0
);
