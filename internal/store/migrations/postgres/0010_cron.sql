-- CRON schedules: the expression, and the IANA zone whose wall clock it
-- reads. Every schedule has a zone; intervals are elapsed time and ignore it.
ALTER TABLE schedules ADD COLUMN cron_expression TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
