package store

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A schedule's runs on SQLite (migration 0030). The runs' unique key is by
// time, runs_occurrence (scheduled_at / 100, schedule_id, scheduled_at), so a
// claim writes a few of its pages however many schedules it fires. A
// schedule's runs are found in two parts:
//
//   - run_index (schedule, at, run), in the schedule's order, written in bulk
//     by IndexRuns every few seconds: a schedule's rows of that time share a
//     page, instead of each claim writing one page per schedule. It holds
//     every run scheduled outside the tail.
//   - the tail, the runs scheduled in [upto, upto + runIndexWindow)
//     (run_index_state.upto), read from runs_occurrence with one seek per
//     slot of 100 ms between upto and the newest run.
//
// A run written with scheduled_at outside the tail (a backfill, a late
// claim, a clock set back) is indexed at once by the runs_index_insert
// trigger; a deleted run's row goes with it (runs_index_delete). IndexRuns
// indexes the runs from upto to runIndexLag ago and moves upto there, in
// the transaction of its last piece, so every run is always in exactly one
// part of a read.
const (
	// runIndexWindow is the tail's longest span (the triggers' 599999).
	runIndexWindow = 10 * time.Minute
	// runIndexEvery is how often the store indexes the tail: a schedule's
	// runs of that long share a page write of run_index.
	runIndexEvery = 30 * time.Second
	// runIndexLag keeps the last seconds in the tail, where claims still
	// write (a run is claimed a little after its time).
	runIndexLag = 5 * time.Second
	// runIndexPiece is the most runs one transaction indexes: a few
	// milliseconds of the writer.
	runIndexPiece = 1000
	// runIndexPause separates the pieces of the store's own passes, so a
	// pass spreads over seconds instead of holding the writer for one:
	// written back to back, the pieces of 10 s at 7,500 runs/s made every
	// tenth second's p99 lateness 250-400 ms (docs/benchmarks.md).
	runIndexPause = 20 * time.Millisecond
	// runIndexReadSpan is how much of the span one read takes.
	runIndexReadSpan = time.Second
)

// uptoSQL is the tail's start, read in the statement's own snapshot.
const uptoSQL = "(SELECT upto FROM run_index_state WHERE id = 1)"

// slotCTE is the recursive CTE slot(x) of the tail's slots (scheduled_at /
// 100) from upto (an expression of the tail's start) up to the newest run:
// a read seeks each in runs_occurrence with its schedule.
func slotCTE(upto string) string {
	return "slot(x) AS (SELECT " + upto + " / 100 UNION ALL SELECT x + 1 FROM slot WHERE x < " +
		"MIN((SELECT MAX(scheduled_at) FROM runs), " + upto + " + " + strconv.FormatInt(runIndexWindow.Milliseconds()-1, 10) + ") / 100)"
}

// inTail is the condition that the time at (a column) lies in the tail that
// starts at upto; outsideTail is its complement, run_index's part.
func inTail(at, upto string) string {
	return at + " >= " + upto + " AND " + at + " < " + upto + " + " + strconv.FormatInt(runIndexWindow.Milliseconds(), 10)
}

func outsideTail(at, upto string) string {
	return "(" + at + " < " + upto + " OR " + at + " >= " + upto + " + " + strconv.FormatInt(runIndexWindow.Milliseconds(), 10) + ")"
}

