package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	err := db.engineWrite(ctx, func(tx *tx) error {
		rows, err := tx.query(ctx, query+tx.d.forUpdate, args...)
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
		n = int64(len(results))
		return finishTx(ctx, tx, results, "")
	})
	return n, err
}
