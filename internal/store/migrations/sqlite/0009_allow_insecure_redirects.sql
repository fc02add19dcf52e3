-- allow_insecure_redirects = 1: the target's https requests may follow a
-- redirect to http; otherwise such a run fails with insecure_redirect.
ALTER TABLE targets ADD COLUMN allow_insecure_redirects INTEGER NOT NULL DEFAULT 0;
