-- The dispatcher lease's epoch under which a claim inserted the run, on a
-- database several nodes share: which leader claimed it. 0: a run not
-- claimed under a lease (a database of one node, a manual run, a backfill).
ALTER TABLE runs ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0;
