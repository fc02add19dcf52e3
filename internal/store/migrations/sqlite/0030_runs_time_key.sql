-- The runs' unique key by time. UNIQUE (schedule_id, scheduled_at) put each
-- schedule's next run at the end of that schedule's range: 10,000 schedules
-- firing every second wrote 10,000 places of the index, one 4 KiB page per
-- run in the write-ahead log once each schedule had a last page of its own,
-- and at 10,000 runs/s the writer fell behind after about 100 s
-- (docs/benchmarks.md). runs_occurrence keeps the same promise (one run per
-- schedule and time: the slot, scheduled_at / 100, follows from
-- scheduled_at), in the order runs are written: a claim writes a few pages
-- of it, whatever the number of schedules.
--
-- A schedule's runs are found in two parts. run_index, one row per run in
-- the schedule's order, is written in bulk by the store every few seconds
-- (a schedule's rows of half a minute on one page, not a page each)
-- and holds every run except those scheduled in [upto, upto + 10 minutes),
-- the tail, which a read finds in runs_occurrence, one seek per slot of 100
-- ms. Runs scheduled outside that window when they are written (a backfill,
-- a clock set back) are indexed at once by runs_index_insert; a deleted run
-- takes its row with it.
--
-- SQLite cannot drop a table's UNIQUE constraint: the table is rebuilt, as
-- its documentation describes (foreign keys are off while migrations run,
-- and checked after), keeping every id and the AUTOINCREMENT counter.
CREATE TABLE runs_0030 (
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
    job              TEXT,
    attempt_in_run   INTEGER NOT NULL DEFAULT 0,
    run_trigger      TEXT    NOT NULL DEFAULT 'schedule',
    jitter_ms        BIGINT  NOT NULL DEFAULT 0,
    failed_assertion TEXT    NOT NULL DEFAULT '',
    waited_ms        BIGINT  NOT NULL DEFAULT 0,
    request_headers  TEXT,
    lease_epoch      BIGINT  NOT NULL DEFAULT 0,
    take_token       BIGINT  NOT NULL DEFAULT 0,
    reruns           INTEGER NOT NULL DEFAULT 0,
    rerun_reason     TEXT
);
INSERT INTO runs_0030 (id, schedule_id, target_id, status, scheduled_at, started_at, finished_at, missed, latency_ms,
    status_code, response_size, error_type, error_message, dns_ms, connect_ms, tls_ms, first_byte_ms, request_method,
    request_url, response_body, response_headers, node_id, job, attempt_in_run, run_trigger, jitter_ms, failed_assertion,
    waited_ms, request_headers, lease_epoch, take_token, reruns, rerun_reason)
SELECT id, schedule_id, target_id, status, scheduled_at, started_at, finished_at, missed, latency_ms,
    status_code, response_size, error_type, error_message, dns_ms, connect_ms, tls_ms, first_byte_ms, request_method,
    request_url, response_body, response_headers, node_id, job, attempt_in_run, run_trigger, jitter_ms, failed_assertion,
    waited_ms, request_headers, lease_epoch, take_token, reruns, rerun_reason
FROM runs ORDER BY id;
-- The counter, not the highest id left: ids of deleted runs are not given again.
DELETE FROM sqlite_sequence WHERE name = 'runs_0030';
INSERT INTO sqlite_sequence (name, seq) SELECT 'runs_0030', seq FROM sqlite_sequence WHERE name = 'runs';
DROP TABLE runs;
ALTER TABLE runs_0030 RENAME TO runs;
CREATE UNIQUE INDEX runs_occurrence ON runs (scheduled_at / 100, schedule_id, scheduled_at);
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_target ON runs (target_id, id);
CREATE INDEX runs_scheduled_at ON runs (scheduled_at);
CREATE INDEX runs_unassigned ON runs (scheduled_at) WHERE status = 'RUNNING' AND node_id = '';

CREATE TABLE run_index (
    schedule BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    run      BIGINT NOT NULL,
    PRIMARY KEY (schedule, at)
) WITHOUT ROWID;
CREATE TABLE run_index_state (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    upto BIGINT  NOT NULL
);
INSERT INTO run_index (schedule, at, run) SELECT schedule_id, scheduled_at, id FROM runs ORDER BY schedule_id, scheduled_at;
INSERT INTO run_index_state (id, upto) SELECT 1, COALESCE(MAX(scheduled_at) + 1, 0) FROM runs;
CREATE TRIGGER runs_index_insert AFTER INSERT ON runs
WHEN NEW.scheduled_at - (SELECT upto FROM run_index_state WHERE id = 1) NOT BETWEEN 0 AND 599999
BEGIN
    INSERT INTO run_index (schedule, at, run) VALUES (NEW.schedule_id, NEW.scheduled_at, NEW.id) ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER runs_index_delete AFTER DELETE ON runs
BEGIN
    DELETE FROM run_index WHERE schedule = OLD.schedule_id AND at = OLD.scheduled_at;
END;
