package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

const runColumns = `id, schedule_id, target_id, status, scheduled_at, started_at, finished_at, missed, latency_ms,
	status_code, response_size, error_type, error_message, run_trigger, jitter_ms, waited_ms, reruns`

const runDetailColumns = runColumns + `, dns_ms, connect_ms, tls_ms, first_byte_ms, request_method, request_url,
	response_body, response_headers, node_id, attempt_in_run, failed_assertion, request_headers, rerun_reason`

func scanRun(row scanner, detail bool) (*apicron.Run, error) {
	var (
		r                        apicron.Run
		status                   string
		scheduled, started       int64
		finished, code, size     sql.NullInt64
		latency                  sql.NullFloat64
		dns, connect, tls, first sql.NullFloat64
		body, headers, sent      sql.NullString
		inRun                    int
		trigger                  string
		jitter, waited           int64
		failed                   string
		rerunReason              sql.NullString
	)
	dest := []any{&r.ID, &r.ScheduleID, &r.TargetID, &status, &scheduled, &started, &finished, &r.Missed, &latency,
		&code, &size, &r.ErrorType, &r.ErrorMessage, &trigger, &jitter, &waited, &r.Reruns}
	if detail {
		dest = append(dest, &dns, &connect, &tls, &first, &r.Request.Method, &r.Request.URL, &body, &headers, &r.NodeID, &inRun, &failed, &sent, &rerunReason)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.Status = apicron.RunStatus(status)
	r.Trigger, r.Jitter = apicron.Trigger(trigger), time.Duration(jitter)*time.Millisecond
	r.Waited = time.Duration(waited) * time.Millisecond
	r.ScheduledAt, r.StartedAt, r.FinishedAt = fromMs(scheduled), fromMs(started), timePtr(finished)
	r.LatencyMs, r.StatusCode, r.ResponseSize = floatPtr(latency), intPtr(code), int64Ptr(size)
	if detail {
		r.RerunReason = rerunReason.String
		r.Timings = apicron.Timings{DNSMs: floatPtr(dns), ConnectMs: floatPtr(connect), TLSMs: floatPtr(tls), FirstByteMs: floatPtr(first)}
		r.ResponseBody = body.String
		if failed != "" {
			r.FailedAssertion = &apicron.AssertionFailure{}
			if err := json.Unmarshal([]byte(failed), r.FailedAssertion); err != nil {
				return nil, fmt.Errorf("decode failed assertion of run %d: %w", r.ID, err)
			}
		}
		if headers.Valid && headers.String != "" {
			if err := json.Unmarshal([]byte(headers.String), &r.ResponseHeaders); err != nil {
				return nil, err
			}
		}
		if sent.Valid && sent.String != "" {
			if err := json.Unmarshal([]byte(sent.String), &r.Request.Headers); err != nil {
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

// FindRuns implements apicron.Store. Newest first, and a page is read in
// the list's order from an index, never sorted, so it costs the runs it
// steps over, not all the runs the filter selects: by id (the primary key,
// runs_status or runs_target) and BeforeID starts it at the cursor; or, for
// one schedule, by scheduled_at through the UNIQUE (schedule_id,
// scheduled_at) key, which every run already has, from BeforeScheduledAt.
//
// The count, bounded by f.CountLimit, also finds the lowest and the highest
// id it counted: when it counted every run the filter selects, a page in id
// order reads only between them. A time range then costs its own runs, not a
// walk from the newest run down to the range, and down past it to the oldest
// on its last page. (On PostgreSQL the two statements may see different
// commits: a run committed between them is left out, as one committed just
// after the page would be.)
func (db *DB) FindRuns(ctx context.Context, f apicron.RunFilter) ([]*apicron.Run, int, error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	bySchedule := f.ScheduleID != nil
	var (
		where, pageWhere []string
		args             []any
	)
	filter := func(cond, pageCond string, arg any) {
		where, pageWhere, args = append(where, cond), append(pageWhere, pageCond), append(args, arg)
	}
	if bySchedule {
		filter("schedule_id = ?", "schedule_id = ?", *f.ScheduleID)
	}
	if f.TargetID != nil {
		filter("target_id = ?", "target_id = ?", *f.TargetID)
	}
	if f.Status != nil {
		filter("status = ?", "status = ?", string(*f.Status))
	}
	if f.Trigger != nil {
		filter("run_trigger = ?", "run_trigger = ?", string(*f.Trigger))
	}
	// In id order the page tests the time range on each run it reads
	// (+scheduled_at is no indexed column), rather than reading the range
	// from runs_scheduled_at and sorting it: SQLite, which keeps no
	// statistics, chose that, and sorted a month of a million runs for each
	// page (a second, more with an offset). One schedule's page reads the
	// range from its key, in order.
	at := "+scheduled_at"
	if bySchedule {
		at = "scheduled_at"
	}
	if f.Since != nil {
		filter("scheduled_at >= ?", at+" >= ?", ms(*f.Since))
	}
	if f.Until != nil {
		filter("scheduled_at < ?", at+" < ?", ms(*f.Until))
	}
	count := "SELECT COUNT(*), NULL, NULL FROM runs" + whereClause(where)
	countArgs := args
	if f.CountLimit > 0 {
		count = "SELECT COUNT(*), MIN(id), MAX(id) FROM (SELECT id FROM runs" + whereClause(where) + " LIMIT ?) AS counted"
		countArgs = append(slices.Clip(args), f.CountLimit)
	}
	var (
		list   []*apicron.Run
		total  int
		lo, hi sql.NullInt64
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, count, countArgs...).Scan(&total, &lo, &hi); err != nil {
			return err
		}
		if total == 0 && f.CountLimit > 0 {
			return nil
		}
		pageArgs := slices.Clone(args)
		order := " ORDER BY id DESC"
		switch {
		case bySchedule:
			order = " ORDER BY scheduled_at DESC"
			if f.BeforeScheduledAt != nil {
				pageWhere, pageArgs = append(pageWhere, "scheduled_at < ?"), append(pageArgs, ms(*f.BeforeScheduledAt))
			}
		default:
			if f.BeforeID > 0 {
				pageWhere, pageArgs = append(pageWhere, "id < ?"), append(pageArgs, f.BeforeID)
			}
			if total < f.CountLimit { // counted them all
				pageWhere, pageArgs = append(pageWhere, "id >= ?", "id <= ?"), append(pageArgs, lo.Int64, hi.Int64)
			}
		}
		rows, err := tx.query(ctx, "SELECT "+runColumns+" FROM runs"+whereClause(pageWhere)+order+" LIMIT ? OFFSET ?",
			append(pageArgs, limit, offset)...)
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

// whereClause joins conditions into a WHERE clause, "" for none.
func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// PruneRuns deletes up to limit finished runs (and their attempts) that
// finished before cutoff, oldest first, and returns how many it deleted;
// with them go up to limit of the ledger's misses decided before cutoff.
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
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		// The ledger's misses go with the runs of their time: the oldest
		// ids, so a pass with nothing to delete reads limit rows, not all.
		_, err = tx.exec(ctx, "DELETE FROM misses WHERE id IN (SELECT id FROM misses ORDER BY id LIMIT ?) AND at < ?", limit, ms(cutoff))
		return err
	})
	return n, err
}
