package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

const runColumns = `id, schedule_id, target_id, status, scheduled_at, started_at, finished_at, missed, latency_ms,
	status_code, response_size, error_type, error_message`

const runDetailColumns = runColumns + `, dns_ms, connect_ms, tls_ms, first_byte_ms, request_method, request_url,
	response_body, response_headers, node_id, attempt_in_run`

func scanRun(row scanner, detail bool) (*apicron.Run, error) {
	var (
		r                        apicron.Run
		status                   string
		scheduled, started       int64
		finished, code, size     sql.NullInt64
		latency                  sql.NullFloat64
		dns, connect, tls, first sql.NullFloat64
		body, headers            sql.NullString
		inRun                    int
	)
	dest := []any{&r.ID, &r.ScheduleID, &r.TargetID, &status, &scheduled, &started, &finished, &r.Missed, &latency,
		&code, &size, &r.ErrorType, &r.ErrorMessage}
	if detail {
		dest = append(dest, &dns, &connect, &tls, &first, &r.Request.Method, &r.Request.URL, &body, &headers, &r.NodeID, &inRun)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.Status = apicron.RunStatus(status)
	r.ScheduledAt, r.StartedAt, r.FinishedAt = fromMs(scheduled), fromMs(started), timePtr(finished)
	r.LatencyMs, r.StatusCode, r.ResponseSize = floatPtr(latency), intPtr(code), int64Ptr(size)
	if detail {
		r.Timings = apicron.Timings{DNSMs: floatPtr(dns), ConnectMs: floatPtr(connect), TLSMs: floatPtr(tls), FirstByteMs: floatPtr(first)}
		r.ResponseBody = body.String
		if headers.Valid && headers.String != "" {
			if err := json.Unmarshal([]byte(headers.String), &r.ResponseHeaders); err != nil {
				return nil, err
			}
		}
		if inRun == 1 && r.FinishedAt != nil {
			// The run's only attempt, stored as the run's own columns.
			r.Attempts = []apicron.Attempt{{RunID: r.ID, Number: 1, StartedAt: r.StartedAt, FinishedAt: *r.FinishedAt, Outcome: r.Outcome}}
		}
	}
	return &r, nil
}

// FindRunByID implements apicron.Store.
func (db *DB) FindRunByID(ctx context.Context, id int64) (*apicron.Run, error) {
	var r *apicron.Run
	err := db.read(ctx, func(tx *tx) (err error) {
		r, err = scanRun(tx.queryRow(ctx, "SELECT "+runDetailColumns+" FROM runs WHERE id = ?", id), true)
		if errors.Is(err, sql.ErrNoRows) {
			return apicron.Errorf(apicron.ENOTFOUND, "run %d not found", id)
		} else if err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT attempt_number, status, started_at, finished_at, latency_ms, status_code,
			response_size, error_type, error_message, dns_ms, connect_ms, tls_ms, first_byte_ms
			FROM attempts WHERE run_id = ? ORDER BY attempt_number`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				a                        apicron.Attempt
				status                   string
				started, finished        int64
				code, size               sql.NullInt64
				latency                  sql.NullFloat64
				dns, connect, tls, first sql.NullFloat64
			)
			if err := rows.Scan(&a.Number, &status, &started, &finished, &latency, &code, &size, &a.ErrorType,
				&a.ErrorMessage, &dns, &connect, &tls, &first); err != nil {
				return err
			}
			a.RunID, a.Status = id, apicron.RunStatus(status)
			a.StartedAt, a.FinishedAt = fromMs(started), fromMs(finished)
			a.LatencyMs, a.StatusCode, a.ResponseSize = floatPtr(latency), intPtr(code), int64Ptr(size)
			a.Timings = apicron.Timings{DNSMs: floatPtr(dns), ConnectMs: floatPtr(connect), TLSMs: floatPtr(tls), FirstByteMs: floatPtr(first)}
			r.Attempts = append(r.Attempts, a)
		}
		return rows.Err()
	})
	return r, err
}

// FindRuns implements apicron.Store. Newest first.
func (db *DB) FindRuns(ctx context.Context, f apicron.RunFilter) ([]*apicron.Run, int, error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	var (
		where []string
		args  []any
	)
	if f.ScheduleID != nil {
		where, args = append(where, "schedule_id = ?"), append(args, *f.ScheduleID)
	}
	if f.TargetID != nil {
		where, args = append(where, "target_id = ?"), append(args, *f.TargetID)
	}
	if f.Status != nil {
		where, args = append(where, "status = ?"), append(args, string(*f.Status))
	}
	if f.Since != nil {
		where, args = append(where, "scheduled_at >= ?"), append(args, ms(*f.Since))
	}
	if f.Until != nil {
		where, args = append(where, "scheduled_at < ?"), append(args, ms(*f.Until))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var (
		list  []*apicron.Run
		total int
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM runs"+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.query(ctx, "SELECT "+runColumns+" FROM runs"+cond+" ORDER BY id DESC LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows, false)
			if err != nil {
				return err
			}
			list = append(list, r)
		}
		return rows.Err()
	})
	return list, total, err
}

// PruneRuns deletes up to limit finished runs (and their attempts) that
// finished before cutoff, oldest first, and returns how many it deleted.
// Counters are left as they are: metrics keep counting pruned runs.
func (db *DB) PruneRuns(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	var n int64
	err := db.engineWrite(ctx, func(tx *tx) error {
		// A run finishes after it is scheduled, so the runs to delete are
		// among those scheduled before the cutoff: a range of the
		// runs_scheduled_at index, not a scan of every run from the oldest id
		// (which, with nothing to delete, read the whole table every pass).
		res, err := tx.exec(ctx, `DELETE FROM runs WHERE id IN (
			SELECT id FROM runs WHERE scheduled_at < ? AND finished_at < ? AND status <> 'RUNNING' ORDER BY scheduled_at LIMIT ?)`,
			ms(cutoff), ms(cutoff), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
