-- attempt_in_run = 1: the run's only attempt is the run itself (same status,
-- times, latency, code, size, error and timings) and has no attempts row;
-- reads give it back as attempt 1. Most runs make one attempt, and one row
-- written per run instead of two is what the engine's writer can spare.
ALTER TABLE runs ADD COLUMN attempt_in_run INTEGER NOT NULL DEFAULT 0;
