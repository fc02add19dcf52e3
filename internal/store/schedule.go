package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// scheduleColumns are the columns scanSchedule reads: those a claim needs
// (Claim reads them beside its target's). keep_runs is left out: it is read
// with scheduleFullColumns and scanFullSchedule, and written only on create
// and update, so saving a schedule a claim read never clears it.
const scheduleColumns = `id, name, target_id, schedule_type, interval_seconds, duration_seconds, status, stopped_reason,
	anchor_at, next_run_at, ends_at, remaining_ms, version, created_at, updated_at, cron_expression, timezone,
	run_at, start_at, end_at, max_runs, run_count, jitter_seconds, misfire_grace_seconds, pause_reason, paused_until,
	overlap_policy, max_parallel, misfire_policy, catch_up_max, assertions, alert, auto_pause_after, retry_interrupted`

// scheduleFullColumns are the columns scanFullSchedule reads: every field.
const scheduleFullColumns = scheduleColumns + ", keep_runs"

// scheduleAssertions is the assertions column of s: NULL for the target's.
func scheduleAssertions(s *apicron.Schedule) sql.NullString {
	if s.Assertions == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: encodeAssertions(*s.Assertions), Valid: true}
}

// scheduleCols is what scanSchedule reads into before it fills a
// Schedule: one allocation per row, where the same fields as locals were
// one each (a claim scans every due schedule). The Schedule is allocated
// apart, so that it does not keep these alive.
type scheduleCols struct {
	typ, status           string
	duration              sql.NullInt64
	anchor                int64
	next, ends, remaining sql.NullInt64
	createdAt, updatedAt  int64
	runAt, startAt, endAt sql.NullInt64
	maxRuns, grace, until sql.NullInt64
	overlap, misfire      string
	parallel, catchUp     sql.NullInt64
	assertions, alert     sql.NullString
	autoPause             sql.NullInt64
}

// scanSchedule reads scheduleColumns, then into extra the columns that
// follow them.
func scanSchedule(row scanner, extra ...any) (*apicron.Schedule, error) {
	c, s := new(scheduleCols), new(apicron.Schedule)
	dest := append(make([]any, 0, 34+len(extra)), &s.ID, &s.Name, &s.TargetID, &c.typ, &s.IntervalSeconds, &c.duration, &c.status,
		&s.StoppedReason, &c.anchor, &c.next, &c.ends, &c.remaining, &s.Version, &c.createdAt, &c.updatedAt, &s.CronExpression,
		&s.Timezone, &c.runAt, &c.startAt, &c.endAt, &c.maxRuns, &s.RunCount, &s.JitterSeconds, &c.grace, &s.PauseReason, &c.until,
		&c.overlap, &c.parallel, &c.misfire, &c.catchUp, &c.assertions, &c.alert, &c.autoPause, &s.RetryInterrupted)
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	var err error
	if s.Alert, err = decodeAlertRule(c.alert); err != nil {
		return nil, fmt.Errorf("decode alert rule of schedule %d: %w", s.ID, err)
	}
	s.AutoPauseAfter = intPtr(c.autoPause)
	s.RunAt, s.StartAt, s.EndAt, s.PausedUntil = timePtr(c.runAt), timePtr(c.startAt), timePtr(c.endAt), timePtr(c.until)
	s.MaxRuns, s.MisfireGraceSeconds = intPtr(c.maxRuns), intPtr(c.grace)
	s.OverlapPolicy, s.MaxParallel = apicron.OverlapPolicy(c.overlap), intPtr(c.parallel)
	s.MisfirePolicy, s.CatchUpMax = apicron.MisfirePolicy(c.misfire), intPtr(c.catchUp)
	if c.assertions.Valid {
		list, err := decodeAssertions(c.assertions.String)
		if err != nil {
			return nil, fmt.Errorf("decode assertions of schedule %d: %w", s.ID, err)
		}
		if list == nil {
			list = []apicron.Assertion{}
		}
		s.Assertions = &list
	}
	s.Type, s.Status = apicron.ScheduleType(c.typ), apicron.ScheduleStatus(c.status)
	s.DurationSeconds = intPtr(c.duration)
	s.AnchorAt = fromMs(c.anchor)
	s.NextRunAt, s.EndsAt, s.RemainingMs = timePtr(c.next), timePtr(c.ends), int64Ptr(c.remaining)
	s.CreatedAt, s.UpdatedAt = fromMs(c.createdAt), fromMs(c.updatedAt)
	return s, nil
}

