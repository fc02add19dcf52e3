-- The least and greatest latency each scope's runs took: the percentiles
-- read from the histogram (a bucket's middle) are held within them. NULL
-- until the first result after this migration fills them.
ALTER TABLE run_stats ADD COLUMN latency_min_ms DOUBLE PRECISION;
ALTER TABLE run_stats ADD COLUMN latency_max_ms DOUBLE PRECISION;
