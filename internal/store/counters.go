package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/apicron/apicron"
)

// claimStats is what a claim adds to a schedule's counters.
type claimStats struct{ skipped, missed int64 }

// applyClaimStats adds a claim's skips and misses to the counters: the
// service's and each schedule's, in a statement per piece of rows (one per
// schedule was 169,000 statements a minute when PostgreSQL fell behind and
// skipped, work added exactly when there is least time for it). On
// PostgreSQL the rows are locked first in scope order, the order every
// transaction locks them in, so a claim and a result write wait for each
// other rather than deadlock.
func applyClaimStats(ctx context.Context, tx *tx, stats map[int64]*claimStats) error {
	if len(stats) == 0 {
		return nil
	}
	var total claimStats
	for _, c := range stats {
		total.skipped += c.skipped
		total.missed += c.missed
	}
	scopes := append([]int64{0}, slices.Sorted(maps.Keys(stats))...) // scope 0 is the service's
	of := func(scope int64) *claimStats {
		if scope == 0 {
			return &total
		}
		return stats[scope]
	}
	return forPieces(len(scopes), func(lo, hi int) error {
		chunk := scopes[lo:hi]
		if tx.d.forUpdate != "" {
			rows, err := tx.queryBatch(ctx, claimStatsLockSQL.sql(hi-lo), int64Args(chunk)...)
			if err != nil {
				return err
			}
			for rows.Next() { // every row, so every lock, is taken
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
		}
		args := make([]any, 0, 3*len(chunk))
		for _, scope := range chunk {
			c := of(scope)
			args = append(args, scope, c.skipped, c.missed)
		}
		if _, err := tx.execBatch(ctx, claimStatsSQL.sql(tx.d, hi-lo), keyedArgs(tx.d, args, chunk)...); err != nil {
			return fmt.Errorf("count skips and misses: %w", err)
		}
		return nil
	})
}

var claimStatsLockSQL = newBatchSQL(func(n int) string {
	return "SELECT scope FROM run_stats WHERE scope IN (" + placeholders(n) + ") ORDER BY scope FOR UPDATE"
})

var claimStatsSQL = newDialectBatchSQL(func(d dialect, n int) string {
	return `UPDATE run_stats SET skipped_overlap = skipped_overlap + v.column2, missed = missed + v.column3
		FROM (VALUES ` + repeatRows("(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))", n) + `) AS v
		WHERE run_stats.scope = v.column1` + listedKeys(d, "run_stats.scope", n)
})

// statusColumn is the run_stats counter of each final status.
var statusColumn = map[apicron.RunStatus]string{
	apicron.Success:         "runs_success",
	apicron.Failed:          "runs_failed",
	apicron.Timeout:         "runs_timeout",
	apicron.DNSError:        "runs_dns_error",
	apicron.ConnectionError: "runs_connection_error",
	apicron.Interrupted:     "runs_interrupted",
}

// statsDelta is what one batch adds to one run_stats row. A batch holds
// one or two results of most schedules, so their latencies are kept as
// they are and counted into the row's histogram when it is written: a
// histogram of its own was 1.6 KiB allocated per schedule and batch, the
// largest allocation per run.
type statsDelta struct {
	counts         [len(minuteStatuses)]int64 // by minuteStatuses
	latSum         float64
	latMin, latMax float64   // of the latencies counted, when there are any
	lats           []float64 // the latencies counted
	lastAt         int64
	lastStatus     apicron.RunStatus
	streak         streak
}

func (d *statsDelta) add(r *apicron.RunResult, finished int64) {
	if i := slices.Index(minuteStatuses[:], r.Status); i >= 0 {
		d.counts[i]++
	}
	if r.LatencyMs != nil {
		l := *r.LatencyMs
		if len(d.lats) == 0 || l < d.latMin {
			d.latMin = l
		}
		if len(d.lats) == 0 || l > d.latMax {
			d.latMax = l
		}
		d.latSum += l
		d.lats = append(d.lats, l)
	}
	if finished >= d.lastAt {
		d.lastAt, d.lastStatus = finished, r.Status
	}
	d.streak.add(r, finished)
}

// resultCounts is what a batch of results adds to the counters: a delta
// per run_stats scope (each run's schedule, and 0 for the service) and the
// runs finished per minute.
type resultCounts struct {
	deltas  map[int64]*statsDelta
	minutes map[int64]*minuteDelta
	// results and done are the batch and which of its results are
	// recorded: alerting walks a schedule's in order.
	results []apicron.RunResult
	done    map[int64]int64
}

// minuteDelta is what one batch adds to one run_stats_minute row.
type minuteDelta struct {
	runs              int64
	counts            [6]int64 // by minuteStatuses
	latency, lateness apicron.Histogram
}

// minuteStatuses are the run_stats_minute counters, in their column order
// (run_stats' too).
var minuteStatuses = [6]apicron.RunStatus{apicron.Success, apicron.Failed, apicron.Timeout, apicron.DNSError,
	apicron.ConnectionError, apicron.Interrupted}

// add counts r, which finished at finished and was due at due (unix ms).
func (c *resultCounts) add(r *apicron.RunResult, finished, due int64) {
	if c.deltas == nil {
		c.deltas, c.minutes = map[int64]*statsDelta{}, map[int64]*minuteDelta{}
	}
	for _, scope := range []int64{r.ScheduleID, 0} {
		d := c.deltas[scope]
		if d == nil {
			d = &statsDelta{}
			c.deltas[scope] = d
		}
		d.add(r, finished)
	}
	m := c.minutes[finished/60000*60000]
	if m == nil {
		m = &minuteDelta{}
		c.minutes[finished/60000*60000] = m
	}
	m.runs++
	if i := slices.Index(minuteStatuses[:], r.Status); i >= 0 {
		m.counts[i]++
	}
	if r.LatencyMs != nil {
		m.latency.Add(*r.LatencyMs)
	}
	if len(r.Attempts) > 0 && !r.StartedAt.IsZero() { // a run that was sent: how late it left
		m.lateness.Add(max(float64(ms(r.StartedAt)-due), 0))
	}
}

// apply writes the counts: run_stats rows, then run_stats_minute rows, each in key order.
func (c *resultCounts) apply(ctx context.Context, tx *tx) error {
	if err := applyDeltas(ctx, tx, c.deltas, c.results, c.done); err != nil {
		return err
	}
	return applyMinutes(ctx, tx, c.minutes)
}

// minuteReadSQL reads the histograms of run_stats_minute rows (locked on
// PostgreSQL), for applyMinutes to merge.
var minuteReadSQL = newLockedBatchSQL(func(n int) string {
	return "SELECT minute, latency_histogram, lateness_histogram FROM run_stats_minute WHERE minute IN (" + placeholders(n) +
		") ORDER BY minute"
}, " FOR UPDATE")

// applyMinutes adds each minute's delta to its run_stats_minute row, the
// histograms merged with the row's: a batch touches one or two minutes.
func applyMinutes(ctx context.Context, tx *tx, minutes map[int64]*minuteDelta) error {
	keys := slices.Sorted(maps.Keys(minutes))
	stored := make(map[int64][2]string, len(keys))
	if err := forPieces(len(keys), func(lo, hi int) error {
		rows, err := tx.queryBatch(ctx, minuteReadSQL.sql(tx.d, hi-lo), int64Args(keys[lo:hi])...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var minute int64
			var h [2]string
			if err := rows.Scan(&minute, &h[0], &h[1]); err != nil {
				return err
			}
			stored[minute] = h
		}
		return rows.Err()
	}); err != nil {
		return err
	}
	for _, minute := range keys {
		m := minutes[minute]
		lat, late := apicron.DecodeHistogram(stored[minute][0]), apicron.DecodeHistogram(stored[minute][1])
		lat.Merge(&m.latency)
		late.Merge(&m.lateness)
		c := m.counts
		if _, err := tx.exec(ctx, `INSERT INTO run_stats_minute (minute, runs, runs_success, runs_failed, runs_timeout, runs_dns_error,
			runs_connection_error, runs_interrupted, latency_histogram, lateness_histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (minute) DO UPDATE SET runs = run_stats_minute.runs + excluded.runs,
			runs_success = run_stats_minute.runs_success + excluded.runs_success,
			runs_failed = run_stats_minute.runs_failed + excluded.runs_failed,
			runs_timeout = run_stats_minute.runs_timeout + excluded.runs_timeout,
			runs_dns_error = run_stats_minute.runs_dns_error + excluded.runs_dns_error,
			runs_connection_error = run_stats_minute.runs_connection_error + excluded.runs_connection_error,
			runs_interrupted = run_stats_minute.runs_interrupted + excluded.runs_interrupted,
			latency_histogram = excluded.latency_histogram, lateness_histogram = excluded.lateness_histogram`,
			minute, m.runs, c[0], c[1], c[2], c[3], c[4], c[5], lat.Encode(), late.Encode()); err != nil {
			return err
		}
	}
	return nil
}

// statsRow is what applyDeltas reads of a run_stats row before it adds to it.
type statsRow struct {
	hist           string
	latMin, latMax sql.NullFloat64
	alert          alertRow
}

// applyDeltas adds each scope's delta to its run_stats row: the rows are
// read and locked in scope order, their histograms and latency ranges
// merged, and all written back in a few statements. A scope whose schedule
// was deleted is skipped.
func applyDeltas(ctx context.Context, tx *tx, deltas map[int64]*statsDelta, results []apicron.RunResult, done map[int64]int64) error {
	scopes := slices.Sorted(maps.Keys(deltas))
	read := make(map[int64]statsRow, len(scopes))
	err := forPieces(len(scopes), func(lo, hi int) error {
		chunk := scopes[lo:hi]
		rows, err := tx.queryBatch(ctx, statsReadSQL.sql(tx.d, len(chunk)), keyedArgs(tx.d, int64Args(chunk), chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				scope int64
				row   statsRow
			)
			a := &row.alert
			if err := rows.Scan(&scope, &row.hist, &row.latMin, &row.latMax, &a.failures, &a.successes, &a.failingSince,
				&a.status, &a.alertedAt, &a.rule, &a.autoPause, &a.scheduleStatus, &a.scheduleVersion); err != nil {
				return err
			}
			read[scope] = row
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	found := make([]int64, 0, len(read))
	for _, scope := range scopes {
		if _, ok := read[scope]; ok {
			found = append(found, scope)
		}
	}
	err = forPieces(len(found), func(lo, hi int) error {
		args := make([]any, 0, 17*(hi-lo))
		for _, scope := range found[lo:hi] {
			d, row := deltas[scope], read[scope]
			h := apicron.DecodeHistogram(row.hist)
			latMin, latMax := latencyRange(row.latMin, row.latMax, &h, d)
			for _, l := range d.lats {
				h.Add(l)
			}
			c := d.counts
			failures, successes, since := row.alert.next(&d.streak)
			args = append(args, scope, c[0], c[1], c[2], c[3], c[4], c[5], d.latSum, len(d.lats), h.Encode(), d.lastAt, string(d.lastStatus),
				nullableFloat(latMin), nullableFloat(latMax), failures, successes, nullableInt(since))
		}
		if _, err := tx.execBatch(ctx, statsUpdateSQL.sql(tx.d, hi-lo), keyedArgs(tx.d, args, found[lo:hi])...); err != nil {
			return fmt.Errorf("update counters: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, scope := range found {
		row := read[scope]
		if scope == 0 || (!row.alert.rule.Valid && !row.alert.autoPause.Valid) {
			continue // the common case: nothing to tell
		}
		if err := evaluateAlerts(ctx, tx, scope, &row.alert, results, done); err != nil {
			return err
		}
	}
	return nil
}

// nullableInt is v as an argument: nil or an int64.
func nullableInt(v sql.NullInt64) any {
	if !v.Valid {
		return nil
	}
	return v.Int64
}

// latencyRange merges a batch's least and greatest latency into a row's
// (lo, hi). A row that has counted latencies without a range (written before
// the range was kept) starts from the bounds its histogram old proves, so
// the range still holds every latency counted; a greatest latency it cannot
// prove (its last bucket has no upper edge) stays unknown.
func latencyRange(lo, hi sql.NullFloat64, old *apicron.Histogram, d *statsDelta) (sql.NullFloat64, sql.NullFloat64) {
	if len(d.lats) == 0 {
		return lo, hi
	}
	unbounded := false
	if !lo.Valid || !hi.Valid {
		if blo, bhi, ok := old.Range(); ok {
			if !lo.Valid {
				lo = sql.NullFloat64{Float64: blo, Valid: true}
			}
			if !hi.Valid {
				unbounded = math.IsInf(bhi, 1)
				hi = sql.NullFloat64{Float64: bhi, Valid: !unbounded}
			}
		}
	}
	if !lo.Valid || d.latMin < lo.Float64 {
		lo = sql.NullFloat64{Float64: d.latMin, Valid: true}
	}
	if !unbounded && (!hi.Valid || d.latMax > hi.Float64) {
		hi = sql.NullFloat64{Float64: d.latMax, Valid: true}
	}
	return lo, hi
}

// nullableFloat is v as an argument: nil or a float64, which the drivers
// take as they are (a sql.NullFloat64 costs two allocations to convert).
func nullableFloat(v sql.NullFloat64) any {
	if !v.Valid {
		return nil
	}
	return v.Float64
}

// statsReadSQL reads what applyDeltas merges of run_stats rows (and locks
// the rows on PostgreSQL).
var statsReadSQL = newDialectBatchSQL(func(d dialect, n int) string {
	// With each row, what alerting needs: the schedule's rule (else the
	// default; none for scope 0), its auto-pause threshold and status. Only
	// run_stats rows are locked; the schedule is read, as a claim may hold it.
	// The listed keys come before the WHERE's list in the text, their
	// arguments after it (keyedArgs): both are the same scopes.
	q := `SELECT r.scope, r.histogram, r.latency_min_ms, r.latency_max_ms, r.consecutive_failures, r.consecutive_successes,
		r.failing_since, r.alert_state, r.alerted_at, CASE WHEN s.id IS NULL THEN NULL ELSE COALESCE(s.alert, d.value) END,
		s.auto_pause_after, s.status, s.version
		FROM run_stats r LEFT JOIN schedules s ON s.id = r.scope` + listedKeys(d, "s.id", n) + ` LEFT JOIN settings d ON d.name = 'alert_default'
		WHERE r.scope IN (` + placeholders(n) + ") ORDER BY r.scope"
	if d.forUpdate != "" {
		q += " FOR UPDATE OF r"
	}
	return q
})

var statsUpdateSQL = newDialectBatchSQL(func(d dialect, n int) string {
	return `UPDATE run_stats SET runs_success = runs_success + v.column2, runs_failed = runs_failed + v.column3,
			runs_timeout = runs_timeout + v.column4, runs_dns_error = runs_dns_error + v.column5,
			runs_connection_error = runs_connection_error + v.column6, runs_interrupted = runs_interrupted + v.column7,
			latency_sum_ms = latency_sum_ms + v.column8, latency_count = latency_count + v.column9, histogram = v.column10,
			last_status = CASE WHEN run_stats.last_run_at IS NULL OR run_stats.last_run_at <= v.column11 THEN v.column12 ELSE run_stats.last_status END,
			last_run_at = CASE WHEN run_stats.last_run_at IS NULL OR run_stats.last_run_at <= v.column11 THEN v.column11 ELSE run_stats.last_run_at END,
			latency_min_ms = v.column13, latency_max_ms = v.column14, consecutive_failures = v.column15,
			consecutive_successes = v.column16, failing_since = v.column17
			FROM (VALUES ` + repeatRows(`(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT),
				CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS TEXT),
				CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),
				CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))`, n) + ") AS v WHERE run_stats.scope = v.column1" +
		listedKeys(d, "run_stats.scope", n)
})