// scanFullSchedule reads scheduleFullColumns.
func scanFullSchedule(row scanner) (*apicron.Schedule, error) {
	var keep sql.NullInt64
	s, err := scanSchedule(row, &keep)
	if err != nil {
		return nil, err
	}
	s.KeepRuns = intPtr(keep)
	return s, nil
}

func findSchedule(ctx context.Context, tx *tx, id int64, lock bool) (*apicron.Schedule, error) {
	q := "SELECT " + scheduleFullColumns + " FROM schedules WHERE id = ?"
	if lock {
		q += tx.d.forUpdate
	}
	s, err := scanFullSchedule(tx.queryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apicron.Errorf(apicron.ENOTFOUND, "schedule %d not found", id)
	}
	return s, err
}

func checkTargetExists(ctx context.Context, tx *tx, id int64) error {
	var n int
	if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM targets WHERE id = ?", id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return apicron.Invalid("target_id", "target %d does not exist", id)
	}
	return nil
}

// CreateSchedule implements apicron.Store.
func (db *DB) CreateSchedule(ctx context.Context, s *apicron.Schedule) error {
	s.Name = strings.TrimSpace(s.Name)
	if err := s.Validate(); err != nil {
		return err
	}
	return db.write(ctx, func(tx *tx) error {
		if err := checkTargetExists(ctx, tx, s.TargetID); err != nil {
			return err
		}
		if err := checkNotifiers(ctx, tx, "alert.notifier_ids", s.Alert); err != nil {
			return err
		}
		s.RemainingMs = nil
		if s.Timezone == "" {
			s.Timezone = apicron.DefaultTimezone
		}
		if s.OverlapPolicy == "" {
			s.OverlapPolicy = apicron.OverlapSkip
		}
		if s.MisfirePolicy == "" {
			s.MisfirePolicy = apicron.MisfireCoalesce
		}
		if err := s.ValidateAt(tx.now); err != nil {
			return err
		}
		s.RunCount = 0
		s.Activate(tx.now)
		s.Version = 1
		s.CreatedAt, s.UpdatedAt = tx.now, tx.now
		err := tx.queryRow(ctx, `INSERT INTO schedules (name, target_id, schedule_type, interval_seconds, duration_seconds, status,
			stopped_reason, anchor_at, next_run_at, ends_at, remaining_ms, version, created_at, updated_at, keep_runs,
			cron_expression, timezone, run_at, start_at, end_at, max_runs, run_count, jitter_seconds, misfire_grace_seconds,
			pause_reason, paused_until, overlap_policy, max_parallel, misfire_policy, catch_up_max, assertions, alert, auto_pause_after,
			retry_interrupted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.Name, s.TargetID, string(s.Type), s.IntervalSeconds, nullInt(s.DurationSeconds), string(s.Status),
			s.StoppedReason, ms(s.AnchorAt), nullMs(s.NextRunAt), nullMs(s.EndsAt), nullInt64(s.RemainingMs),
			s.Version, ms(tx.now), ms(tx.now), nullInt(s.KeepRuns), s.CronExpression, s.Timezone,
			nullMs(s.RunAt), nullMs(s.StartAt), nullMs(s.EndAt), nullInt(s.MaxRuns), s.RunCount, s.JitterSeconds,
			nullInt(s.MisfireGraceSeconds), s.PauseReason, nullMs(s.PausedUntil), string(s.OverlapPolicy), nullInt(s.MaxParallel),
			string(s.MisfirePolicy), nullInt(s.CatchUpMax), scheduleAssertions(s), encodeAlertRule(s.Alert),
			nullInt(s.AutoPauseAfter), s.RetryInterrupted).Scan(&s.ID)
		if err != nil {
			return fmt.Errorf("insert schedule: %w", err)
		}
		if _, err = tx.exec(ctx, "INSERT INTO run_stats (scope) VALUES (?)", s.ID); err != nil {
			return err
		}
		detail := map[string]any{"schedule_type": s.Type, "status": s.Status}
		if s.Status == apicron.Stopped {
			detail["stopped_reason"] = s.StoppedReason
		}
		if err := addEvent(ctx, tx, s.ID, apicron.EventCreated, detail); err != nil {
			return err
		}
		return notifyScheduleChanged(ctx, tx, s.ID)
	})
}

// saveSchedule writes every mutable field of s but KeepRuns (see
// scheduleColumns) and bumps its version.
func saveSchedule(ctx context.Context, tx *tx, s *apicron.Schedule) error {
	s.Version++
	s.UpdatedAt = tx.now
	if err := notifyScheduleChanged(ctx, tx, s.ID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `UPDATE schedules SET name = ?, target_id = ?, schedule_type = ?, interval_seconds = ?,
		duration_seconds = ?, status = ?, stopped_reason = ?, anchor_at = ?, next_run_at = ?, ends_at = ?,
		remaining_ms = ?, version = ?, updated_at = ?, cron_expression = ?, timezone = ?, run_at = ?, start_at = ?,
		end_at = ?, max_runs = ?, run_count = ?, jitter_seconds = ?, misfire_grace_seconds = ?, pause_reason = ?,
		paused_until = ?, overlap_policy = ?, max_parallel = ?, misfire_policy = ?, catch_up_max = ?, assertions = ?,
		alert = ?, auto_pause_after = ?, retry_interrupted = ? WHERE id = ?`,
		s.Name, s.TargetID, string(s.Type), s.IntervalSeconds, nullInt(s.DurationSeconds), string(s.Status),
		s.StoppedReason, ms(s.AnchorAt), nullMs(s.NextRunAt), nullMs(s.EndsAt), nullInt64(s.RemainingMs),
		s.Version, ms(tx.now), s.CronExpression, s.Timezone, nullMs(s.RunAt), nullMs(s.StartAt), nullMs(s.EndAt),
		nullInt(s.MaxRuns), s.RunCount, s.JitterSeconds, nullInt(s.MisfireGraceSeconds), s.PauseReason,
		nullMs(s.PausedUntil), string(s.OverlapPolicy), nullInt(s.MaxParallel), string(s.MisfirePolicy), nullInt(s.CatchUpMax),
		scheduleAssertions(s), encodeAlertRule(s.Alert), nullInt(s.AutoPauseAfter), s.RetryInterrupted, s.ID)
	if err != nil {
		return fmt.Errorf("update schedule %d: %w", s.ID, err)
	}
	return nil
}

// FindScheduleByID implements apicron.Store.
func (db *DB) FindScheduleByID(ctx context.Context, id int64) (*apicron.Schedule, error) {
	var s *apicron.Schedule
	err := db.read(ctx, func(tx *tx) (err error) {
		s, err = findSchedule(ctx, tx, id, false)
		return err
	})
	return s, err
}

// FindSchedules implements apicron.Store.
func (db *DB) FindSchedules(ctx context.Context, f apicron.ScheduleFilter) ([]*apicron.Schedule, int, error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	var (
		where []string
		args  []any
	)
	if f.Status != nil {
		where, args = append(where, "status = ?"), append(args, string(*f.Status))
	}
	if f.TargetID != nil {
		where, args = append(where, "target_id = ?"), append(args, *f.TargetID)
	}
	if f.Type != nil {
		where, args = append(where, "schedule_type = ?"), append(args, string(*f.Type))
	}
	if f.NameContains != "" {
		// ASCII case only on both: PostgreSQL's LOWER folds every letter
		// in its usual collation, SQLite's only ASCII ones, so "Ö" would
		// match "ö" on one and not the other.
		lower := "LOWER(name)"
		if db.d.name == "postgres" {
			lower = `LOWER(name COLLATE "C")`
		}
		where, args = append(where, lower+` LIKE ? ESCAPE '\'`), append(args, "%"+likeEscape(asciiLower(f.NameContains))+"%")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var (
		list  []*apicron.Schedule
		total int
	)
	err := db.read(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM schedules"+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.query(ctx, "SELECT "+scheduleFullColumns+" FROM schedules"+cond+" ORDER BY id LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanFullSchedule(rows)
			if err != nil {
				return err
			}
			list = append(list, s)
		}
		return rows.Err()
	})
	return list, total, err
}

