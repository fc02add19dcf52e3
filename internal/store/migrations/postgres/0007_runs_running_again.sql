-- Recreates runs_running where it is missing. The first version of 0005
-- dropped it on PostgreSQL too, and a later commit changed that released
-- file into a no-op instead of adding a migration: a database migrated in
-- between had recorded version 5 and kept no index. IF NOT EXISTS makes this
-- a no-op everywhere else. (Migrations are append-only: see manifest.sha256.)
CREATE INDEX IF NOT EXISTS runs_running ON runs (schedule_id) WHERE status = 'RUNNING';
