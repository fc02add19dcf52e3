-- The overlap check finds a schedule's RUNNING run through runs_status
-- (status, id): the RUNNING runs are few, and that index is appended to in
-- id order. runs_running was keyed by schedule, so every claim and every
-- result wrote a page of it chosen at random.
DROP INDEX runs_running;
