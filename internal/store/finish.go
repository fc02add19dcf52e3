package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/apicron/apicron"
)

// Finish implements apicron.Engine: run rows, attempts and counters of a batch
// in one transaction. A run that is no longer RUNNING was interrupted (or
// finished) by someone else and is left as it is: a late result never
// overwrites it, and the counters count each run once.
func (db *DB) Finish(ctx context.Context, results []apicron.RunResult) error {
	if len(results) == 0 {
		return nil
	}
	var pause []autoPauseRequest
	err := db.engineWrite(ctx, func(tx *tx) error {
		err := finishTx(ctx, tx, results, db.nodeID)
		pause = tx.autoPause
		return err
	})
	if err == nil && len(pause) > 0 {
		db.autoPause(ctx, pause)
	}
	return err
}

// finishTx records results. With owner set, only runs owned by that node
// are written: a node that lost its runs to the reaper cannot record over them.
func finishTx(ctx context.Context, tx *tx, results []apicron.RunResult, owner string) error {
	done := make(map[int64]int64, len(results))
	// A hash join of the runs with VALUES: joined in a nested loop, the
	// planner's choice from an estimate of one RUNNING row, each run found
	// was compared with every row of VALUES (256 x 256), 50-90 ms a piece.
	err := tx.without(ctx, "enable_nestloop", func() error {
		return forPieces(len(results), func(lo, hi int) error { return updateRuns(ctx, tx, results[lo:hi], owner, done) })
	})
	if err != nil {
		return err
	}
	counts := resultCounts{results: results, done: done}
	var attempts []any
	nAttempts := 0
	for i := range results {
		r := &results[i]
		fire, ok := done[r.RunID]
		if !ok {
			continue // fenced off: no longer RUNNING, or not this node's
		}
		finished := finishedAt(tx, r)
		if r.FailedAssertion != nil { // rare: a statement of its own, not a column of every result
			raw, err := json.Marshal(r.FailedAssertion)
			if err != nil {
				return err
			}
			if _, err := tx.exec(ctx, "UPDATE runs SET failed_assertion = ? WHERE id = ?", string(raw), r.RunID); err != nil {
				return fmt.Errorf("record failed assertion of run %d: %w", r.RunID, err)
			}
		}
		rows := r.Attempts
		if attemptInRun(r) {
			rows = nil // kept as the run's own columns (attempt_in_run)
		}
		for _, a := range rows {
			attempts = append(attempts, r.RunID, a.Number, string(a.Status), ms(a.StartedAt), ms(a.FinishedAt), nullFloat(a.LatencyMs),
				nullInt(a.StatusCode), nullInt64(a.ResponseSize), a.ErrorType, a.ErrorMessage, nullFloat(a.Timings.DNSMs),
				nullFloat(a.Timings.ConnectMs), nullFloat(a.Timings.TLSMs), nullFloat(a.Timings.FirstByteMs))
			if nAttempts++; nAttempts == maxBatchRows {
				if err := insertAttempts(ctx, tx, attempts); err != nil {
					return err
				}
				attempts, nAttempts = attempts[:0], 0
			}
		}
		counts.add(r, finished, fire)
	}
	if nAttempts > 0 {
		if err := insertAttempts(ctx, tx, attempts); err != nil {
			return err
		}
	}
	return counts.apply(ctx, tx)
}

func finishedAt(tx *tx, r *apicron.RunResult) int64 {
	if r.FinishedAt.IsZero() {
		return ms(tx.now)
	}
	return ms(r.FinishedAt)
}

// updateRuns records results on their RUNNING runs in one statement and
// records in done the runs it wrote, with when each was due (scheduled_at
// plus its jitter, unix ms). With owner set, only that node's runs.
//
// The runs are found by their ids, listed as well as joined, and VALUES is
// evaluated once (MATERIALIZED). PostgreSQL planned the join from what its
// statistics said of runs: it read every RUNNING run through the partial
// runs_running index (statistics: 64 rows; read: 35,000 to 64,000 entries,
// most of them left by finished runs until a vacuum), or the whole table,
// and evaluated all of VALUES again for each row it found: 250 to 1,700 ms a
// statement at 3,000 runs/s. The status is compared as an expression (the
// column joined to an empty string) that no index matches, so runs_running
// is no path to them.
var updateRunsSQL = newBatchSQL(func(n int) string {
	return `WITH v (column1, column2, column3, column4, column5, column6, column7, column8, column9, column10, column11, column12,
		column13, column14, column15, column16, column17, column18, column19, column20) AS MATERIALIZED (VALUES ` +
		repeatRows(`(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION),
			CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION),
			CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), CAST(? AS TEXT),
			CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS TEXT))`, n) + `)
		UPDATE runs SET status = v.column2, started_at = COALESCE(v.column3, runs.started_at), finished_at = v.column4,
		latency_ms = v.column5, status_code = v.column6, response_size = v.column7, error_type = v.column8,
		error_message = v.column9, dns_ms = v.column10, connect_ms = v.column11, tls_ms = v.column12, first_byte_ms = v.column13,
		request_method = COALESCE(NULLIF(v.column14, ''), runs.request_method), request_url = v.column15,
		response_body = v.column16, response_headers = v.column17, attempt_in_run = v.column18, waited_ms = v.column19,
		request_headers = v.column20, job = NULL
		FROM v WHERE runs.id IN (` + placeholders(n) + `) AND runs.id = v.column1 AND runs.status || '' = 'RUNNING' AND (? = '' OR runs.node_id = ?)
		RETURNING runs.id, runs.scheduled_at + runs.jitter_ms`
})

