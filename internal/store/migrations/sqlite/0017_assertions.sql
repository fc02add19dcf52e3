-- Success checks: a target's assertions (a JSON list; '' none), a
-- schedule's own that replace them (NULL: the target's), and the assertion
-- a run's response failed, with what it saw (JSON; '' none).
ALTER TABLE targets ADD COLUMN assertions TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN assertions TEXT;
ALTER TABLE runs ADD COLUMN failed_assertion TEXT NOT NULL DEFAULT '';