// UpdateSchedule implements apicron.Store.
func (db *DB) UpdateSchedule(ctx context.Context, id int64, upd apicron.ScheduleUpdate) (*apicron.Schedule, error) {
	var s *apicron.Schedule
	err := db.write(ctx, func(tx *tx) (err error) {
		if s, err = findSchedule(ctx, tx, id, true); err != nil {
			return err
		}
		if upd.Type != nil && *upd.Type != s.Type {
			return apicron.Invalid("schedule_type", "cannot be changed from %s to %s; create a new schedule instead", s.Type, *upd.Type)
		}
		if upd.Name != nil {
			trimmed := strings.TrimSpace(*upd.Name)
			upd.Name = &trimmed
		}
		before := *s
		upd.Apply(s, tx.now)
		if err := s.Validate(); err != nil {
			return err
		}
		if changed := changedFields(&before, s); len(changed) > 0 {
			if err := addEvent(ctx, tx, s.ID, apicron.EventUpdated, map[string]any{"changed": changed}); err != nil {
				return err
			}
		}
		if before.Status != apicron.Stopped && s.Status == apicron.Stopped {
			if err := addEvent(ctx, tx, s.ID, apicron.EventStopped, map[string]any{"reason": s.StoppedReason}); err != nil {
				return err
			}
		}
		if upd.RunAt != nil || upd.EndAt != nil || upd.MisfireGraceSeconds != nil {
			if err := s.ValidateAt(tx.now); err != nil {
				return err
			}
		}
		if upd.TargetID != nil {
			if err := checkTargetExists(ctx, tx, s.TargetID); err != nil {
				return err
			}
		}
		if upd.Alert != nil {
			if err := checkNotifiers(ctx, tx, "alert.notifier_ids", s.Alert); err != nil {
				return err
			}
		}
		if upd.KeepRuns != nil {
			if _, err := tx.exec(ctx, "UPDATE schedules SET keep_runs = ? WHERE id = ?", nullInt(s.KeepRuns), s.ID); err != nil {
				return fmt.Errorf("update schedule %d: %w", s.ID, err)
			}
		}
		return saveSchedule(ctx, tx, s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// DeleteSchedule implements apicron.Store. A run in flight finishes and is
// recorded: runs are history and are not deleted with their schedule.
func (db *DB) DeleteSchedule(ctx context.Context, id int64) error {
	return db.write(ctx, func(tx *tx) error {
		if _, err := findSchedule(ctx, tx, id, true); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM run_stats WHERE scope = ?", id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM schedule_events WHERE schedule_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM misses WHERE schedule_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM schedules WHERE id = ?", id); err != nil {
			return err
		}
		return notifyScheduleChanged(ctx, tx, id)
	})
}

// PauseSchedule implements apicron.Store. The write transaction serializes
// with claims, so once it commits no claim can see the schedule ACTIVE.
// A pause with a reason or an until on a schedule already PAUSED replaces
// them; one with neither leaves it as it is.
func (db *DB) PauseSchedule(ctx context.Context, id int64, p apicron.PauseRequest) (*apicron.Schedule, error) {
	return db.transition(ctx, id, apicron.EventPaused, func(s *apicron.Schedule, now time.Time) (bool, error) {
		if err := p.Validate(now); err != nil {
			return false, err
		}
		switch s.Status {
		case apicron.Paused:
			if p.Reason == "" && p.Until == nil {
				return false, nil
			}
			s.PauseReason, s.PausedUntil = p.Reason, apicron.TruncMillisPtr(p.Until)
			return true, nil
		case apicron.Stopped:
			return false, apicron.Errorf(apicron.ECONFLICT, "schedule %d is STOPPED (%s) and cannot be paused", id, s.StoppedReason)
		}
		s.PauseUntil(now, p.Reason, p.Until)
		return true, nil
	})
}

// ResumeSchedule implements apicron.Store: the schedule continues its grid
// (apicron.Schedule.Resume).
func (db *DB) ResumeSchedule(ctx context.Context, id int64) (*apicron.Schedule, error) {
	return db.transition(ctx, id, apicron.EventResumed, func(s *apicron.Schedule, now time.Time) (bool, error) {
		switch s.Status {
		case apicron.Active:
			return false, nil
		case apicron.Stopped:
			return false, apicron.Errorf(apicron.ECONFLICT,
				"schedule %d is STOPPED (%s): its window has ended and cannot be resumed; create a new schedule", id, s.StoppedReason)
		}
		s.Resume(now)
		return true, nil
	})
}

// transition applies fn to schedule id and, when it changed it, saves it
// and records an event of kind with the pause's fields and the outcome.
func (db *DB) transition(ctx context.Context, id int64, kind apicron.EventKind, fn func(*apicron.Schedule, time.Time) (bool, error)) (*apicron.Schedule, error) {
	var s *apicron.Schedule
	err := db.write(ctx, func(tx *tx) (err error) {
		if s, err = findSchedule(ctx, tx, id, true); err != nil {
			return err
		}
		changed, err := fn(s, tx.now)
		if err != nil || !changed {
			return err
		}
		detail := map[string]any{"status": s.Status, "next_run_at": timeDetail(s.NextRunAt)}
		if kind == apicron.EventPaused {
			detail = map[string]any{"reason": s.PauseReason, "until": timeDetail(s.PausedUntil)}
		}
		if s.Status == apicron.Stopped { // resumed with nothing left
			detail["stopped_reason"] = s.StoppedReason
		}
		if err := addEvent(ctx, tx, id, kind, detail); err != nil {
			return err
		}
		if kind == apicron.EventResumed {
			// A resumed schedule gets auto_pause_after fresh tries.
			if _, err := tx.exec(ctx, "UPDATE run_stats SET consecutive_failures = 0 WHERE scope = ?", id); err != nil {
				return err
			}
		}
		return saveSchedule(ctx, tx, s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// likeEscape escapes the wildcards of a LIKE pattern (ESCAPE '\\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// asciiLower lowers ASCII letters alone, as SQLite's LOWER does: both
// databases then compare the same bytes.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// RecentOutcomes implements apicron.Store: one UNION ALL of a bounded
// subquery per schedule, each the end of its index (scheduleRuns; on SQLite
// recentRunsSQL, with the tail read once for all), so a page of 50
// schedules reads at most 50 x n index entries and rows, and on SQLite the
// tail's runs of those schedules too (a seek per slot and schedule; about
// 35 runs of a schedule that fires every second), however many runs are
// stored. An id given twice counts once.
func (db *DB) RecentOutcomes(ctx context.Context, ids []int64, n int) (map[int64][]apicron.RunStatus, error) {
	n = min(max(n, 1), apicron.MaxRecentOutcomes)
	if len(ids) > apicron.MaxRecentOutcomeSchedules {
		ids = ids[:apicron.MaxRecentOutcomeSchedules]
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	out := make(map[int64][]apicron.RunStatus, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := db.read(ctx, func(tx *tx) error {
		if db.d.runIndex {
			q, args := recentRunsSQL(ids, n)
			return recentOutcomesRead(ctx, tx, q, args, n, out)
		}
		parts := make([]string, 0, len(ids))
		args := make([]any, 0, 2*len(ids))
		for _, id := range ids {
			q, a := db.d.scheduleRuns("schedule_id, scheduled_at, status", id, nil, nil, "DESC", n, 0)
			parts, args = append(parts, "SELECT * FROM ("+q+") r"), append(args, a...)
		}
		return recentOutcomesRead(ctx, tx, strings.Join(parts, " UNION ALL ")+" ORDER BY 1, 2 DESC", args, n, out)
	})
	return out, err
}

// recentOutcomesRead appends to out the statuses q reads, in its order, at
// most n of a schedule.
func recentOutcomesRead(ctx context.Context, tx *tx, q string, args []any, n int, out map[int64][]apicron.RunStatus) error {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, at int64
			st     string
		)
		if err := rows.Scan(&id, &at, &st); err != nil {
			return err
		}
		if len(out[id]) < n {
			out[id] = append(out[id], apicron.RunStatus(st))
		}
	}
	return rows.Err()
}
