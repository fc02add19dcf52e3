-- retry_interrupted: an occurrence whose node stopped mid-request (killed,
-- cut off, shut down past its grace) is run again, with the same
-- Idempotency-Key, instead of being recorded INTERRUPTED (at-least-once).
ALTER TABLE schedules ADD COLUMN retry_interrupted BOOLEAN NOT NULL DEFAULT FALSE;
-- How many times a run was given back to be run again after its node
-- stopped, and why the last time (NULL: never).
ALTER TABLE runs ADD COLUMN reruns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN rerun_reason TEXT;
