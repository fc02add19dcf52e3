-- The token of the take that assigned a claimed run to its node (a random
-- number per take, on a database several nodes share). A take whose commit
-- succeeded but whose answer was lost leaves its runs on a node that does
-- not know them; that node gives them back to the queue by this token.
ALTER TABLE runs ADD COLUMN take_token BIGINT NOT NULL DEFAULT 0;
