-- A target's Standard Webhooks signing secrets: a JSON list, each value
-- encrypted with SECRET_KEY when it is set, as secret header values are.
ALTER TABLE targets ADD COLUMN signing_secrets TEXT NOT NULL DEFAULT '';
