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

// KeyedJoin is a batched join of the claim or of a result write, as the
// store runs it on its dialect, for a test to look at its plan.
type KeyedJoin struct {
	Name, SQL string
	Args      []any
}

// KeyedJoins are the claim's advance of next_run_at and count of skips and
// misses, and the result write's read and update of run_stats, for the
// schedules keys (a power of
// two of them), with arguments of the shape the store gives them.
func (db *DB) KeyedJoins(keys []int64) []KeyedJoin {
	n := len(keys)
	var advance, update, skips []any
	for _, k := range keys {
		advance = append(advance, k, int64(1), int64(1))
		skips = append(skips, k, int64(1), int64(0))
		update = append(update, k, 1, 0, 0, 0, 0, 0, 1.0, 1, "", int64(1), "SUCCESS", 1.0, 1.0, 0, 1, nil)
	}
	return []KeyedJoin{
		{"advance", db.d.rebind(advanceSQL.sql(db.d, n)), keyedArgs(db.d, advance, keys)},
		{"counters read", db.d.rebind(statsReadSQL.sql(db.d, n)), keyedArgs(db.d, int64Args(keys), keys)},
		{"counters update", db.d.rebind(statsUpdateSQL.sql(db.d, n)), keyedArgs(db.d, update, keys)},
		{"skips and misses", db.d.rebind(claimStatsSQL.sql(db.d, n)), keyedArgs(db.d, skips, keys)},
	}
}
