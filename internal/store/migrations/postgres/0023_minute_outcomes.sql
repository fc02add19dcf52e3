-- The per-minute counters by outcome, with the minute's latency and
-- lateness histograms (apicron.Histogram, encoded), so that charts over
-- hours read one row a minute and never the runs.
ALTER TABLE run_stats_minute ADD COLUMN runs_success BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats_minute ADD COLUMN runs_failed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats_minute ADD COLUMN runs_timeout BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats_minute ADD COLUMN runs_dns_error BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats_minute ADD COLUMN runs_connection_error BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats_minute ADD COLUMN runs_interrupted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_stats_minute ADD COLUMN latency_histogram TEXT NOT NULL DEFAULT '';
ALTER TABLE run_stats_minute ADD COLUMN lateness_histogram TEXT NOT NULL DEFAULT '';
