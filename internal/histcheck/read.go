package histcheck

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// snapshot is what Check reads of the database, in one read transaction.
type snapshot struct {
	schedules map[int64]*scheduleRow
	runs      map[int64]*runRow
	// bySchedule lists each schedule's runs in scheduled_at order.
	bySchedule map[int64][]*runRow
	misses     map[int64][]missRow
	events     map[int64][]eventRow
	stats      map[int64]*statsRow
}

type scheduleRow struct {
	s apicron.Schedule
}

type runRow struct {
	id, schedule, target int64
	status               apicron.RunStatus
	scheduledAt          int64
	trigger              apicron.Trigger
	attemptInRun         bool
	// reruns is how many times the run was sent again after its node
	// stopped (retry_interrupted): its recorded attempts are the last time's.
	reruns int
	// own is the run's own columns as its only attempt (attempt_in_run).
	own      attemptRow
	attempts []attemptRow // from the attempts table, in number order
}

// recorded returns the attempts the run recorded: its attempts rows, or
// its own columns when attempt_in_run says they are its only attempt.
func (r *runRow) recorded() []attemptRow {
	if len(r.attempts) == 0 && r.attemptInRun {
		return []attemptRow{r.own}
	}
	return r.attempts
}

type attemptRow struct {
	number     int
	status     apicron.RunStatus
	statusCode sql.NullInt64
	latency    sql.NullFloat64
	errorType  string
}

type missRow struct {
	from, until int64
	count       int64
	reason      string
}

type eventRow struct {
	at     int64
	kind   apicron.EventKind
	detail map[string]any
}

type statsRow struct {
	outcomes        int64 // success + failed + timeout + dns_error + connection_error + interrupted
	missed, skipped int64
}

// querier runs the snapshot's statements with the dialect's placeholders.
type querier struct {
	ctx    context.Context
	tx     *sql.Tx
	rebind func(string) string
}

func (q *querier) each(query string, scan func(*sql.Rows) error) error {
	rows, err := q.tx.QueryContext(q.ctx, q.rebind(query))
	if err != nil {
		return fmt.Errorf("%s: %w", firstLine(query), err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: %w", firstLine(query), err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", firstLine(query), err)
	}
	return nil
}

func firstLine(q string) string {
	q, _, _ = strings.Cut(strings.TrimSpace(q), "\n")
	return q
}

// errNoDriver is returned for a driver name Check does not know.
var errNoDriver = errors.New(`driver must be "sqlite", "pgx" or "postgres"`)

// rebinder returns how the driver's statements spell placeholders.
func rebinder(driver string) (func(string) string, error) {
	switch driver {
	case "sqlite":
		return func(q string) string { return q }, nil
	case "pgx", "postgres":
		return pgRebind, nil
	}
	return nil, fmt.Errorf("%q: %w", driver, errNoDriver)
}

