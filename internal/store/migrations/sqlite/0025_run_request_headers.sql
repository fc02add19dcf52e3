-- The target's own headers as a run sent them (JSON; secret values
-- masked); NULL when it sent none of its own.
ALTER TABLE runs ADD COLUMN request_headers TEXT;
