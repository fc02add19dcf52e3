package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apicron/apicron"
)

// Claim implements apicron.Engine. For each schedule it reads the row (locked
// on PostgreSQL), lets the domain plan decide, and writes the decision: the
// run row and the advanced next_run_at go in the same transaction, so a crash
// neither loses the schedule's place nor fires an occurrence twice, and the
// UNIQUE (schedule_id, scheduled_at) key refuses a duplicate whatever happens above it.
func (db *DB) Claim(ctx context.Context, now, until time.Time, ids []int64) ([]apicron.ClaimResult, error) {
	now, until = apicron.TruncMillis(now), apicron.TruncMillis(until)
	// Rows are locked in one order everywhere (schedules by id; run_stats
	// scope 0 first, then by schedule id), so transactions on several nodes
	// wait for each other instead of deadlocking.
	ids = slices.Sorted(slices.Values(ids))
	out := make([]apicron.ClaimResult, 0, len(ids))
	err := db.write(ctx, func(tx *tx) error {
		out = out[:0]
		queued := false
		for _, id := range ids {
			res, err := db.claimOne(ctx, tx, now, until, id)
			if err != nil {
				return fmt.Errorf("claim schedule %d: %w", id, err)
			}
			queued = queued || res.Job != nil
			out = append(out, res)
		}
		if queued && db.queued() {
			return tx.notify(ctx, ChannelRuns, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (db *DB) claimOne(ctx context.Context, tx *tx, now, until time.Time, id int64) (apicron.ClaimResult, error) {
	res := apicron.ClaimResult{ScheduleID: id}
	var (
		headers string
		timeout sql.NullFloat64
		retries sql.NullInt64
		job     apicron.Job
	)
	q := `SELECT s.id, s.name, s.target_id, s.schedule_type, s.interval_seconds, s.duration_seconds, s.status, s.stopped_reason,
		s.anchor_at, s.next_run_at, s.ends_at, s.remaining_ms, s.version, s.created_at, s.updated_at,
		t.url, t.method, t.headers, t.body_template, t.timeout_seconds, t.max_retries
		FROM schedules s JOIN targets t ON t.id = s.target_id WHERE s.id = ?` + tx.d.forUpdateOf("s")
	var s *apicron.Schedule
	s, err := scanSchedule(rowFunc(func(dest ...any) error {
		return tx.queryRow(ctx, q, id).Scan(append(dest, &job.URL, &job.Method, &headers, &job.BodyTemplate, &timeout, &retries)...)
	}))
	if errors.Is(err, sql.ErrNoRows) {
		return res, nil // deleted meanwhile
	} else if err != nil {
		return res, err
	}
	plan := s.Plan(now, until)
	switch {
	case plan.Stop:
		s.Stop(apicron.StoppedWindowElapsed)
		if err := saveSchedule(ctx, tx, s); err != nil {
			return res, err
		}
		return res, addClaimStats(ctx, tx, id, 0, plan.Missed)
	case !plan.Fire:
		res.Next = plan.Next
		return res, nil
	}
	res.Next = plan.Next
	if _, err := tx.exec(ctx, "UPDATE schedules SET next_run_at = ? WHERE id = ? AND next_run_at = ?",
		ms(*plan.Next), id, ms(*s.NextRunAt)); err != nil {
		return res, fmt.Errorf("advance next_run_at: %w", err)
	}
	// At most one run of a schedule in flight: a due occurrence that finds
	// one RUNNING is skipped and counted, never queued.
	var running int
	if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM runs WHERE schedule_id = ? AND status = 'RUNNING'", id).Scan(&running); err != nil {
		return res, err
	}
	if running > 0 {
		return res, addClaimStats(ctx, tx, id, 1, plan.Missed)
	}
	if err := json.Unmarshal([]byte(headers), &job.Headers); err != nil {
		return res, fmt.Errorf("decode headers: %w", err)
	}
	job.ScheduleID, job.ScheduleName, job.TargetID = id, s.Name, s.TargetID
	job.ScheduledAt, job.Missed = plan.ScheduledAt, plan.Missed
	if timeout.Valid {
		job.Timeout = time.Duration(timeout.Float64 * float64(time.Second))
	}
	job.MaxRetries = -1
	if retries.Valid {
		job.MaxRetries = int(retries.Int64)
	}
	job.RetryDeadline = *plan.Next
	// On PostgreSQL the run waits, with its job, for any node to take it;
	// on SQLite this process runs it.
	owner, queuedJob := db.nodeID, sql.NullString{}
	if db.queued() {
		b, err := json.Marshal(toJobJSON(&job))
		if err != nil {
			return res, err
		}
		owner, queuedJob = "", sql.NullString{String: string(b), Valid: true}
	}
	err = tx.queryRow(ctx, `INSERT INTO runs (schedule_id, target_id, status, scheduled_at, started_at, missed, request_method, node_id, job)
		VALUES (?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?) ON CONFLICT (schedule_id, scheduled_at) DO NOTHING RETURNING id`,
		id, s.TargetID, ms(plan.ScheduledAt), ms(maxTime(now, plan.ScheduledAt)), plan.Missed, job.Method, owner, queuedJob).Scan(&job.RunID)
	if errors.Is(err, sql.ErrNoRows) {
		return res, nil // the occurrence has a run already
	} else if err != nil {
		return res, fmt.Errorf("insert run: %w", err)
	}
	if plan.Missed > 0 {
		if err := addClaimStats(ctx, tx, id, 0, plan.Missed); err != nil {
			return res, err
		}
	}
	res.Job = &job
	return res, nil
}

// rowFunc adapts a function to the scanner interface.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

func addClaimStats(ctx context.Context, tx *tx, id, skipped, missed int64) error {
	if skipped == 0 && missed == 0 {
		return nil
	}
	for _, scope := range []int64{0, id} {
		if _, err := tx.exec(ctx, "UPDATE run_stats SET skipped_overlap = skipped_overlap + ?, missed = missed + ? WHERE scope = ?",
			skipped, missed, scope); err != nil {
			return err
		}
	}
	return nil
}

// statusColumn is the run_stats counter of each final status.
var statusColumn = map[apicron.RunStatus]string{
	apicron.Success:         "runs_success",
	apicron.Failed:          "runs_failed",
	apicron.Timeout:         "runs_timeout",
	apicron.DNSError:        "runs_dns_error",
	apicron.ConnectionError: "runs_connection_error",
	apicron.Interrupted:     "runs_interrupted",
}

// statsDelta is what one batch adds to one run_stats row.
type statsDelta struct {
	counts     map[apicron.RunStatus]int64
	latSum     float64
	latCount   int64
	hist       apicron.Histogram
	lastAt     int64
	lastStatus apicron.RunStatus
}

func (d *statsDelta) add(r *apicron.RunResult, finished int64) {
	if d.counts == nil {
		d.counts = map[apicron.RunStatus]int64{}
	}
	d.counts[r.Status]++
	if r.LatencyMs != nil {
		d.latSum += *r.LatencyMs
		d.latCount++
		d.hist.Add(*r.LatencyMs)
	}
	if finished >= d.lastAt {
		d.lastAt, d.lastStatus = finished, r.Status
	}
}

// Finish implements apicron.Engine: run rows, attempts and counters of a batch
// in one transaction. A run that is no longer RUNNING was interrupted (or
// finished) by someone else and is left as it is: a late result never
// overwrites it, and the counters count each run once.
func (db *DB) Finish(ctx context.Context, results []apicron.RunResult) error {
	if len(results) == 0 {
		return nil
	}
	return db.write(ctx, func(tx *tx) error { return finishTx(ctx, tx, results, db.nodeID) })
}

// finishTx records results. With owner set, only runs owned by that node
// are written: a node that lost its runs to the reaper cannot record over them.
func finishTx(ctx context.Context, tx *tx, results []apicron.RunResult, owner string) error {
	deltas := map[int64]*statsDelta{}
	minutes := map[int64]int64{}
	for i := range results {
		r := &results[i]
		if _, ok := statusColumn[r.Status]; !ok {
			return fmt.Errorf("finish run %d: %q is not a final status", r.RunID, r.Status)
		}
		finished := ms(r.FinishedAt)
		if r.FinishedAt.IsZero() {
			finished = ms(tx.now)
		}
		var started sql.NullInt64
		if !r.StartedAt.IsZero() {
			started = sql.NullInt64{Int64: ms(r.StartedAt), Valid: true}
		}
		var headers sql.NullString
		if len(r.ResponseHeaders) > 0 {
			b, err := json.Marshal(r.ResponseHeaders)
			if err != nil {
				return err
			}
			headers = sql.NullString{String: string(b), Valid: true}
		}
		var body sql.NullString
		if r.ResponseBody != "" {
			body = sql.NullString{String: r.ResponseBody, Valid: true}
		}
		res, err := tx.exec(ctx, `UPDATE runs SET status = ?, started_at = COALESCE(?, started_at), finished_at = ?,
			latency_ms = ?, status_code = ?, response_size = ?, error_type = ?, error_message = ?, dns_ms = ?, connect_ms = ?,
			tls_ms = ?, first_byte_ms = ?, request_method = COALESCE(NULLIF(?, ''), request_method), request_url = ?,
			response_body = ?, response_headers = ?, job = NULL
			WHERE id = ? AND status = 'RUNNING' AND (? = '' OR node_id = ?)`,
			string(r.Status), started, finished, nullFloat(r.LatencyMs), nullInt(r.StatusCode), nullInt64(r.ResponseSize),
			r.ErrorType, r.ErrorMessage, nullFloat(r.Timings.DNSMs), nullFloat(r.Timings.ConnectMs), nullFloat(r.Timings.TLSMs),
			nullFloat(r.Timings.FirstByteMs), r.Request.Method, r.Request.URL, body, headers, r.RunID, owner, owner)
		if err != nil {
			return fmt.Errorf("finish run %d: %w", r.RunID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			continue
		}
		for _, a := range r.Attempts {
			if _, err := tx.exec(ctx, `INSERT INTO attempts (run_id, attempt_number, status, started_at, finished_at, latency_ms,
				status_code, response_size, error_type, error_message, dns_ms, connect_ms, tls_ms, first_byte_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.RunID, a.Number, string(a.Status), ms(a.StartedAt), ms(a.FinishedAt), nullFloat(a.LatencyMs),
				nullInt(a.StatusCode), nullInt64(a.ResponseSize), a.ErrorType, a.ErrorMessage, nullFloat(a.Timings.DNSMs),
				nullFloat(a.Timings.ConnectMs), nullFloat(a.Timings.TLSMs), nullFloat(a.Timings.FirstByteMs)); err != nil {
				return fmt.Errorf("insert attempt %d of run %d: %w", a.Number, r.RunID, err)
			}
		}
		for _, scope := range []int64{r.ScheduleID, 0} {
			d := deltas[scope]
			if d == nil {
				d = &statsDelta{}
				deltas[scope] = d
			}
			d.add(r, finished)
		}
		minutes[finished/60000*60000]++
	}
	for _, scope := range slices.Sorted(maps.Keys(deltas)) {
		if err := applyDelta(ctx, tx, scope, deltas[scope]); err != nil {
			return err
		}
	}
	for _, minute := range slices.Sorted(maps.Keys(minutes)) {
		n := minutes[minute]
		if _, err := tx.exec(ctx, `INSERT INTO run_stats_minute (minute, runs) VALUES (?, ?)
			ON CONFLICT (minute) DO UPDATE SET runs = run_stats_minute.runs + excluded.runs`, minute, n); err != nil {
			return err
		}
	}
	return nil
}

func applyDelta(ctx context.Context, tx *tx, scope int64, d *statsDelta) error {
	var enc string
	err := tx.queryRow(ctx, "SELECT histogram FROM run_stats WHERE scope = ?"+tx.d.forUpdate, scope).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the schedule was deleted; its counters went with it
	} else if err != nil {
		return err
	}
	h := apicron.DecodeHistogram(enc)
	h.Merge(&d.hist)
	c := d.counts
	_, err = tx.exec(ctx, `UPDATE run_stats SET runs_success = runs_success + ?, runs_failed = runs_failed + ?,
		runs_timeout = runs_timeout + ?, runs_dns_error = runs_dns_error + ?, runs_connection_error = runs_connection_error + ?,
		runs_interrupted = runs_interrupted + ?, latency_sum_ms = latency_sum_ms + ?, latency_count = latency_count + ?,
		histogram = ?,
		last_status = CASE WHEN last_run_at IS NULL OR last_run_at <= ? THEN ? ELSE last_status END,
		last_run_at = CASE WHEN last_run_at IS NULL OR last_run_at <= ? THEN ? ELSE last_run_at END
		WHERE scope = ?`,
		c[apicron.Success], c[apicron.Failed], c[apicron.Timeout], c[apicron.DNSError], c[apicron.ConnectionError],
		c[apicron.Interrupted], d.latSum, d.latCount, h.Encode(), d.lastAt, string(d.lastStatus), d.lastAt, d.lastAt, scope)
	return err
}

// InterruptRunning implements apicron.Engine: on SQLite every RUNNING run
// (one process owns the database), on PostgreSQL this node's. It goes through
// Finish's path, so the counters count interrupted runs like the others.
func (db *DB) InterruptRunning(ctx context.Context, now time.Time, reason string) (int64, error) {
	q := "SELECT id, schedule_id FROM runs WHERE status = 'RUNNING'"
	var args []any
	if db.queued() {
		q, args = q+" AND node_id = ?", []any{db.nodeID}
	}
	return db.interrupt(ctx, now, reason, q, args...)
}

// interrupt marks the runs that query selects (id, schedule_id) INTERRUPTED.
func (db *DB) interrupt(ctx context.Context, now time.Time, reason, query string, args ...any) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *tx) error {
		rows, err := tx.query(ctx, query+tx.d.forUpdate, args...)
		if err != nil {
			return err
		}
		var results []apicron.RunResult
		for rows.Next() {
			r := apicron.RunResult{Status: apicron.Interrupted, FinishedAt: apicron.TruncMillis(now),
				ErrorType: apicron.ErrInterrupted, ErrorMessage: reason}
			if err := rows.Scan(&r.RunID, &r.ScheduleID); err != nil {
				rows.Close()
				return err
			}
			results = append(results, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = int64(len(results))
		return finishTx(ctx, tx, results, "")
	})
	return n, err
}

// ActiveSchedules implements apicron.Engine.
func (db *DB) ActiveSchedules(ctx context.Context, fn func(id int64, next time.Time)) error {
	rows, err := db.r.QueryContext(ctx, "SELECT id, next_run_at FROM schedules WHERE status = 'ACTIVE' AND next_run_at IS NOT NULL")
	if err != nil {
		return db.mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, next int64
		if err := rows.Scan(&id, &next); err != nil {
			return err
		}
		fn(id, fromMs(next))
	}
	return rows.Err()
}

// NextRunAt implements apicron.Engine.
func (db *DB) NextRunAt(ctx context.Context, id int64) (*time.Time, error) {
	var next sql.NullInt64
	err := db.r.QueryRowContext(ctx, db.d.rebind("SELECT next_run_at FROM schedules WHERE id = ? AND status = 'ACTIVE'"), id).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, db.mapErr(err)
	}
	return timePtr(next), nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
