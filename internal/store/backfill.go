package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/apicron/apicron"
)

const backfillColumns = `id, schedule_id, since_at, until_at, rate_per_second, status, total, inserted, existing, next_at,
	created_at, updated_at, finished_at`

func scanBackfill(row scanner) (*apicron.Backfill, error) {
	var (
		b                             apicron.Backfill
		status                        string
		since, until, created, update int64
		next, finished                sql.NullInt64
	)
	if err := row.Scan(&b.ID, &b.ScheduleID, &since, &until, &b.RatePerSecond, &status, &b.Total, &b.Inserted, &b.Existing,
		&next, &created, &update, &finished); err != nil {
		return nil, err
	}
	b.Status = apicron.BackfillStatus(status)
	b.Since, b.Until, b.CreatedAt, b.UpdatedAt = fromMs(since), fromMs(until), fromMs(created), fromMs(update)
	b.Next, b.FinishedAt = timePtr(next), timePtr(finished)
	return &b, nil
}

// CreateBackfill implements apicron.Store: it records a backfill of the
// occurrences schedule id's timetable has in the request's range, for the
// engine to run. ENOTFOUND, EINVALID.
func (db *DB) CreateBackfill(ctx context.Context, id int64, r apicron.BackfillRequest) (*apicron.Backfill, error) {
	var b *apicron.Backfill
	err := db.write(ctx, func(tx *tx) error {
		s, err := findSchedule(ctx, tx, id, true)
		if err != nil {
			return err
		}
		total, first, err := r.Validate(tx.now, s.Timetable())
		if err != nil {
			return err
		}
		b = &apicron.Backfill{ScheduleID: id, Since: r.Since, Until: r.Until, RatePerSecond: r.RatePerSecond,
			Status: apicron.BackfillRunning, Total: total, Next: &first, CreatedAt: tx.now, UpdatedAt: tx.now}
		// A second's allowance at once: the first step need not wait.
		err = tx.queryRow(ctx, `INSERT INTO backfills (schedule_id, since_at, until_at, rate_per_second, status, total, next_at,
			last_step_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			id, ms(b.Since), ms(b.Until), b.RatePerSecond, string(b.Status), total, ms(first), ms(tx.now.Add(-time.Second)),
			ms(tx.now), ms(tx.now)).Scan(&b.ID)
		if err != nil {
			return fmt.Errorf("insert backfill: %w", err)
		}
		if err := addEvent(ctx, tx, id, apicron.EventBackfilled, map[string]any{"backfill_id": b.ID,
			"since": timeDetail(&b.Since), "until": timeDetail(&b.Until), "occurrences": total, "rate_per_second": b.RatePerSecond}); err != nil {
			return err
		}
		return notifyScheduleChanged(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// FindBackfills implements apicron.Store: schedule id's backfills, newest first.
func (db *DB) FindBackfills(ctx context.Context, id int64, limit int) ([]*apicron.Backfill, error) {
	var out []*apicron.Backfill
	err := db.read(ctx, func(tx *tx) error {
		rows, err := tx.query(ctx, "SELECT "+backfillColumns+" FROM backfills WHERE schedule_id = ? ORDER BY id DESC LIMIT ?", id, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanBackfill(rows)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, err
}

// maxBackfillsPerStep bounds the backfills one step serves.
const maxBackfillsPerStep = 100

// BackfillStep implements apicron.Engine: for each RUNNING backfill, in one
// transaction, it inserts the RUNNING runs of its next occurrences, as many
// as its rate allows since its last step (at most a second's worth, and at
// most limit in all), with trigger backfill, and advances it. An occurrence
// that already has a run gets none (the UNIQUE key) and is counted as
// existing. It returns the jobs to execute (none on a shared database,
// where they wait for any node) and whether a backfill is still running.
func (db *DB) BackfillStep(ctx context.Context, now time.Time, limit int) ([]*apicron.Job, bool, error) {
	now = apicron.TruncMillis(now)
	var (
		jobs   []*apicron.Job
		active bool
	)
	err := db.engineWrite(ctx, func(tx *tx) error {
		jobs, active = nil, false
		lock := ""
		if tx.d.forUpdate != "" {
			lock = tx.d.forUpdate + " SKIP LOCKED" // a backfill another step holds is its
		}
		rows, err := tx.query(ctx, "SELECT "+backfillColumns+", last_step_at FROM backfills WHERE status = 'RUNNING' ORDER BY id LIMIT ?"+
			lock, maxBackfillsPerStep)
		if err != nil {
			return err
		}
		var (
			list []*apicron.Backfill
			last = map[int64]time.Time{}
		)
		for rows.Next() {
			var step int64
			b, err := scanBackfill(rowFunc(func(dest ...any) error { return rows.Scan(append(dest, &step)...) }))
			if err != nil {
				rows.Close()
				return err
			}
			list, last[b.ID] = append(list, b), fromMs(step)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
		ids := make([]int64, 0, len(list))
		for _, b := range list {
			ids = append(ids, b.ScheduleID)
		}
		found, err := readDue(ctx, tx, slices.Compact(slices.Sorted(slices.Values(ids))))
		if err != nil {
			return err
		}
		for _, b := range list {
			if limit <= 0 {
				active = true
				break
			}
			d := found[b.ScheduleID]
			if d == nil { // its schedule was deleted
				b.Status, b.Next = apicron.BackfillCancelled, nil
				if err := saveBackfill(ctx, tx, b, now); err != nil {
					return err
				}
				continue
			}
			allowed := int(min(now.Sub(last[b.ID]), time.Second) * time.Duration(b.RatePerSecond) / time.Second)
			allowed = min(allowed, limit)
			if allowed <= 0 {
				active = true
				continue
			}
			got, err := db.backfillBatch(ctx, tx, now, d, b, allowed)
			if err != nil {
				return err
			}
			jobs = append(jobs, got...)
			limit -= allowed
			if b.Status == apicron.BackfillRunning {
				active = true
			}
		}
		if db.queued() {
			if len(jobs) > 0 {
				jobs = nil // they wait in the runs table for any node
				return tx.notify(ctx, ChannelRuns, "")
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return jobs, active, nil
}

// backfillBatch inserts the runs of b's next n occurrences and advances b.
func (db *DB) backfillBatch(ctx context.Context, tx *tx, now time.Time, d *due, b *apicron.Backfill, n int) ([]*apicron.Job, error) {
	base, err := db.jobOf(d)
	if err != nil {
		return nil, err
	}
	tt := d.s.Timetable()
	var out []apicron.ClaimResult
	at := *b.Next
	for len(out) < n && !at.IsZero() && at.Before(b.Until) {
		j := *base
		j.ScheduledAt, j.Missed, j.Trigger, j.Jitter = at, 0, apicron.TriggerBackfill, 0
		j.RetryDeadline = time.Time{}
		out = append(out, apicron.ClaimResult{ScheduleID: d.s.ID, Job: &j})
		at = tt.Next(at)
	}
	var jobs []*apicron.Job
	for i := range out { // one at a time: the insert's RETURNING maps runs by schedule
		if err := db.insertRuns(ctx, tx, now, out[i:i+1], []int{0}, 0, 0); err != nil {
			return nil, err
		}
		if out[i].Job == nil {
			b.Existing++
		} else {
			b.Inserted++
			jobs = append(jobs, out[i].Job)
		}
	}
	b.Next = nil
	if !at.IsZero() && at.Before(b.Until) {
		b.Next = &at
	} else {
		b.Status = apicron.BackfillDone
	}
	return jobs, saveBackfill(ctx, tx, b, now)
}

func saveBackfill(ctx context.Context, tx *tx, b *apicron.Backfill, now time.Time) error {
	b.UpdatedAt = now
	if b.Status != apicron.BackfillRunning {
		b.FinishedAt = &now
	}
	_, err := tx.exec(ctx, `UPDATE backfills SET status = ?, inserted = ?, existing = ?, next_at = ?, last_step_at = ?,
		updated_at = ?, finished_at = ? WHERE id = ?`, string(b.Status), b.Inserted, b.Existing, nullMs(b.Next), ms(now),
		ms(now), nullMs(b.FinishedAt), b.ID)
	if err != nil {
		return fmt.Errorf("update backfill %d: %w", b.ID, err)
	}
	return nil
}
