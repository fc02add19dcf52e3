package store

import (
	"context"
	"database/sql"

	"time"

	"github.com/apicron/apicron"
)

// RunsPerMinute implements apicron.Store. It reads run_stats_minute, whose
// key is the minute: at most one row per minute of the range, whatever
// the number of runs.
func (db *DB) RunsPerMinute(ctx context.Context, since, until time.Time) ([]apicron.MinuteRuns, error) {
	from := ms(since) / 60000 * 60000
	var list []apicron.MinuteRuns
	err := db.read(ctx, func(tx *tx) error {
		rows, err := tx.query(ctx, `SELECT minute, runs, runs_success, runs_failed, runs_timeout, runs_dns_error,
			runs_connection_error, runs_interrupted, latency_histogram, lateness_histogram FROM run_stats_minute
			WHERE minute >= ? AND minute < ? ORDER BY minute`, from, ms(until))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				minute    int64
				m         apicron.MinuteRuns
				c         [6]int64
				lat, late string
			)
			if err := rows.Scan(&minute, &m.Runs, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &lat, &late); err != nil {
				return err
			}
			m.Minute, m.ByStatus = fromMs(minute), make(map[apicron.RunStatus]int64, len(minuteStatuses))
			for i, st := range minuteStatuses {
				m.ByStatus[st] = c[i]
			}
			m.Latency, m.Lateness = percentiles(lat), percentiles(late)
			list = append(list, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// percentiles reads p50, p95 and p99 from an encoded histogram (zeros for
// an empty one).
func percentiles(encoded string) [3]float64 {
	if encoded == "" {
		return [3]float64{}
	}
	h := apicron.DecodeHistogram(encoded)
	return [3]float64{h.Quantile(0.5), h.Quantile(0.95), h.Quantile(0.99)}
}

// maxFailingSchedules bounds a FailingSchedules page.
const maxFailingSchedules = 100

// FailingSchedules implements apicron.Store. It reads run_stats, one row
// per schedule, and never the runs: a streak of failures is kept there by
// the transaction that records each run.
func (db *DB) FailingSchedules(ctx context.Context, limit int) ([]*apicron.FailingSchedule, int, error) {
	if limit < 1 || limit > maxFailingSchedules {
		limit = maxFailingSchedules
	}
	var (
		list  []*apicron.FailingSchedule
		total int
	)
	const from = ` FROM run_stats r JOIN schedules s ON s.id = r.scope WHERE r.scope > 0 AND r.consecutive_failures > 0`
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT COUNT(*)"+from).Scan(&total); err != nil {
			return err
		}
		if total == 0 {
			return nil
		}
		rows, err := tx.query(ctx, `SELECT s.id, s.name, s.status, r.alert_state, r.consecutive_failures,
			r.consecutive_successes, r.failing_since, r.alerted_at, r.last_run_at, r.last_status`+from+
			` ORDER BY r.failing_since DESC, s.id DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				f                        apicron.FailingSchedule
				status, alert            string
				since, alertedAt, lastAt sql.NullInt64
				lastStatus               sql.NullString
			)
			if err := rows.Scan(&f.ScheduleID, &f.ScheduleName, &status, &alert, &f.Alert.ConsecutiveFailures,
				&f.Alert.ConsecutiveSuccesses, &since, &alertedAt, &lastAt, &lastStatus); err != nil {
				return err
			}
			f.Status, f.Alert.Status = apicron.ScheduleStatus(status), apicron.AlertStatus(alert)
			f.Alert.FailingSince, f.Alert.AlertedAt, f.LastRunAt = timePtr(since), timePtr(alertedAt), timePtr(lastAt)
			if lastStatus.Valid {
				s := apicron.RunStatus(lastStatus.String)
				f.LastStatus = &s
			}
			list = append(list, &f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return list, total, nil
}
