-- keep_runs caps the finished runs a schedule keeps; NULL applies the
-- service's RUN_KEEP_PER_SCHEDULE (0: no cap).
ALTER TABLE schedules ADD COLUMN keep_runs BIGINT;
-- runs_gone is how many of the schedule's finished runs (counted in
-- run_stats) were already deleted when retention last checked its cap, so
-- the counters minus runs_gone bound the finished runs it keeps: retention
-- looks at a schedule's runs only when that bound exceeds its cap.
ALTER TABLE schedules ADD COLUMN runs_gone BIGINT NOT NULL DEFAULT 0;
CREATE INDEX schedules_keep_runs ON schedules (id) WHERE keep_runs IS NOT NULL;
