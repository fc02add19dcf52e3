-- A target's rate limit: requests per second to its host (NULL: none) and
-- the bucket's burst. How long a run waited for its host (its rate limit or
-- a HOST_MAX_CONCURRENCY slot), in milliseconds: 0 when it did not wait.
ALTER TABLE targets ADD COLUMN rate_per_second DOUBLE PRECISION;
ALTER TABLE targets ADD COLUMN rate_burst INTEGER;
ALTER TABLE runs ADD COLUMN waited_ms BIGINT NOT NULL DEFAULT 0;
