-- PostgreSQL recreates runs_running here where its first 0005 dropped it;
-- SQLite drops that index on purpose (see 0005). A statement, so that the
-- numbering stays the same in both dialects.
SELECT 1;
