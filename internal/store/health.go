package store

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apicron/apicron"
)

// Ping implements apicron.Store: it checks that the database answers a
// query and takes writes. /health shows its message to anyone, without a
// token, so the message is fixed words (dialect.unavailable's): a driver's
// error can quote the database's host, user and name. The driver's error is
// logged instead, when the state changes.
//
// Whether the database takes writes is known from the outcome of the
// store's last write transaction (a client's or the engine's), so Ping
// costs the writer nothing while anything writes. When nothing has
// committed for probeEvery (no active schedule, no client), Ping runs the
// dialect's write probe, at most once per probeEvery, and only when the
// writer is free: it never queues before the engine's writes.
//
// Ping asks on a connection of its own (db.ping), not on the readers' pool:
// clients reading heavily (deep pages of a million runs) hold every reader
// for seconds, and a Ping queued behind them made /health answer 503 for a
// database that was answering, so that a load balancer would pull a healthy
// node. A connection is cheaper and more exact than a cached answer
// refreshed in the background: each /health asks now, and there is no
// goroutine to own. pingTimeout bounds the question, so a database that
// stops answering is reported within seconds whatever the caller's context.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	var one int
	if err := db.ping.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		why := "the database does not answer"
		if w := db.d.unavailable(err); w != "" {
			why += ": " + w
		}
		db.pinged.set(db.logger, "database check fails", why, err)
		return &apicron.Error{Code: apicron.EUNAVAILABLE, Message: why}
	}
	db.pinged.clear(db.logger, "database answers again")
	if db.writes.probeDue(db.clock.Now()) {
		db.probeWrites(ctx)
	}
	if why := db.writes.fault.get(); why != "" {
		return &apicron.Error{Code: apicron.EUNAVAILABLE, Message: "database writes fail: " + why}
	}
	return nil
}

// probeEvery is how long Ping trusts the last committed write (or probe)
// before it probes again.
const probeEvery = 5 * time.Second

// pingTimeout is how long Ping waits for the database (its question and, when
// due, the write probe) before it reports that the database does not answer.
const pingTimeout = 2 * time.Second

// pingOnOwn makes pool Ping's own connection: one, kept open, so that Ping
// never waits for a connection that a reader or the engine holds.
func pingOnOwn(pool *sql.DB) {
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
}

// writeState is what the store knows of whether the database takes writes.
type writeState struct {
	okAt     atomic.Int64 // unix ms of the last commit of a write transaction
	faulty   atomic.Bool  // fault is set: the next commit clears it
	fault    condition    // why the last write failed
	probedAt atomic.Int64 // unix ms of the last probe
	probing  atomic.Bool
}

// probeDue reports whether, at now, neither a commit nor a probe happened
// for probeEvery (or the clock went back).
func (w *writeState) probeDue(now time.Time) bool {
	last := max(w.okAt.Load(), w.probedAt.Load())
	return ms(now)-last >= probeEvery.Milliseconds() || ms(now) < last
}

// noteWrite records the outcome of a write transaction that began at at: a
// commit clears the fault, an error that means the database cannot be used
// (dialect.unavailable) sets it. Others (a conflict, a bad value, a
// cancelled request) say nothing about the database.
func (db *DB) noteWrite(at time.Time, err error) {
	w := &db.writes
	if err == nil {
		w.okAt.Store(ms(at))
		if w.faulty.Load() {
			w.faulty.Store(false)
			w.fault.clear(db.logger, "database writes work again")
		}
		return
	}
	if why := db.d.unavailable(err); why != "" {
		w.fault.set(db.logger, "database writes fail", why, err)
		w.faulty.Store(true)
	}
}

// probeWrites runs the write probe, unless one is under way or the writer
// is in use (then what uses it will be noted). It writes on db.probe: on
// SQLite the one writer connection, whose gate it takes only when free; on
// PostgreSQL Ping's own connection, since the pool that writes is also the
// readers' and may be held by them all.
func (db *DB) probeWrites(ctx context.Context) {
	w := &db.writes
	if !w.probing.CompareAndSwap(false, true) {
		return
	}
	defer w.probing.Store(false)
	if !db.gate.tryLock() {
		return
	}
	defer db.gate.unlock()
	w.probedAt.Store(ms(db.clock.Now()))
	err := db.runTx(ctx, db.probe, false, func(t *tx) error { return db.probeTx(ctx, t) })
	if err != nil && db.d.unavailable(err) == "" && ctx.Err() == nil {
		// A write that changes nothing failed for a reason of its own
		// (a privilege, a table gone): writes fail all the same.
		w.fault.set(db.logger, "database writes fail", "a test write failed", err)
		w.faulty.Store(true)
	}
}

// probeTx runs the dialect's write probe in t.
func (db *DB) probeTx(ctx context.Context, t *tx) error {
	for _, q := range db.d.writeProbe {
		if _, err := t.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// checkWritable makes sure, before anything else is written, that the
// database takes writes: a scheduler that cannot record its runs must not
// start as if it could. The probe's table is created first on a new
// database, itself a write, under the migration lock: nodes starting at
// once would otherwise race to create it.
func (db *DB) checkWritable(ctx context.Context) error {
	err := db.runTx(ctx, db.w, false, func(t *tx) error {
		if db.d.migrationLock != "" {
			if _, err := t.ExecContext(ctx, db.d.migrationLock); err != nil {
				return err
			}
		}
		if _, err := t.ExecContext(ctx, migrationsTableSQL); err != nil {
			return err
		}
		return db.probeTx(ctx, t)
	})
	if err != nil {
		return db.d.notWritable(ctx, db, err)
	}
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

// get returns the fault, "" when there is none.
func (c *condition) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}
