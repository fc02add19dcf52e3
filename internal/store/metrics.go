package store

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/apicron/apicron"
)

const statsColumns = `runs_success, runs_failed, runs_timeout, runs_dns_error, runs_connection_error, runs_interrupted,
	latency_sum_ms, latency_count, histogram, last_run_at, last_status, skipped_overlap, missed, latency_min_ms, latency_max_ms`

// stats is one run_stats row.
type stats struct {
	byStatus       map[apicron.RunStatus]int64
	total          int64
	latSum         float64
	latCount       int64
	hist           apicron.Histogram
	latMin, latMax *float64 // nil until known (rows from before they were kept)
	lastRunAt      *time.Time
	lastStatus     *apicron.RunStatus
	skippedOverlap int64
	missed         int64
}

// statsScan returns the scan targets of statsColumns and a function that,
// after the scan, fills st from them.
func statsScan(st *stats) ([]any, func()) {
	var (
		c          [6]int64
		hist       string
		lastAt     sql.NullInt64
		lastStatus sql.NullString
		lo, hi     sql.NullFloat64
	)
	dest := []any{&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &st.latSum, &st.latCount, &hist, &lastAt, &lastStatus,
		&st.skippedOverlap, &st.missed, &lo, &hi}
	return dest, func() {
		st.byStatus = map[apicron.RunStatus]int64{}
		for i, s := range []apicron.RunStatus{apicron.Success, apicron.Failed, apicron.Timeout, apicron.DNSError,
			apicron.ConnectionError, apicron.Interrupted} {
			st.byStatus[s] = c[i]
			st.total += c[i]
		}
		st.hist = apicron.DecodeHistogram(hist)
		st.latMin, st.latMax = floatPtr(lo), floatPtr(hi)
		st.lastRunAt = timePtr(lastAt)
		if lastStatus.Valid {
			s := apicron.RunStatus(lastStatus.String)
			st.lastStatus = &s
		}
	}
}

func (st *stats) avg() float64 {
	if st.latCount == 0 {
		return 0
	}
	return round2(st.latSum / float64(st.latCount))
}

// percentiles returns p50, p95 and p99, held within the latencies observed.
func (st *stats) percentiles() (p50, p95, p99 float64) {
	return st.hist.Percentile(0.5, st.latMin, st.latMax), st.hist.Percentile(0.95, st.latMin, st.latMax),
		st.hist.Percentile(0.99, st.latMin, st.latMax)
}

func (st *stats) failed() int64 {
	return st.total - st.byStatus[apicron.Success] - st.byStatus[apicron.Interrupted]
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// SystemMetrics implements apicron.Store. It reads counters, never scans runs.
func (db *DB) SystemMetrics(ctx context.Context, now time.Time) (*apicron.SystemMetrics, error) {
	m := &apicron.SystemMetrics{SchedulesByStatus: map[apicron.ScheduleStatus]int64{}}
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM targets").Scan(&m.TotalTargets); err != nil {
			return err
		}
		rows, err := tx.query(ctx, "SELECT status, COUNT(*) FROM schedules GROUP BY status")
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				s string
				n int64
			)
			if err := rows.Scan(&s, &n); err != nil {
				rows.Close()
				return err
			}
			m.SchedulesByStatus[apicron.ScheduleStatus(s)] = n
			m.TotalSchedules += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var st stats
		dest, fill := statsScan(&st)
		if err := tx.queryRow(ctx, "SELECT "+statsColumns+" FROM run_stats WHERE scope = 0").Scan(dest...); err != nil {
			return err
		}
		fill()
		m.TotalRuns, m.RunsByStatus = st.total, st.byStatus
		if st.total > 0 {
			m.SuccessRate = round2(float64(st.byStatus[apicron.Success]) / float64(st.total) * 100)
		}
		m.AvgLatencyMs = st.avg()
		m.P50LatencyMs, m.P95LatencyMs, m.P99LatencyMs = st.percentiles()
		m.SkippedOverlap, m.Missed = st.skippedOverlap, st.missed
		hourAgo := ms(now.Add(-time.Hour)) / 60000 * 60000
		if err := tx.queryRow(ctx, "SELECT COALESCE(SUM(runs), 0) FROM run_stats_minute WHERE minute >= ?", hourAgo).Scan(&m.RunsLastHour); err != nil {
			return err
		}
		return tx.queryRow(ctx, "SELECT COUNT(*) FROM runs WHERE status = 'RUNNING'").Scan(&m.RunningRuns)
	})
	if err != nil {
		return nil, err
	}
	m.RunsByStatus[apicron.Running] = m.RunningRuns
	return m, nil
}

// ScheduleMetrics implements apicron.Store.
func (db *DB) ScheduleMetrics(ctx context.Context, p apicron.Page) ([]*apicron.ScheduleMetrics, int, error) {
	limit, offset := clampPage(p.Limit, p.Offset)
	var (
		list  []*apicron.ScheduleMetrics
		total int
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM schedules").Scan(&total); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT s.id, s.name, s.status, s.next_run_at, `+statsColumns+`
			FROM schedules s JOIN run_stats ON run_stats.scope = s.id ORDER BY s.id LIMIT ? OFFSET ?`, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				m      apicron.ScheduleMetrics
				status string
				next   sql.NullInt64
				st     stats
			)
			dest, fill := statsScan(&st)
			if err := rows.Scan(append([]any{&m.ScheduleID, &m.ScheduleName, &status, &next}, dest...)...); err != nil {
				return err
			}
			fill()
			m.Status, m.NextRunAt = apicron.ScheduleStatus(status), timePtr(next)
			m.TotalRuns, m.RunsByStatus = st.total, st.byStatus
			m.SuccessfulRuns, m.FailedRuns = st.byStatus[apicron.Success], st.failed()
			m.AvgLatencyMs = st.avg()
			m.P50LatencyMs, m.P95LatencyMs, m.P99LatencyMs = st.percentiles()
			m.LastRunAt, m.LastStatus = st.lastRunAt, st.lastStatus
			m.SkippedOverlap, m.Missed = st.skippedOverlap, st.missed
			list = append(list, &m)
		}
		return rows.Err()
	})
	return list, total, err
}