// updateRuns writes a piece of a result batch (a power of two long).
func updateRuns(ctx context.Context, tx *tx, results []apicron.RunResult, owner string, done map[int64]int64) error {
	args := make([]any, 0, len(results)*21+2)
	for i := range results {
		r := &results[i]
		if _, ok := statusColumn[r.Status]; !ok {
			return fmt.Errorf("finish run %d: %q is not a final status", r.RunID, r.Status)
		}
		var started sql.NullInt64
		if !r.StartedAt.IsZero() {
			started = sql.NullInt64{Int64: ms(r.StartedAt), Valid: true}
		}
		var headers sql.NullString
		if len(r.ResponseHeaders) > 0 {
			raw, err := json.Marshal(r.ResponseHeaders)
			if err != nil {
				return err
			}
			headers = sql.NullString{String: string(raw), Valid: true}
		}
		var sent sql.NullString
		if len(r.Request.Headers) > 0 {
			raw, err := json.Marshal(r.Request.Headers)
			if err != nil {
				return err
			}
			sent = sql.NullString{String: string(raw), Valid: true}
		}
		var body sql.NullString
		if r.ResponseBody != "" {
			body = sql.NullString{String: r.ResponseBody, Valid: true}
		}
		args = append(args, r.RunID, string(r.Status), started, finishedAt(tx, r), nullFloat(r.LatencyMs), nullInt(r.StatusCode),
			nullInt64(r.ResponseSize), r.ErrorType, r.ErrorMessage, nullFloat(r.Timings.DNSMs), nullFloat(r.Timings.ConnectMs),
			nullFloat(r.Timings.TLSMs), nullFloat(r.Timings.FirstByteMs), r.Request.Method, r.Request.URL, body, headers,
			boolInt(attemptInRun(r)), r.Waited.Milliseconds(), sent)
	}
	for i := range results {
		args = append(args, results[i].RunID)
	}
	rows, err := tx.queryBatch(ctx, updateRunsSQL.sql(len(results)), append(args, owner, owner)...)
	if err != nil {
		return fmt.Errorf("finish runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, due int64
		if err := rows.Scan(&id, &due); err != nil {
			return err
		}
		done[id] = due
	}
	return rows.Err()
}

var insertAttemptsSQL = newBatchSQL(func(n int) string {
	return `INSERT INTO attempts (run_id, attempt_number, status, started_at, finished_at, latency_ms, status_code, response_size,
		error_type, error_message, dns_ms, connect_ms, tls_ms, first_byte_ms) VALUES ` +
		repeatRows("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n)
})

// attemptInRun reports whether r's attempts are one attempt that the run's
// own columns hold exactly: then no attempts row is written.
func attemptInRun(r *apicron.RunResult) bool {
	if len(r.Attempts) != 1 {
		return false
	}
	a := &r.Attempts[0]
	return a.Number == 1 && a.StartedAt.Equal(r.StartedAt) && a.FinishedAt.Equal(r.FinishedAt) && a.Outcome.Equal(r.Outcome) &&
		!r.StartedAt.IsZero() && !r.FinishedAt.IsZero()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// insertAttempts inserts attempts given as rows of 14 values.
func insertAttempts(ctx context.Context, tx *tx, args []any) error {
	return forPieces(len(args)/14, func(lo, hi int) error {
		if _, err := tx.execBatch(ctx, insertAttemptsSQL.sql(hi-lo), args[14*lo:14*hi]...); err != nil {
			return fmt.Errorf("insert attempts: %w", err)
		}
		return nil
	})
}

// InterruptRunning implements apicron.Engine, at shutdown: on SQLite every
// RUNNING run (one process owns the database), on PostgreSQL this node's.
// It goes through Finish's path, so the counters count interrupted runs
// like the others. A run whose schedule says retry_interrupted (and may
// still run again, rerunnable) is not marked: on PostgreSQL it goes back to
// the queue for any node to take now; on SQLite it stays RUNNING, for the
// next start to run it again (ResumeRunning).
func (db *DB) InterruptRunning(ctx context.Context, now time.Time, reason string) (int64, error) {
	if db.queued() {
		n, _, err := db.interrupt(ctx, now, reason, requeueRerunnable, "status = 'RUNNING' AND node_id = ?", db.nodeID)
		return n, err
	}
	n, _, err := db.interrupt(ctx, now, reason, keepRerunnable, "status = 'RUNNING'")
	return n, err
}

// ResumeRunning implements apicron.Engine, at start: it marks the runs a
// previous process left RUNNING INTERRUPTED (on SQLite every one, on
// PostgreSQL this node's), but those of schedules with retry_interrupted,
// which go back to the queue to be run again. On PostgreSQL any node takes
// them; on SQLite it returns their jobs, this process's to run.
func (db *DB) ResumeRunning(ctx context.Context, now time.Time, reason string) (int64, []*apicron.Job, error) {
	if db.queued() {
		n, _, err := db.interrupt(ctx, now, reason, requeueRerunnable, "status = 'RUNNING' AND node_id = ?", db.nodeID)
		return n, nil, err
	}
	return db.interrupt(ctx, now, reason, takeRerunnable, "status = 'RUNNING'")
}

// rerunnable is what interrupt does with the runs of schedules that say
// retry_interrupted.
type rerunnable int

const (
	interruptRerunnable rerunnable = iota // INTERRUPTED like the others: the run was never sent
	requeueRerunnable                     // back to the queue (node_id ''), for any node to take
	keepRerunnable                        // left RUNNING as they are, for the next start
	takeRerunnable                        // back to the queue and taken by this process at once
)

// rerunnableSQL selects, among runs, those that may run again: their
// schedule says retry_interrupted, their job is kept, and they ran again
// fewer than MaxInterruptedReruns times.
var rerunnableSQL = fmt.Sprintf(`job IS NOT NULL AND reruns < %d AND schedule_id IN (SELECT id FROM schedules WHERE retry_interrupted = TRUE)`,
	apicron.MaxInterruptedReruns)

// interrupt marks the runs where selects INTERRUPTED, with reason, but the
// rerunnable ones, which it handles as what says. With takeRerunnable it
// returns their jobs, taken by this node.
func (db *DB) interrupt(ctx context.Context, now time.Time, reason string, what rerunnable, where string, args ...any) (int64, []*apicron.Job, error) {
	var (
		n    int64
		jobs []*apicron.Job
	)
	err := db.engineWrite(ctx, func(tx *tx) error {
		jobs = nil
		rows, err := tx.query(ctx, "SELECT id, schedule_id FROM runs WHERE "+where+tx.d.forUpdate, args...)
		if err != nil {
			return err
		}
		var results []apicron.RunResult
		for rows.Next() {
			r := apicron.RunResult{FinishedAt: apicron.TruncMillis(now),
				Outcome: apicron.Outcome{Status: apicron.Interrupted, ErrorType: apicron.ErrInterrupted, ErrorMessage: reason}}
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
		if what != interruptRerunnable && len(results) > 0 {
			again, err := db.rerun(ctx, tx, results, reason, what)
			if err != nil {
				return err
			}
			if len(again) > 0 {
				results = slices.DeleteFunc(results, func(r apicron.RunResult) bool { return again[r.RunID] })
			}
			if what == takeRerunnable && len(again) > 0 {
				if jobs, err = db.takeRerun(ctx, tx, again); err != nil {
					return err
				}
			}
		}
		n = int64(len(results))
		return finishTx(ctx, tx, results, "")
	})
	return n, jobs, err
}

// rerun finds the rerunnable runs among runs and, but with keepRerunnable,
// gives them back to the queue, counting the rerun and its reason.
func (db *DB) rerun(ctx context.Context, tx *tx, runs []apicron.RunResult, reason string, what rerunnable) (map[int64]bool, error) {
	again := map[int64]bool{}
	err := forPieces(len(runs), func(lo, hi int) error {
		ids := make([]any, 0, hi-lo+1)
		for _, r := range runs[lo:hi] {
			ids = append(ids, r.RunID)
		}
		q := "SELECT id FROM runs WHERE id IN (" + placeholders(hi-lo) + ") AND " + rerunnableSQL
		if what != keepRerunnable {
			q = "UPDATE runs SET node_id = '', take_token = 0, reruns = reruns + 1, rerun_reason = ? WHERE id IN (" +
				placeholders(hi-lo) + ") AND " + rerunnableSQL + " RETURNING id"
			ids = append([]any{reason}, ids...)
		}
		rows, err := tx.query(ctx, q, ids...)
		if err != nil {
			return fmt.Errorf("give interrupted runs back to the queue: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			again[id] = true
		}
		return rows.Err()
	})
	return again, err
}

// takeRerun assigns the runs given back to the queue to this node and
// returns their jobs (SQLite, at start).
func (db *DB) takeRerun(ctx context.Context, tx *tx, again map[int64]bool) ([]*apicron.Job, error) {
	ids := make([]int64, 0, len(again))
	for id := range again {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var jobs []*apicron.Job
	err := forPieces(len(ids), func(lo, hi int) error {
		rows, err := tx.query(ctx, "UPDATE runs SET node_id = ? WHERE id IN ("+placeholders(hi-lo)+") RETURNING "+takenColumns,
			append([]any{db.nodeID}, int64Args(ids[lo:hi])...)...)
		if err != nil {
			return fmt.Errorf("take interrupted runs to run again: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			j, err := db.scanTaken(rows)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	slices.SortFunc(jobs, func(a, b *apicron.Job) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	return jobs, err
}
