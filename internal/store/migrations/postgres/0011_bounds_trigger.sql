-- ONCE schedules (run_at), bounds (start_at, end_at), max_runs with the
-- count of runs the timetable has fired, jitter, the misfire grace, and a
-- pause's reason and automatic end. Times are unix milliseconds, as elsewhere.
ALTER TABLE schedules ADD COLUMN run_at BIGINT;
ALTER TABLE schedules ADD COLUMN start_at BIGINT;
ALTER TABLE schedules ADD COLUMN end_at BIGINT;
ALTER TABLE schedules ADD COLUMN max_runs BIGINT;
ALTER TABLE schedules ADD COLUMN run_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN jitter_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN misfire_grace_seconds INTEGER;
ALTER TABLE schedules ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN paused_until BIGINT;
-- What started a run (schedule, manual, backfill, catch_up), and the jitter
-- its occurrence was delayed by.
ALTER TABLE runs ADD COLUMN run_trigger TEXT NOT NULL DEFAULT 'schedule';
ALTER TABLE runs ADD COLUMN jitter_ms BIGINT NOT NULL DEFAULT 0;
