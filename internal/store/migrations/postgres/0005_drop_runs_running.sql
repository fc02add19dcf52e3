-- SQLite drops runs_running in its 0005 (it deletes index entries as rows
-- change, and its RUNNING runs are few). PostgreSQL keeps it: an update
-- leaves the old row version's entries in runs_status until vacuum, so a
-- scan of status = 'RUNNING' there walks every run updated since, while
-- runs_running answers "which of these schedules have a RUNNING run"
-- through the entries of those schedules alone. (A statement, so that the
-- numbering stays the same in both dialects.)
SELECT 1;
