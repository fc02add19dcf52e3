-- A target's retry policy: the classes retried (a JSON list; NULL: the
-- defaults) and the backoff's first step and cap in milliseconds (NULL: the
-- defaults).
ALTER TABLE targets ADD COLUMN retry_on TEXT;
ALTER TABLE targets ADD COLUMN retry_backoff_ms INTEGER;
ALTER TABLE targets ADD COLUMN retry_max_backoff_ms INTEGER;
