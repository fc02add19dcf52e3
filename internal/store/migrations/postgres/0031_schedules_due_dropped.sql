-- schedules_due (next_run_at of ACTIVE schedules) is read by nothing: the
-- scheduler keeps each schedule's next occurrence in memory and reads them
-- all at start. Each claim moved every fired schedule's entry in it, and on
-- PostgreSQL the index on next_run_at made that update a new row version
-- with an entry in every index of schedules instead of a HOT update on the
-- same page. Room on each page for those updates: schedules are updated
-- about as often as they fire, and are few beside their runs.
DROP INDEX IF EXISTS schedules_due;
ALTER TABLE schedules SET (fillfactor = 70);
