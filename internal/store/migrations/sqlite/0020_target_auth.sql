-- A target's OAuth 2.0 client credentials and TLS client certificate, each a
-- JSON object ('' for none) whose secret (client_secret, key_pem) is
-- encrypted with SECRET_KEY when it is set, as secret header values are.
ALTER TABLE targets ADD COLUMN oauth2 TEXT NOT NULL DEFAULT '';
ALTER TABLE targets ADD COLUMN client_cert TEXT NOT NULL DEFAULT '';
