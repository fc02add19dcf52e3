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
		column13, column14, column15, column16, column17, column18, column19, column20, column21) AS MATERIALIZED (VALUES ` +
		repeatRows(`(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION),
			CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION),
			CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), CAST(? AS TEXT),
			CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS TEXT),
			CAST(? AS BIGINT))`, n) + `)
		UPDATE runs SET status = v.column2, started_at = COALESCE(v.column3, runs.started_at), finished_at = v.column4,
		latency_ms = v.column5, status_code = v.column6, response_size = v.column7, error_type = v.column8,
		error_message = v.column9, dns_ms = v.column10, connect_ms = v.column11, tls_ms = v.column12, first_byte_ms = v.column13,
		request_method = COALESCE(NULLIF(v.column14, ''), runs.request_method), request_url = v.column15,
		response_body = v.column16, response_headers = v.column17, attempt_in_run = v.column18, waited_ms = v.column19,
		request_headers = v.column20, job = NULL
		FROM v WHERE runs.id IN (` + placeholders(n) + `) AND runs.id = v.column1 AND runs.status || '' = 'RUNNING' AND (? = '' OR runs.node_id = ?)
			AND (v.column21 = 0 OR runs.take_token = v.column21)
		RETURNING runs.id, runs.scheduled_at + runs.jitter_ms`
})

// updateRuns writes a piece of a result batch (a power of two long).
func updateRuns(ctx context.Context, tx *tx, results []apicron.RunResult, owner string, done map[int64]int64) error {
	args := make([]any, 0, len(results)*22+2)
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
			boolInt(attemptInRun(r)), r.Waited.Milliseconds(), sent, r.TakeToken)
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

// interrupted is a RUNNING run interrupt found, with what decides whether
// it may run again.
type interrupted struct {
	result apicron.RunResult
	job    sql.NullString
	reruns int
	flag   bool // its schedule's retry_interrupted now
}

// mayRunAgain decides whether an interrupted run may be sent again: its job
// was kept because its schedule said retry_interrupted when the run was
// claimed (a run claimed without it is not run again once the flag is
// turned on), the schedule still says so (turning it off stops the reruns
// of runs in flight), the run ran again fewer than MaxInterruptedReruns
// times, and the schedule's next occurrence (the job's RetryDeadline) is not
// due yet at now. The second result, when it is due, says so for the run's
// message: that occurrence does the work, and a rerun given back now would
// count as in flight beside it and skip it as an overlap.
func mayRunAgain(r *interrupted, now time.Time) (bool, string) {
	if !r.flag || !r.job.Valid || r.reruns >= apicron.MaxInterruptedReruns {
		return false, ""
	}
	var j jobJSON
	if err := json.Unmarshal([]byte(r.job.String), &j); err != nil || !j.RetryInterrupted {
		return false, "" // unreadable: INTERRUPTED, never a take that fails on it again and again
	}
	if j.RetryDeadline > 0 && !now.Before(fromMs(j.RetryDeadline)) {
		return false, "; not run again: the next occurrence was due at " + fromMs(j.RetryDeadline).Format(time.RFC3339Nano)
	}
	return true, ""
}

// interrupt marks the runs where selects INTERRUPTED, with reason, but
// those that may run again (mayRunAgain), which it handles as what says.
// With takeRerunnable it returns their jobs, taken by this node.
func (db *DB) interrupt(ctx context.Context, now time.Time, reason string, what rerunnable, where string, args ...any) (int64, []*apicron.Job, error) {
	var (
		n    int64
		jobs []*apicron.Job
	)
	err := db.engineWrite(ctx, func(tx *tx) error {
		jobs = nil
		rows, err := tx.query(ctx, `SELECT id, schedule_id, job, reruns,
			COALESCE((SELECT retry_interrupted FROM schedules WHERE schedules.id = runs.schedule_id), FALSE)
			FROM runs WHERE `+where+tx.d.forUpdate, args...)
		if err != nil {
			return err
		}
		var found []interrupted
		for rows.Next() {
			r := interrupted{result: apicron.RunResult{FinishedAt: apicron.TruncMillis(now),
				Outcome: apicron.Outcome{Status: apicron.Interrupted, ErrorType: apicron.ErrInterrupted, ErrorMessage: reason}}}
			if err := rows.Scan(&r.result.RunID, &r.result.ScheduleID, &r.job, &r.reruns, &r.flag); err != nil {
				rows.Close()
				return err
			}
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var (
			results []apicron.RunResult
			again   []int64
		)
		for i := range found {
			r := &found[i]
			if what != interruptRerunnable {
				ok, why := mayRunAgain(r, now)
				if ok {
					again = append(again, r.result.RunID)
					continue
				}
				r.result.ErrorMessage += why
			}
			results = append(results, r.result)
		}
		if len(again) > 0 {
			if err := db.rerun(ctx, tx, again, reason, what); err != nil {
				return err
			}
			if what == takeRerunnable {
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

// rerun, but with keepRerunnable, gives runs back to the queue, counting the
// rerun and its reason; on a shared database every node is woken to take
// them.
func (db *DB) rerun(ctx context.Context, tx *tx, runs []int64, reason string, what rerunnable) error {
	if what == keepRerunnable {
		return nil
	}
	err := forPieces(len(runs), func(lo, hi int) error {
		if _, err := tx.exec(ctx, "UPDATE runs SET node_id = '', take_token = 0, reruns = reruns + 1, rerun_reason = ? WHERE id IN ("+
			placeholders(hi-lo)+")", append([]any{reason}, int64Args(runs[lo:hi])...)...); err != nil {
			return fmt.Errorf("give interrupted runs back to the queue: %w", err)
		}
		return nil
	})
	if err != nil || what != requeueRerunnable || !db.queued() {
		return err
	}
	return tx.notify(ctx, ChannelRuns, "")
}

// takeRerun assigns the runs given back to the queue to this node and
// returns their jobs (SQLite, at start).
func (db *DB) takeRerun(ctx context.Context, tx *tx, again []int64) ([]*apicron.Job, error) {
	ids := slices.Sorted(slices.Values(again))
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