// scheduleRuns builds a query over one schedule's runs: cols of runs (with
// scheduled_at when order is set), the conditions cond (joined by AND; "{at}"
// stands for the run's scheduled_at, so that a range narrows the index it is
// read from), in order of scheduled_at ("ASC", "DESC", or "" for none), at
// most limit rows after offset (limit 0: all). The query's arguments are
// returned with it.
func (d dialect) scheduleRuns(cols string, id int64, cond []string, args []any, order string, limit, offset int) (string, []any) {
	member := func(from, key, at string) (string, []any) {
		q := "SELECT " + cols + " FROM " + from + " WHERE " + key
		for _, c := range cond {
			q += " AND " + strings.ReplaceAll(c, "{at}", at)
		}
		a := append([]any{id}, args...)
		if order != "" {
			q += " ORDER BY " + at + " " + order
		}
		return q, a
	}
	if !d.runIndex {
		q, a := member("runs", "schedule_id = ?", "scheduled_at")
		if limit > 0 {
			q, a = q+" LIMIT ? OFFSET ?", append(a, limit, offset)
		}
		return q, a
	}
	// Both parts are held to their keys: with a filter on status or target,
	// SQLite planned the tail through runs_status or runs_target, reading
	// every run of that status in the table and sorting them (1 million
	// runs: 160-340 ms a page instead of under 1 ms). CROSS JOIN keeps
	// run_index the outer table.
	side, sideArgs := member("run_index CROSS JOIN runs ON runs.id = run_index.run",
		"run_index.schedule = ? AND "+outsideTail("run_index.at", uptoSQL), "run_index.at")
	tail, tailArgs := member("runs INDEXED BY runs_occurrence", "scheduled_at / 100 IN (WITH RECURSIVE "+slotCTE(uptoSQL)+
		" SELECT x FROM slot) AND schedule_id = ? AND "+inTail("scheduled_at", uptoSQL), "scheduled_at")
	if limit > 0 {
		// Each part gives at most what the page can use.
		side, sideArgs = side+" LIMIT ?", append(sideArgs, limit+offset)
		tail, tailArgs = tail+" LIMIT ?", append(tailArgs, limit+offset)
	}
	q := "SELECT * FROM (" + tail + ") AS tail UNION ALL SELECT * FROM (" + side + ") AS side"
	a := append(tailArgs, sideArgs...)
	if order != "" {
		q += " ORDER BY scheduled_at " + order
	}
	if limit > 0 {
		q, a = q+" LIMIT ? OFFSET ?", append(a, limit, offset)
	}
	return q, a
}

// IndexRuns writes the run_index rows of the runs scheduled from upto to
// runIndexLag ago and moves upto there (SQLite; nothing elsewhere). It
// reads them without the writer, then writes them in pieces of
// runIndexPiece in the schedules' order; the last piece also takes the runs
// written since the read and moves upto. It returns how many runs it
// indexed. The store calls it every runIndexEvery; tests call it directly.
func (db *DB) IndexRuns(ctx context.Context) (int, error) { return db.indexRuns(ctx, 0) }

