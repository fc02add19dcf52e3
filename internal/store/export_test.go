package store

import (
	"database/sql"
	"time"
)

// Readers returns the pool the store's reads use, so that a test can hold
// every connection of it.
func (db *DB) Readers() *sql.DB { return db.r }

// LastWriteAt returns when the store's last write transaction (or write
// probe) that committed began, by the store's clock.
func (db *DB) LastWriteAt() time.Time { return fromMs(db.writes.okAt.Load()) }

// Writer returns the store's writer pool (SQLite: its one connection).
func (db *DB) Writer() *sql.DB { return db.w }

// Unavailable is the dialect's reading of err as the database being
// unavailable ("" when it is not), for driver ("sqlite" or "postgres").
func Unavailable(driver string, err error) string {
	if driver == "postgres" {
		return postgresDialect().unavailable(err)
	}
	return sqliteDialect().unavailable(err)
}

// SetIndexRunsAfterRead makes IndexRuns call fn between its read of the
// tail and its writes, where runs written meanwhile must still be indexed.
func (db *DB) SetIndexRunsAfterRead(fn func()) { db.indexAfterRead = fn }

// ScheduleRunsQuery is the query the store reads one schedule's runs with
// (scheduleRuns), for a test to look at its plan.
func (db *DB) ScheduleRunsQuery(cols string, id int64, cond []string, args []any, order string, limit, offset int) (string, []any) {
	return db.d.scheduleRuns(cols, id, cond, args, order, limit, offset)
}
