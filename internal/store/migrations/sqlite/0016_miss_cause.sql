-- Why a coalesced or misfired occurrence was claimed late: down (it came
-- due before the claiming process started) or overloaded (the process was
-- running, but claimed it late, or the dispatcher lease was changing hands).
ALTER TABLE misses ADD COLUMN cause TEXT NOT NULL DEFAULT '';