// indexRuns is IndexRuns with pause between its pieces.
func (db *DB) indexRuns(ctx context.Context, pause time.Duration) (int, error) {
	if !db.d.runIndex {
		return 0, nil
	}
	db.indexMu.Lock()
	defer db.indexMu.Unlock()
	target := ms(db.now().Add(-runIndexLag))
	type entry struct{ schedule, at, id int64 }
	var (
		upto, maxID int64
		found       []entry
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT upto FROM run_index_state WHERE id = 1").Scan(&upto); err != nil {
			return err
		}
		return tx.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM runs").Scan(&maxID)
	})
	if err != nil || target <= upto {
		return 0, err
	}
	// Runs from upto + runIndexWindow on were indexed when written. The
	// span is read a second of it at a time (a read of half a minute took
	// the cores from the claims for a few hundred milliseconds), from
	// runs_occurrence, which holds all three columns: no row of runs is
	// read. A run written after the first read is taken by the last piece
	// (its id is above maxID); one deleted meanwhile is left out by its piece.
	until := min(target, upto+runIndexWindow.Milliseconds())
	for from := upto; from < until; from += runIndexReadSpan.Milliseconds() {
		if from > upto && !pauseFor(ctx, pause) {
			return 0, ctx.Err()
		}
		to := min(from+runIndexReadSpan.Milliseconds(), until)
		err := db.read(ctx, func(tx *tx) error {
			rows, err := tx.query(ctx, `SELECT schedule_id, scheduled_at, id FROM runs
				WHERE scheduled_at / 100 >= ? AND scheduled_at / 100 <= ? AND scheduled_at >= ? AND scheduled_at < ?`,
				from/100, to/100, from, to)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var e entry
				if err := rows.Scan(&e.schedule, &e.at, &e.id); err != nil {
					return err
				}
				found = append(found, e)
			}
			return rows.Err()
		})
		if err != nil {
			return 0, err
		}
	}
	if db.indexAfterRead != nil {
		db.indexAfterRead()
	}
	slices.SortFunc(found, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.schedule, b.schedule), cmp.Compare(a.at, b.at))
	})
	// A piece indexes the runs of its ids that are still there, so a run
	// deleted since the read leaves no row behind.
	const insert = "INSERT INTO run_index (schedule, at, run) SELECT schedule_id, scheduled_at, id FROM runs WHERE "
	const upsert = " ORDER BY schedule_id, scheduled_at ON CONFLICT (schedule, at) DO UPDATE SET run = excluded.run"
	for lo := 0; lo < len(found); lo += runIndexPiece {
		if lo > 0 && !pauseFor(ctx, pause) {
			return 0, ctx.Err()
		}
		piece := found[lo:min(lo+runIndexPiece, len(found))]
		ids := make([]any, len(piece))
		for i, e := range piece {
			ids[i] = e.id
		}
		if err := db.engineWrite(ctx, func(tx *tx) error {
			_, err := tx.exec(ctx, insert+"id IN ("+placeholders(len(ids))+")"+upsert, ids...)
			return err
		}); err != nil {
			return 0, err
		}
	}
	err = db.engineWrite(ctx, func(tx *tx) error {
		// By id (the runs written since the read, a few), not the span's
		// index: that would read the whole span again while holding the writer.
		if _, err := tx.exec(ctx, insert+"id > ? AND +scheduled_at >= ? AND +scheduled_at < ?"+upsert,
			maxID, upto, min(target, upto+runIndexWindow.Milliseconds())); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "UPDATE run_index_state SET upto = ? WHERE id = 1 AND upto = ?", target, upto)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(found), nil
}

// pauseFor waits d (nothing for 0) and reports whether ctx is still live.
func pauseFor(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// indexLoop calls IndexRuns every runIndexEvery until ctx ends, and logs a
// failure once until it succeeds again (the tail only grows meanwhile).
func (db *DB) indexLoop(ctx context.Context) {
	t := time.NewTicker(runIndexEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := db.indexRuns(ctx, runIndexPause)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			db.logger.Warn("indexing runs by schedule failed; the next pass tries again", "error", err)
			failing = true
		case err == nil:
			failing = false
		}
	}
}

// recentRunsSQL is RecentOutcomes' query on SQLite: the newest n runs of
// each of ids (schedule_id, scheduled_at, status), ordered by schedule and
// newest first, with possibly more than n of a schedule from the tail (the
// caller keeps n). The tail is read once for all ids and the side is a
// short part per schedule: the statement built from scheduleRuns for each
// schedule was long enough that preparing it took 40% of the call.
func recentRunsSQL(ids []int64, n int) (string, []any) {
	const upto = "(SELECT upto FROM st)"
	var b strings.Builder
	b.WriteString("WITH RECURSIVE st AS MATERIALIZED (SELECT upto FROM run_index_state WHERE id = 1), " + slotCTE(upto) + " ")
	b.WriteString("SELECT schedule_id, scheduled_at, status FROM runs INDEXED BY runs_occurrence WHERE scheduled_at / 100 IN (SELECT x FROM slot) ")
	b.WriteString("AND schedule_id IN (" + placeholders(len(ids)) + ") AND " + inTail("scheduled_at", upto))
	args := make([]any, 0, 3*len(ids))
	args = append(args, int64Args(ids)...)
	side := " UNION ALL SELECT * FROM (SELECT schedule, at, status FROM run_index CROSS JOIN runs ON runs.id = run_index.run WHERE schedule = ? AND " +
		outsideTail("at", upto) + " ORDER BY at DESC LIMIT ?)"
	for _, id := range ids {
		b.WriteString(side)
		args = append(args, id, n)
	}
	b.WriteString(" ORDER BY 1, 2 DESC")
	return b.String(), args
}
