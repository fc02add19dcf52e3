-- Header names, besides the built-in ones (Authorization, Cookie, ...), whose
-- values the API masks: a JSON array of strings.
ALTER TABLE targets ADD COLUMN secret_headers TEXT NOT NULL DEFAULT '[]';
