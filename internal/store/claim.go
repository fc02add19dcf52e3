package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// Claim implements apicron.Engine. It reads the due schedules (locked on
// PostgreSQL), lets the domain plan decide for each, and writes the
// decisions: the run rows and the advanced next_run_at go in the same
// transaction, so a crash neither loses a schedule's place nor fires an
// occurrence twice, and the UNIQUE (schedule_id, scheduled_at) key refuses a
// duplicate whatever happens above it. A batch costs a handful of statements,
// not a handful per schedule.
func (db *DB) Claim(ctx context.Context, now, until time.Time, ids []int64, busy func(id int64) bool) ([]apicron.ClaimResult, error) {
	now, until = apicron.TruncMillis(now), apicron.TruncMillis(until)
	// Rows are locked in one order everywhere (schedules by id; run_stats
	// scope 0 first, then by schedule id), so transactions on several nodes
	// wait for each other instead of deadlocking.
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var out []apicron.ClaimResult
	err := db.engineWrite(ctx, func(tx *tx) error {
		out = make([]apicron.ClaimResult, 0, len(ids))
		stats := map[int64]*claimStats{}
		err := forPieces(len(ids), func(lo, hi int) error {
			res, err := db.claimChunk(ctx, tx, now, until, ids[lo:hi], busy, stats)
			out = append(out, res...)
			return err
		})
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if err := applyClaimStats(ctx, tx, stats); err != nil {
			return err
		}
		if db.queued() && slices.ContainsFunc(out, func(r apicron.ClaimResult) bool { return r.Job != nil }) {
			return tx.notify(ctx, ChannelRuns, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// claimStats is what a claim adds to a schedule's counters.
type claimStats struct{ skipped, missed int64 }

// due is a schedule read for a claim, with the target fields its job needs.
type due struct {
	s       *apicron.Schedule
	job     apicron.Job
	headers string
	secret  string // secret header names, JSON
	timeout sql.NullFloat64
	retries sql.NullInt64
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// claimReadSQL reads due schedules with their targets, locked on PostgreSQL.
var claimReadSQL = newLockedBatchSQL(func(n int) string {
	return `SELECT s.id, s.name, s.target_id, s.schedule_type, s.interval_seconds, s.duration_seconds,
		s.status, s.stopped_reason, s.anchor_at, s.next_run_at, s.ends_at, s.remaining_ms, s.version, s.created_at, s.updated_at,
		t.url, t.method, t.headers, t.body_template, t.timeout_seconds, t.max_retries, t.secret_headers
		FROM schedules s JOIN targets t ON t.id = s.target_id WHERE s.id IN (` + placeholders(n) + `) ORDER BY s.id`
}, " FOR UPDATE OF s")

// runningSQL finds which of n schedules have a run in flight.
var runningSQL = newBatchSQL(func(n int) string {
	return "SELECT DISTINCT schedule_id FROM runs WHERE status = 'RUNNING' AND schedule_id IN (" + placeholders(n) + ")"
})

// claimChunk claims a piece of a batch (a power of two long). With busy
// set, it says which schedules have a run in flight; otherwise the runs
// table does.
func (db *DB) claimChunk(ctx context.Context, tx *tx, now, until time.Time, ids []int64, busy func(int64) bool, stats map[int64]*claimStats) ([]apicron.ClaimResult, error) {
	rows, err := tx.queryBatch(ctx, claimReadSQL.sql(tx.d, len(ids)), int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	found := make(map[int64]*due, len(ids))
	for rows.Next() {
		d := &due{}
		s, err := scanSchedule(rowFunc(func(dest ...any) error {
			return rows.Scan(append(dest, &d.job.URL, &d.job.Method, &d.headers, &d.job.BodyTemplate, &d.timeout, &d.retries, &d.secret)...)
		}))
		if err != nil {
			rows.Close()
			return nil, err
		}
		d.s = s
		found[s.ID] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// At most one run of a schedule in flight: a due occurrence that finds
	// one RUNNING is skipped and counted, never queued.
	running := map[int64]bool{}
	if busy != nil {
		for _, id := range ids {
			if busy(id) {
				running[id] = true
			}
		}
	} else if running, err = runningSchedules(ctx, tx, ids); err != nil {
		return nil, err
	}

	out := make([]apicron.ClaimResult, len(ids))
	var (
		advance []any // id, next pairs
		fire    []int // indexes into out of the runs to insert
	)
	addStats := func(id, skipped, missed int64) {
		if skipped == 0 && missed == 0 {
			return
		}
		if stats[id] == nil {
			stats[id] = &claimStats{}
		}
		stats[id].skipped += skipped
		stats[id].missed += missed
	}
	for i, id := range ids {
		out[i].ScheduleID = id
		d := found[id]
		if d == nil {
			continue // deleted meanwhile
		}
		plan := d.s.Plan(now, until)
		switch {
		case plan.Stop:
			d.s.Stop(apicron.StoppedWindowElapsed)
			if err := saveSchedule(ctx, tx, d.s); err != nil {
				return nil, err
			}
			addStats(id, 0, plan.Missed)
			continue
		case !plan.Fire:
			out[i].Next = plan.Next
			continue
		}
		out[i].Next = plan.Next
		advance = append(advance, id, ms(*plan.Next))
		if running[id] {
			addStats(id, 1, plan.Missed)
			continue
		}
		addStats(id, 0, plan.Missed)
		j := &d.job
		var err error
		if j.Headers, j.DecryptError, err = db.secrets.decodeJobHeaders(d.headers, d.secret); err != nil {
			return nil, fmt.Errorf("decode headers of target %d: %w", d.s.TargetID, err)
		}
		j.ScheduleID, j.ScheduleName, j.TargetID = id, d.s.Name, d.s.TargetID
		j.ScheduledAt, j.Missed = plan.ScheduledAt, plan.Missed
		if d.timeout.Valid {
			j.Timeout = time.Duration(d.timeout.Float64 * float64(time.Second))
		}
		j.MaxRetries = -1
		if d.retries.Valid {
			j.MaxRetries = int(d.retries.Int64)
		}
		j.RetryDeadline = *plan.Next
		out[i].Job = j
		fire = append(fire, i)
	}
	if len(advance) > 0 {
		if err := advanceSchedules(ctx, tx, advance); err != nil {
			return nil, err
		}
	}
	if len(fire) > 0 {
		if err := db.insertRuns(ctx, tx, now, out, fire); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// runningSchedules returns which of ids have a RUNNING run.
func runningSchedules(ctx context.Context, tx *tx, ids []int64) (map[int64]bool, error) {
	rows, err := tx.queryBatch(ctx, runningSQL.sql(len(ids)), int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	running := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		running[id] = true
	}
	return running, rows.Err()
}

var advanceSQL = newBatchSQL(func(n int) string {
	return "UPDATE schedules SET next_run_at = v.column2 FROM (VALUES " +
		repeatRows("(CAST(? AS BIGINT), CAST(? AS BIGINT))", n) + ") AS v WHERE schedules.id = v.column1"
})

// advanceSchedules sets next_run_at for (id, next) pairs, a few statements
// joined to VALUES lists, so its cost grows linearly with the batch.
func advanceSchedules(ctx context.Context, tx *tx, pairs []any) error {
	return forPieces(len(pairs)/2, func(lo, hi int) error {
		if _, err := tx.execBatch(ctx, advanceSQL.sql(hi-lo), pairs[2*lo:2*hi]...); err != nil {
			return fmt.Errorf("advance next_run_at: %w", err)
		}
		return nil
	})
}

// insertRuns inserts the RUNNING rows of the jobs at out[fire...] in one
// statement and sets their RunIDs. An occurrence that already has a run
// (which the UNIQUE key refuses) gets no job. On a shared database the run
// waits, with its job, for any node to take it; otherwise this process runs it.
func (db *DB) insertRuns(ctx context.Context, tx *tx, now time.Time, out []apicron.ClaimResult, fire []int) error {
	return forPieces(len(fire), func(lo, hi int) error { return db.insertRunsPiece(ctx, tx, now, out, fire[lo:hi]) })
}

var insertRunsSQL = newBatchSQL(func(n int) string {
	return `INSERT INTO runs (schedule_id, target_id, status, scheduled_at, started_at, missed, request_method, node_id, job) VALUES ` +
		repeatRows("(?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?)", n) + " ON CONFLICT (schedule_id, scheduled_at) DO NOTHING RETURNING id, schedule_id"
})

func (db *DB) insertRunsPiece(ctx context.Context, tx *tx, now time.Time, out []apicron.ClaimResult, fire []int) error {
	owner := db.nodeID
	if db.queued() {
		owner = ""
	}
	args := make([]any, 0, len(fire)*8)
	for _, i := range fire {
		j := out[i].Job
		var queuedJob sql.NullString
		if db.queued() {
			jj, err := db.toJobJSON(j)
			if err != nil {
				return err
			}
			raw, err := json.Marshal(jj)
			if err != nil {
				return err
			}
			queuedJob = sql.NullString{String: string(raw), Valid: true}
		}
		args = append(args, j.ScheduleID, j.TargetID, ms(j.ScheduledAt), ms(maxTime(now, j.ScheduledAt)), j.Missed, j.Method, owner, queuedJob)
	}
	rows, err := tx.queryBatch(ctx, insertRunsSQL.sql(len(fire)), args...)
	if err != nil {
		return fmt.Errorf("insert runs: %w", err)
	}
	defer rows.Close()
	runIDs := make(map[int64]int64, len(fire))
	for rows.Next() {
		var id, scheduleID int64
		if err := rows.Scan(&id, &scheduleID); err != nil {
			return err
		}
		runIDs[scheduleID] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, i := range fire {
		if id, ok := runIDs[out[i].ScheduleID]; ok {
			out[i].Job.RunID = id
		} else {
			out[i].Job = nil // the occurrence has a run already
		}
	}
	return nil
}

// applyClaimStats adds a claim's skips and misses to the counters: the
// service's first, then each schedule's by id.
func applyClaimStats(ctx context.Context, tx *tx, stats map[int64]*claimStats) error {
	if len(stats) == 0 {
		return nil
	}
	var total claimStats
	for _, c := range stats {
		total.skipped += c.skipped
		total.missed += c.missed
	}
	if err := addClaimStats(ctx, tx, 0, total.skipped, total.missed); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(stats)) {
		if err := addClaimStats(ctx, tx, id, stats[id].skipped, stats[id].missed); err != nil {
			return err
		}
	}
	return nil
}

// rowFunc adapts a function to the scanner interface.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

func addClaimStats(ctx context.Context, tx *tx, scope, skipped, missed int64) error {
	if skipped == 0 && missed == 0 {
		return nil
	}
	_, err := tx.exec(ctx, "UPDATE run_stats SET skipped_overlap = skipped_overlap + ?, missed = missed + ? WHERE scope = ?",
		skipped, missed, scope)
	return err
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
	return db.engineWrite(ctx, func(tx *tx) error { return finishTx(ctx, tx, results, db.nodeID) })
}

// finishTx records results. With owner set, only runs owned by that node
// are written: a node that lost its runs to the reaper cannot record over them.
func finishTx(ctx context.Context, tx *tx, results []apicron.RunResult, owner string) error {
	done := make(map[int64]bool, len(results))
	err := forPieces(len(results), func(lo, hi int) error { return updateRuns(ctx, tx, results[lo:hi], owner, done) })
	if err != nil {
		return err
	}
	deltas := map[int64]*statsDelta{}
	minutes := map[int64]int64{}
	var attempts []any
	nAttempts := 0
	for i := range results {
		r := &results[i]
		if !done[r.RunID] {
			continue // fenced off: no longer RUNNING, or not this node's
		}
		finished := finishedAt(tx, r)
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
	if nAttempts > 0 {
		if err := insertAttempts(ctx, tx, attempts); err != nil {
			return err
		}
	}
	if err := applyDeltas(ctx, tx, deltas); err != nil {
		return err
	}
	for _, minute := range slices.Sorted(maps.Keys(minutes)) {
		if _, err := tx.exec(ctx, `INSERT INTO run_stats_minute (minute, runs) VALUES (?, ?)
			ON CONFLICT (minute) DO UPDATE SET runs = run_stats_minute.runs + excluded.runs`, minute, minutes[minute]); err != nil {
			return err
		}
	}
	return nil
}

func finishedAt(tx *tx, r *apicron.RunResult) int64 {
	if r.FinishedAt.IsZero() {
		return ms(tx.now)
	}
	return ms(r.FinishedAt)
}

// updateRuns records results on their RUNNING runs in one statement and
// marks in done the runs it wrote. With owner set, only that node's runs.
var updateRunsSQL = newBatchSQL(func(n int) string {
	return `UPDATE runs SET status = v.column2, started_at = COALESCE(v.column3, runs.started_at), finished_at = v.column4,
		latency_ms = v.column5, status_code = v.column6, response_size = v.column7, error_type = v.column8,
		error_message = v.column9, dns_ms = v.column10, connect_ms = v.column11, tls_ms = v.column12, first_byte_ms = v.column13,
		request_method = COALESCE(NULLIF(v.column14, ''), runs.request_method), request_url = v.column15,
		response_body = v.column16, response_headers = v.column17, attempt_in_run = v.column18, job = NULL
		FROM (VALUES ` + repeatRows(`(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION),
			CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION),
			CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), CAST(? AS TEXT),
			CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER))`, n) +
		`) AS v WHERE runs.id = v.column1 AND runs.status = 'RUNNING' AND (? = '' OR runs.node_id = ?) RETURNING runs.id`
})

// updateRuns writes a piece of a result batch (a power of two long).
func updateRuns(ctx context.Context, tx *tx, results []apicron.RunResult, owner string, done map[int64]bool) error {
	args := make([]any, 0, len(results)*18+2)
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
		var body sql.NullString
		if r.ResponseBody != "" {
			body = sql.NullString{String: r.ResponseBody, Valid: true}
		}
		args = append(args, r.RunID, string(r.Status), started, finishedAt(tx, r), nullFloat(r.LatencyMs), nullInt(r.StatusCode),
			nullInt64(r.ResponseSize), r.ErrorType, r.ErrorMessage, nullFloat(r.Timings.DNSMs), nullFloat(r.Timings.ConnectMs),
			nullFloat(r.Timings.TLSMs), nullFloat(r.Timings.FirstByteMs), r.Request.Method, r.Request.URL, body, headers,
			boolInt(attemptInRun(r)))
	}
	rows, err := tx.queryBatch(ctx, updateRunsSQL.sql(len(results)), append(args, owner, owner)...)
	if err != nil {
		return fmt.Errorf("finish runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		done[id] = true
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

// applyDeltas adds each scope's delta to its run_stats row: the rows are
// read and locked in scope order, their histograms merged, and all written
// back in a few statements. A scope whose schedule was deleted is skipped.
func applyDeltas(ctx context.Context, tx *tx, deltas map[int64]*statsDelta) error {
	scopes := slices.Sorted(maps.Keys(deltas))
	hists := make(map[int64]string, len(scopes))
	err := forPieces(len(scopes), func(lo, hi int) error {
		chunk := scopes[lo:hi]
		rows, err := tx.queryBatch(ctx, statsReadSQL.sql(tx.d, len(chunk)), int64Args(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var scope int64
			var enc string
			if err := rows.Scan(&scope, &enc); err != nil {
				return err
			}
			hists[scope] = enc
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	found := make([]int64, 0, len(hists))
	for _, scope := range scopes {
		if _, ok := hists[scope]; ok {
			found = append(found, scope)
		}
	}
	return forPieces(len(found), func(lo, hi int) error {
		args := make([]any, 0, 12*(hi-lo))
		for _, scope := range found[lo:hi] {
			d := deltas[scope]
			h := apicron.DecodeHistogram(hists[scope])
			h.Merge(&d.hist)
			c := d.counts
			args = append(args, scope, c[apicron.Success], c[apicron.Failed], c[apicron.Timeout], c[apicron.DNSError],
				c[apicron.ConnectionError], c[apicron.Interrupted], d.latSum, d.latCount, h.Encode(), d.lastAt, string(d.lastStatus))
		}
		if _, err := tx.execBatch(ctx, statsUpdateSQL.sql(hi-lo), args...); err != nil {
			return fmt.Errorf("update counters: %w", err)
		}
		return nil
	})
}

// statsReadSQL reads run_stats rows' histograms (and locks the rows on PostgreSQL).
var statsReadSQL = newLockedBatchSQL(func(n int) string {
	return "SELECT scope, histogram FROM run_stats WHERE scope IN (" + placeholders(n) + ") ORDER BY scope"
}, " FOR UPDATE")

var statsUpdateSQL = newBatchSQL(func(n int) string {
	return `UPDATE run_stats SET runs_success = runs_success + v.column2, runs_failed = runs_failed + v.column3,
			runs_timeout = runs_timeout + v.column4, runs_dns_error = runs_dns_error + v.column5,
			runs_connection_error = runs_connection_error + v.column6, runs_interrupted = runs_interrupted + v.column7,
			latency_sum_ms = latency_sum_ms + v.column8, latency_count = latency_count + v.column9, histogram = v.column10,
			last_status = CASE WHEN run_stats.last_run_at IS NULL OR run_stats.last_run_at <= v.column11 THEN v.column12 ELSE run_stats.last_status END,
			last_run_at = CASE WHEN run_stats.last_run_at IS NULL OR run_stats.last_run_at <= v.column11 THEN v.column11 ELSE run_stats.last_run_at END
			FROM (VALUES ` + repeatRows(`(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT),
				CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS TEXT),
				CAST(? AS BIGINT), CAST(? AS TEXT))`, n) + ") AS v WHERE run_stats.scope = v.column1"
})

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

// ActiveSchedules implements apicron.Engine.
func (db *DB) ActiveSchedules(ctx context.Context, fn func(id int64, next time.Time)) error {
	rows, err := db.r.QueryContext(ctx, "SELECT id, next_run_at FROM schedules WHERE status = 'ACTIVE' AND next_run_at IS NOT NULL")
	if err != nil {
		return db.mapErr(err)
	}
	return scanNextRuns(rows, fn)
}

// scanNextRuns calls fn with each row of (id, next_run_at) and closes rows.
func scanNextRuns(rows *sql.Rows, fn func(id int64, next time.Time)) error {
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

// NextRunAts implements apicron.Engine: one query per piece of ids, so a
// burst of changes (schedules created by the hundred) costs a few queries.
func (db *DB) NextRunAts(ctx context.Context, ids []int64) (map[int64]time.Time, error) {
	out := make(map[int64]time.Time, len(ids))
	err := forPieces(len(ids), func(lo, hi int) error {
		rows, err := db.r.QueryContext(ctx, db.d.rebind(nextRunAtsSQL.sql(hi-lo)), int64Args(ids[lo:hi])...)
		if err != nil {
			return db.mapErr(err)
		}
		return scanNextRuns(rows, func(id int64, next time.Time) { out[id] = next })
	})
	return out, err
}

var nextRunAtsSQL = newBatchSQL(func(n int) string {
	return "SELECT id, next_run_at FROM schedules WHERE status = 'ACTIVE' AND next_run_at IS NOT NULL AND id IN (" + placeholders(n) + ")"
})

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
