-- SQLite's runs get a unique key by time and a schedule index written in
-- bulk here (its write-ahead log writes a whole page per changed page at
-- every commit). PostgreSQL logs the change to a page, not the page, at
-- each commit: its runs keep UNIQUE (schedule_id, scheduled_at).
SELECT 1;
