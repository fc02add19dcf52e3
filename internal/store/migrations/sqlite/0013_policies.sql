-- Overlap and misfire policies: what an occurrence does that finds a run of
-- its schedule in flight (skip, buffer_one, allow up to max_parallel,
-- replace), and what occurrences missed while apicron was down or
-- overloaded do (coalesce, skip, catch_up at most catch_up_max).
ALTER TABLE schedules ADD COLUMN overlap_policy TEXT NOT NULL DEFAULT 'skip';
ALTER TABLE schedules ADD COLUMN max_parallel INTEGER;
ALTER TABLE schedules ADD COLUMN misfire_policy TEXT NOT NULL DEFAULT 'coalesce';
ALTER TABLE schedules ADD COLUMN catch_up_max INTEGER;
