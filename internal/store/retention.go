package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// finishedCounted is the number of a schedule's finished runs its run_stats
// row (alias r) has counted, pruned ones included.
const finishedCounted = `(r.runs_success + r.runs_failed + r.runs_timeout + r.runs_dns_error + r.runs_connection_error +
	r.runs_interrupted)`

// keepCandidate is a schedule that may keep more finished runs than its cap.
type keepCandidate struct {
	id       int64
	keep     int64 // its cap: keep_runs, or the default
	finished int64 // finishedCounted when it was read
}

// PruneKeptRuns deletes up to limit finished runs (and their attempts) of
// the schedules that keep more than their cap: keep_runs, or keepDefault for
// a schedule without one (0: no cap). Of such a schedule it keeps the newest
// cap finished runs, by scheduled_at, and deletes the older finished ones;
// a run not yet finished is never deleted and not counted. It returns how
// many it deleted; fewer than limit means the pass is done. Counters are
// left as they are.
//
// It reads the runs of a schedule only when they may exceed its cap: the
// schedule's counters minus runs_gone (the finished runs known deleted at
// its last check) bound what it keeps, so a pass costs one read of the
// capped schedules' counters plus, for each schedule that ran past its cap
// since, a walk of its newest cap runs on its index (scheduleRuns). Each deletion is a transaction of its own, of at most limit runs.
func (db *DB) PruneKeptRuns(ctx context.Context, keepDefault, limit int) (int64, error) {
	if limit <= 0 || keepDefault < 0 {
		return 0, nil
	}
	cands, err := db.keepCandidates(ctx, keepDefault)
	if err != nil {
		return 0, err
	}
	var (
		deleted int64
		marks   []keepMark
	)
	for _, c := range cands {
		if deleted >= int64(limit) || ctx.Err() != nil {
			break
		}
		boundary, kept, err := db.keepBoundary(ctx, c)
		if err != nil {
			return deleted, err
		}
		if boundary == nil {
			// Within its cap (runs were pruned by age, or are running):
			// remember how many are gone, so it is not read again until
			// enough new runs finish.
			marks = append(marks, keepMark{c.id, c.finished - kept})
			continue
		}
		n, err := db.deleteBeyondKeep(ctx, c, keepDefault, *boundary, int64(limit)-deleted)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	if err := db.markRunsGone(ctx, marks); err != nil {
		return deleted, err
	}
	return deleted, nil
}

// keepCandidates returns, by id, the schedules with a cap whose counters
// exceed it by more than the runs known gone. Without a default only those
// with keep_runs are read, through their partial index.
func (db *DB) keepCandidates(ctx context.Context, keepDefault int) ([]keepCandidate, error) {
	keep, where, args := "s.keep_runs", "s.keep_runs IS NOT NULL AND ", []any(nil)
	if keepDefault > 0 {
		keep, where, args = "COALESCE(s.keep_runs, ?)", "", []any{keepDefault, keepDefault}
	}
	q := `SELECT s.id, ` + keep + `, ` + finishedCounted + ` FROM schedules s JOIN run_stats r ON r.scope = s.id
		WHERE ` + where + finishedCounted + ` - s.runs_gone > ` + keep + ` ORDER BY s.id`
	var out []keepCandidate
	err := db.read(ctx, func(tx *tx) error {
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c keepCandidate
			if err := rows.Scan(&c.id, &c.keep, &c.finished); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// finishedRun are the conditions of a run that retention may delete.
var finishedRun = []string{"status <> 'RUNNING'", "finished_at IS NOT NULL"}

// keepBoundary returns the scheduled_at of the oldest finished run c keeps
// (its keep-th newest) when older finished runs are to go; otherwise nil
// and the number of finished runs it has, at most its cap. It only reads,
// so the walk never holds the writer.
func (db *DB) keepBoundary(ctx context.Context, c keepCandidate) (*int64, int64, error) {
	var (
		boundary *int64
		kept     int64
	)
	err := db.read(ctx, func(tx *tx) error {
		var at int64
		q, args := tx.d.scheduleRuns("scheduled_at", c.id, finishedRun, nil, "DESC", 1, int(c.keep-1))
		err := tx.queryRow(ctx, q, args...).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			q, args := tx.d.scheduleRuns("id", c.id, finishedRun, nil, "", 0, 0)
			return tx.queryRow(ctx, "SELECT COUNT(*) FROM ("+q+") AS kept", args...).Scan(&kept)
		} else if err != nil {
			return err
		}
		var older int
		q, args = tx.d.scheduleRuns("id", c.id, append(slices.Clip(finishedRun), "{at} < ?"), []any{at}, "", 1, 0)
		err = tx.queryRow(ctx, "SELECT COUNT(*) FROM ("+q+") AS older", args...).Scan(&older)
		if err != nil {
			return err
		}
		if older == 0 {
			kept = c.keep // exactly its cap
			return nil
		}
		boundary = &at
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return boundary, kept, nil
}

// deleteBeyondKeep deletes up to batch finished runs of c scheduled before
// boundary, oldest first, unless its cap changed since it was read (the
// next pass sees the new one). Once none is left it records the runs gone.
func (db *DB) deleteBeyondKeep(ctx context.Context, c keepCandidate, keepDefault int, boundary, batch int64) (int64, error) {
	var n int64
	err := db.engineWrite(ctx, func(tx *tx) error {
		var keep sql.NullInt64
		err := tx.queryRow(ctx, "SELECT keep_runs FROM schedules WHERE id = ?"+tx.d.forUpdate, c.id).Scan(&keep)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // deleted meanwhile: its runs stay as history
		} else if err != nil {
			return err
		}
		current := int64(keepDefault)
		if keep.Valid {
			current = keep.Int64
		}
		if current != c.keep {
			return nil
		}
		// The batch is a range of the schedule's index, up to its batch-th
		// finished run, so the delete reads only that range (PostgreSQL may
		// plan "id IN (SELECT ... LIMIT ?)" as a scan of the whole table, so
		// it deletes the range of its (schedule_id, scheduled_at) key).
		upper := boundary
		var at int64
		before := append(slices.Clip(finishedRun), "{at} < ?")
		q, args := tx.d.scheduleRuns("scheduled_at", c.id, before, []any{boundary}, "ASC", 1, int(batch-1))
		err = tx.queryRow(ctx, q, args...).Scan(&at)
		if err == nil {
			upper = at + 1
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		del, delArgs := `DELETE FROM runs
			WHERE schedule_id = ? AND scheduled_at < ? AND status <> 'RUNNING' AND finished_at IS NOT NULL`, []any{c.id, upper}
		if tx.d.runIndex {
			q, args := tx.d.scheduleRuns("id", c.id, before, []any{upper}, "", 0, 0)
			del, delArgs = "DELETE FROM runs WHERE id IN ("+q+")", args
		}
		res, err := tx.exec(ctx, del, delArgs...)
		if err != nil {
			return fmt.Errorf("prune runs of schedule %d: %w", c.id, err)
		}
		if n, err = res.RowsAffected(); err != nil || n == batch {
			return err // maybe more to delete: the next batch checks again
		}
		// It keeps its cap of finished runs, plus those that finished since c was read.
		_, err = tx.exec(ctx, "UPDATE schedules SET runs_gone = ? WHERE id = ?", c.finished-c.keep, c.id)
		return err
	})
	return n, err
}

// markChunk is the most runs_gone updates one transaction writes.
const markChunk = 500

// keepMark is a schedule's runs_gone as a check found it.
type keepMark struct{ id, gone int64 }

// markRunsGone records runs_gone of schedules found within their cap, in
// id order (the order every transaction locks schedules in), a few hundred
// per transaction.
func (db *DB) markRunsGone(ctx context.Context, marks []keepMark) error {
	for start := 0; start < len(marks); start += markChunk {
		chunk := marks[start:min(start+markChunk, len(marks))]
		err := db.engineWrite(ctx, func(tx *tx) error {
			for _, m := range chunk {
				if _, err := tx.exec(ctx, "UPDATE schedules SET runs_gone = ? WHERE id = ?", m.gone, m.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// MinuteStatsKept is how long the per-minute counters are kept: the
// dashboard charts the last 24 hours, and a week leaves room to look back
// at the days before.
const MinuteStatsKept = 7 * 24 * time.Hour

// PruneHousekeeping deletes what would otherwise grow without end: the
// per-minute counters older than MinuteStatsKept and the record of
// dashboard logouts whose sessions have expired; with a run cutoff (not
// zero), up to limit schedule events and delivered or failed
// notifications from before it, as old as the runs pruned with it. It
// returns how many rows it deleted.
func (db *DB) PruneHousekeeping(ctx context.Context, runCutoff time.Time, limit int) (int64, error) {
	var total int64
	err := db.engineWrite(ctx, func(tx *tx) error {
		now := db.now()
		// The minute is the table's key: a range, never a scan.
		stmts := [][]any{
			{"DELETE FROM run_stats_minute WHERE minute < ?", ms(now.Add(-MinuteStatsKept))},
			{"DELETE FROM dashboard_logouts WHERE expires_at < ?", ms(now)},
		}
		if !runCutoff.IsZero() {
			// The oldest ids alone, as for the misses: a pass with nothing
			// to delete reads limit rows, not the table.
			stmts = append(stmts,
				[]any{"DELETE FROM schedule_events WHERE id IN (SELECT id FROM schedule_events ORDER BY id LIMIT ?) AND at < ?",
					limit, ms(runCutoff)},
				// Notifications are few (one per alert transition): the filter
				// goes inside, so a pending one among the oldest never stalls
				// the deletion of the finished ones after it.
				[]any{"DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created_at < ? AND status <> 'pending' ORDER BY id LIMIT ?)",
					ms(runCutoff), limit})
		}
		total = 0 // a retried transaction counts again
		for _, s := range stmts {
			res, err := tx.exec(ctx, s[0].(string), s[1:]...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}
