package store

import (
	"context"
	"log/slog"
	"sync"

	"github.com/apicron/apicron"
)

// Ping implements apicron.Store: it checks that the database answers a
// query. /health shows its message to anyone, without a token, so the
// message is fixed words (dialect.unavailable's): a driver's error can quote
// the database's host, user and name. The driver's error is logged instead,
// when the state changes.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		why := "the database does not answer"
		if w := db.d.unavailable(err); w != "" {
			why += ": " + w
		}
		db.pinged.set(db.logger, "database check fails", why, err)
		return &apicron.Error{Code: apicron.EUNAVAILABLE, Message: why}
	}
	db.pinged.clear(db.logger, "database answers again")
	return nil
}

// condition is a fault that lasts: it is logged when it begins or its
// reason changes, and when it ends, not at every check that sees it.
type condition struct {
	mu  sync.Mutex
	why string // "" while all is well
}

// set records the fault why, caused by err; it logs at Warn when why is new.
func (c *condition) set(logger *slog.Logger, msg, why string, err error) {
	c.mu.Lock()
	changed := c.why != why
	c.why = why
	c.mu.Unlock()
	if changed {
		logger.Warn(msg, "why", why, "err", err)
	}
}

// clear ends the fault, if any, and logs msg at Info when it did.
func (c *condition) clear(logger *slog.Logger, msg string) {
	c.mu.Lock()
	was := c.why
	c.why = ""
	c.mu.Unlock()
	if was != "" {
		logger.Info(msg, "was", was)
	}
}
