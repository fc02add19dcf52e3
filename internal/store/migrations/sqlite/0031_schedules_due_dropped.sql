-- schedules_due (next_run_at of ACTIVE schedules) is read by nothing: the
-- scheduler keeps each schedule's next occurrence in memory and reads them
-- all at start. Each claim moved every fired schedule's entry in it.
DROP INDEX IF EXISTS schedules_due;