// pgRebind turns ? into PostgreSQL's $1, $2, ... (the statements here
// hold no ? inside a string).
func pgRebind(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// readSnapshot reads every table the checks need in one read transaction,
// so the runs, attempts, misses and counters are of one instant even while
// apicron writes: on PostgreSQL a REPEATABLE READ snapshot, on SQLite the
// WAL snapshot a read transaction holds from its first read.
func readSnapshot(ctx context.Context, db *sql.DB, driver string) (*snapshot, error) {
	rebind, err := rebinder(driver)
	if err != nil {
		return nil, err
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if driver != "sqlite" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to undo
	q := &querier{ctx: ctx, tx: tx, rebind: rebind}
	s := &snapshot{schedules: map[int64]*scheduleRow{}, runs: map[int64]*runRow{}, bySchedule: map[int64][]*runRow{},
		misses: map[int64][]missRow{}, events: map[int64][]eventRow{}, stats: map[int64]*statsRow{}}
	for _, read := range []func(*querier) error{s.readSchedules, s.readRuns, s.readAttempts, s.readMisses, s.readEvents, s.readStats} {
		if err := read(q); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *snapshot) readSchedules(q *querier) error {
	return q.each(`SELECT id, target_id, schedule_type, interval_seconds, cron_expression, timezone, anchor_at, ends_at,
		run_at, start_at, end_at, status, created_at, jitter_seconds FROM schedules`, func(rows *sql.Rows) error {
		row := &scheduleRow{}
		var typ, status string
		var anchor, created int64
		var endsAt, runAt, startAt, endAt sql.NullInt64
		sc := &row.s
		if err := rows.Scan(&sc.ID, &sc.TargetID, &typ, &sc.IntervalSeconds, &sc.CronExpression, &sc.Timezone, &anchor, &endsAt,
			&runAt, &startAt, &endAt, &status, &created, &sc.JitterSeconds); err != nil {
			return err
		}
		sc.Type, sc.Status = apicron.ScheduleType(typ), apicron.ScheduleStatus(status)
		sc.AnchorAt, sc.CreatedAt = fromMs(anchor), fromMs(created)
		sc.EndsAt, sc.RunAt, sc.StartAt, sc.EndAt = msPtr(endsAt), msPtr(runAt), msPtr(startAt), msPtr(endAt)
		s.schedules[sc.ID] = row
		return nil
	})
}

func (s *snapshot) readRuns(q *querier) error {
	return q.each(`SELECT id, schedule_id, target_id, status, scheduled_at, run_trigger, attempt_in_run,
		status_code, latency_ms, error_type, reruns FROM runs ORDER BY schedule_id, scheduled_at`, func(rows *sql.Rows) error {
		r := &runRow{}
		var status, trigger string
		var inRun int64
		if err := rows.Scan(&r.id, &r.schedule, &r.target, &status, &r.scheduledAt, &trigger, &inRun,
			&r.own.statusCode, &r.own.latency, &r.own.errorType, &r.reruns); err != nil {
			return err
		}
		r.status, r.trigger, r.attemptInRun = apicron.RunStatus(status), apicron.Trigger(trigger), inRun == 1
		r.own.number, r.own.status = 1, r.status
		s.runs[r.id] = r
		s.bySchedule[r.schedule] = append(s.bySchedule[r.schedule], r)
		return nil
	})
}

func (s *snapshot) readAttempts(q *querier) error {
	return q.each(`SELECT run_id, attempt_number, status, status_code, latency_ms, error_type FROM attempts
		ORDER BY run_id, attempt_number`, func(rows *sql.Rows) error {
		var runID int64
		var a attemptRow
		var status string
		if err := rows.Scan(&runID, &a.number, &status, &a.statusCode, &a.latency, &a.errorType); err != nil {
			return err
		}
		a.status = apicron.RunStatus(status)
		if r := s.runs[runID]; r != nil {
			r.attempts = append(r.attempts, a)
		}
		return nil
	})
}

func (s *snapshot) readMisses(q *querier) error {
	return q.each(`SELECT schedule_id, from_at, until_at, count, reason FROM misses ORDER BY schedule_id, from_at, id`,
		func(rows *sql.Rows) error {
			var id int64
			var m missRow
			if err := rows.Scan(&id, &m.from, &m.until, &m.count, &m.reason); err != nil {
				return err
			}
			s.misses[id] = append(s.misses[id], m)
			return nil
		})
}

func (s *snapshot) readEvents(q *querier) error {
	return q.each(`SELECT schedule_id, at, kind, detail FROM schedule_events ORDER BY id`, func(rows *sql.Rows) error {
		var id int64
		var e eventRow
		var kind, detail string
		if err := rows.Scan(&id, &e.at, &kind, &detail); err != nil {
			return err
		}
		e.kind = apicron.EventKind(kind)
		if err := json.Unmarshal([]byte(detail), &e.detail); err != nil {
			return fmt.Errorf("detail of a %s event of schedule %d: %w", kind, id, err)
		}
		s.events[id] = append(s.events[id], e)
		return nil
	})
}

func (s *snapshot) readStats(q *querier) error {
	return q.each(`SELECT scope, runs_success + runs_failed + runs_timeout + runs_dns_error + runs_connection_error + runs_interrupted,
		missed, skipped_overlap FROM run_stats`, func(rows *sql.Rows) error {
		var scope int64
		st := &statsRow{}
		if err := rows.Scan(&scope, &st.outcomes, &st.missed, &st.skipped); err != nil {
			return err
		}
		s.stats[scope] = st
		return nil
	})
}

func fromMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func msPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMs(v.Int64)
	return &t
}
