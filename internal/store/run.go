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
// one schedule, by scheduled_at from BeforeScheduledAt (findScheduleRuns).
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
	if f.ScheduleID != nil {
		return db.findScheduleRuns(ctx, f, limit, offset)
	}
	where, args := runColumnFilters(f)
	// In id order the page tests the time range on each run it reads
	// (+scheduled_at is no indexed column), rather than reading the range
	// from runs_scheduled_at and sorting it: SQLite, which keeps no
	// statistics, chose that, and sorted a month of a million runs for each
	// page (a second, more with an offset).
	pageWhere := slices.Clone(where)
	if f.Since != nil {
		where, pageWhere, args = append(where, "scheduled_at >= ?"), append(pageWhere, "+scheduled_at >= ?"), append(args, ms(*f.Since))
	}
	if f.Until != nil {
		where, pageWhere, args = append(where, "scheduled_at < ?"), append(pageWhere, "+scheduled_at < ?"), append(args, ms(*f.Until))
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
		if f.BeforeID > 0 {
			pageWhere, pageArgs = append(pageWhere, "id < ?"), append(pageArgs, f.BeforeID)
		}
		if total < f.CountLimit { // counted them all
			pageWhere, pageArgs = append(pageWhere, "id >= ?", "id <= ?"), append(pageArgs, lo.Int64, hi.Int64)
		}
		var err error
		list, err = queryRuns(ctx, tx, "SELECT "+runColumns+" FROM runs"+whereClause(pageWhere)+" ORDER BY id DESC LIMIT ? OFFSET ?",
			append(pageArgs, limit, offset)...)
		return err
	})
	return list, total, err
}

// runColumnFilters is the conditions of f on the run's target, status and
// trigger, with their arguments.
func runColumnFilters(f apicron.RunFilter) (cond []string, args []any) {
	filter := func(c string, arg any) { cond, args = append(cond, c), append(args, arg) }
	if f.TargetID != nil {
		filter("target_id = ?", *f.TargetID)
	}
	if f.Status != nil {
		filter("status = ?", string(*f.Status))
	}
	if f.Trigger != nil {
		filter("run_trigger = ?", string(*f.Trigger))
	}
	return cond, args
}

// findScheduleRuns is FindRuns for one schedule: by scheduled_at, from
// BeforeScheduledAt, read in order from the schedule's index
// (scheduleRuns), so a page costs the runs it steps over.
func (db *DB) findScheduleRuns(ctx context.Context, f apicron.RunFilter, limit, offset int) ([]*apicron.Run, int, error) {
	cond, args := runColumnFilters(f)
	filter := func(c string, arg any) { cond, args = append(cond, c), append(args, arg) }
	if f.Since != nil {
		filter("{at} >= ?", ms(*f.Since))
	}
	if f.Until != nil {
		filter("{at} < ?", ms(*f.Until))
	}
	id := *f.ScheduleID
	counted, countArgs := db.d.scheduleRuns("id", id, cond, args, "", f.CountLimit, 0)
	count := "SELECT COUNT(*) FROM (" + counted + ") AS counted"
	pageCond, pageArgs := slices.Clip(cond), slices.Clip(args)
	if f.BeforeScheduledAt != nil {
		pageCond, pageArgs = append(pageCond, "{at} < ?"), append(pageArgs, ms(*f.BeforeScheduledAt))
	}
	page, pageArgs := db.d.scheduleRuns(runColumns, id, pageCond, pageArgs, "DESC", limit, offset)
	var (
		list  []*apicron.Run
		total int
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, count, countArgs...).Scan(&total); err != nil {
			return err
		}
		if total == 0 && f.CountLimit > 0 {
			return nil
		}
		var err error
		list, err = queryRuns(ctx, tx, page, pageArgs...)
		return err
	})
	return list, total, err
}

// queryRuns reads the runs a query of runColumns returns.
func queryRuns(ctx context.Context, tx *tx, q string, args ...any) ([]*apicron.Run, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*apicron.Run
	for rows.Next() {
		r, err := scanRun(rows, false)
		if err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return list, rows.Err()
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
