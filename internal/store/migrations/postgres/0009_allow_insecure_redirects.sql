-- allow_insecure_redirects: the target's https requests may follow a
-- redirect to http; otherwise such a run fails with insecure_redirect.
ALTER TABLE targets ADD COLUMN allow_insecure_redirects BOOLEAN NOT NULL DEFAULT FALSE;
