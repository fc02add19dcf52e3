package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apicron/apicron"
)

// settingAlertDefault names the default alert rule in the settings table.
const settingAlertDefault = "alert_default"

// encodeAlertRule is a schedule's alert rule as its column holds it: NULL
// for the default rule.
func encodeAlertRule(r *apicron.AlertRule) sql.NullString {
	if r == nil {
		return sql.NullString{}
	}
	b, _ := json.Marshal(r) // numbers and booleans: cannot fail
	return sql.NullString{String: string(b), Valid: true}
}

func decodeAlertRule(s sql.NullString) (*apicron.AlertRule, error) {
	if !s.Valid {
		return nil, nil
	}
	var r apicron.AlertRule
	if err := json.Unmarshal([]byte(s.String), &r); err != nil {
		return nil, err
	}
	r.Normalize()
	return &r, nil
}

// checkNotifiers refuses a rule naming a notifier that does not exist.
func checkNotifiers(ctx context.Context, tx *tx, field string, r *apicron.AlertRule) error {
	if r == nil || len(r.NotifierIDs) == 0 {
		return nil
	}
	found, err := existingNotifiers(ctx, tx, r.NotifierIDs)
	if err != nil {
		return err
	}
	for _, id := range r.NotifierIDs {
		if !slices.Contains(found, id) {
			return apicron.Invalid(field, "notifier %d does not exist", id)
		}
	}
	return nil
}

// existingNotifiers returns those of ids that name a notifier, in order.
func existingNotifiers(ctx context.Context, tx *tx, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.query(ctx, "SELECT id FROM notifiers WHERE id IN ("+placeholders(len(ids))+") ORDER BY id", int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DefaultAlertRule implements apicron.Store: nil when there is none.
func (db *DB) DefaultAlertRule(ctx context.Context) (*apicron.AlertRule, error) {
	var r *apicron.AlertRule
	err := db.read(ctx, func(tx *tx) (err error) {
		r, err = defaultAlertRule(ctx, tx)
		return err
	})
	return r, err
}

func defaultAlertRule(ctx context.Context, tx *tx) (*apicron.AlertRule, error) {
	var v sql.NullString
	err := tx.queryRow(ctx, "SELECT value FROM settings WHERE name = ?", settingAlertDefault).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return decodeAlertRule(v)
}

// SetDefaultAlertRule implements apicron.Store: nil removes it.
func (db *DB) SetDefaultAlertRule(ctx context.Context, r *apicron.AlertRule) error {
	if r != nil {
		r.Normalize()
		if err := r.Validate(""); err != nil {
			return err
		}
	}
	return db.write(ctx, func(tx *tx) error {
		if r == nil {
			_, err := tx.exec(ctx, "DELETE FROM settings WHERE name = ?", settingAlertDefault)
			return err
		}
		if err := checkNotifiers(ctx, tx, "notifier_ids", r); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, settingAlertDefault, encodeAlertRule(r).String)
		return err
	})
}

// streak is what one batch says of a schedule's run of successes or
// failures: the outcomes it counts, in the order the batch holds them.
type streak struct {
	anyFail, anySuccess bool
	trailFail           int64 // failures at the end of the batch
	trailSuccess        int64
	trailFailFrom       int64 // when the first of the trailing failures finished (unix ms)
}

func (k *streak) add(r *apicron.RunResult, finished int64) {
	failure, counted := apicron.CountsAsFailure(r.Status, r.ErrorType)
	if !counted {
		return
	}
	if failure {
		if k.trailFail == 0 {
			k.trailFailFrom = finished
		}
		k.anyFail, k.trailFail, k.trailSuccess = true, k.trailFail+1, 0
		return
	}
	k.anySuccess, k.trailSuccess, k.trailFail = true, k.trailSuccess+1, 0
}

// alertRow is what a run_stats row holds of a schedule's alerting, with
// the rule and auto-pause threshold that apply to it (read with the row).
type alertRow struct {
	failures, successes int64
	failingSince        sql.NullInt64
	status              string
	alertedAt           sql.NullInt64
	rule                sql.NullString // the schedule's, else the default; NULL for none (and scope 0)
	autoPause           sql.NullInt64
	scheduleStatus      sql.NullString
	scheduleVersion     sql.NullInt64
}

// autoPauseRequest is a schedule a batch found over its auto_pause_after:
// at version, failures in a row, the last of them last.
type autoPauseRequest struct {
	id, version, failures int64
	last                  apicron.RunResult
}

// next returns the streaks after k: those a batch ending in failures
// continues or restarts, the other reset.
func (a *alertRow) next(k *streak) (failures, successes int64, since sql.NullInt64) {
	failures, successes, since = a.failures, a.successes, a.failingSince
	if k.anySuccess {
		failures, since = k.trailFail, sql.NullInt64{}
		if k.trailFail > 0 {
			since = sql.NullInt64{Int64: k.trailFailFrom, Valid: true}
		}
	} else if k.trailFail > 0 {
		if failures == 0 || !since.Valid {
			since = sql.NullInt64{Int64: k.trailFailFrom, Valid: true}
		}
		failures += k.trailFail
	}
	if k.anyFail {
		successes = k.trailSuccess
	} else {
		successes += k.trailSuccess
	}
	return failures, successes, since
}

// evaluateAlerts raises the alerts schedule scope's results in this batch
// (results, those in done, in the batch's order) call for, in the
// transaction that records them, with the run_stats row locked: so each
// change of state is told once, whichever node finished the run and however
// often the process restarts. The results are walked one by one, so a
// threshold crossed and left within one batch (F, F, F, S) is still told.
// Schedules that auto_pause_after now pauses are noted on tx, for a
// transaction of their own (that one locks the schedule before its
// counters, the order every transaction keeps).
func evaluateAlerts(ctx context.Context, tx *tx, scope int64, a *alertRow, results []apicron.RunResult, done map[int64]int64) error {
	var rule *apicron.AlertRule
	if a.rule.Valid {
		var err error
		if rule, err = decodeAlertRule(a.rule); err != nil {
			return fmt.Errorf("decode alert rule of schedule %d: %w", scope, err)
		}
	}
	now := ms(tx.now)
	failures, successes, since := a.failures, a.successes, a.failingSince
	status, alertedAt := a.status, a.alertedAt
	changed := false
	var pause *autoPauseRequest
	for i := range results {
		r := &results[i]
		if _, ok := done[r.RunID]; r.ScheduleID != scope || !ok {
			continue
		}
		failure, counted := apicron.CountsAsFailure(r.Status, r.ErrorType)
		if !counted {
			continue
		}
		if failure {
			if failures == 0 || !since.Valid {
				since = sql.NullInt64{Int64: finishedAt(tx, r), Valid: true}
			}
			failures, successes = failures+1, 0
		} else {
			failures, successes, since = 0, successes+1, sql.NullInt64{}
		}
		if failure && a.autoPause.Valid && failures >= a.autoPause.Int64 && a.scheduleStatus.String == string(apicron.Active) {
			pause = &autoPauseRequest{id: scope, version: a.scheduleVersion.Int64, failures: failures, last: *r}
		}
		if rule == nil {
			continue
		}
		state := apicron.AlertState{ConsecutiveFailures: failures, ConsecutiveSuccesses: successes, FailingSince: timePtr(since)}
		var err error
		switch {
		case status != string(apicron.AlertStateFailing) && failures >= int64(rule.FailureThreshold):
			status, alertedAt, changed = string(apicron.AlertStateFailing), sql.NullInt64{Int64: now, Valid: true}, true
			err = enqueueAlert(ctx, tx, rule.NotifierIDs, apicron.AlertFailing, false, scope, r, state)
		case status == string(apicron.AlertStateFailing) && successes >= int64(rule.SuccessThreshold):
			status, alertedAt, changed = string(apicron.AlertStateOK), sql.NullInt64{}, true
			err = enqueueAlert(ctx, tx, rule.NotifierIDs, apicron.AlertRecovered, false, scope, r, state)
		case status == string(apicron.AlertStateFailing) && failure && rule.RealertMinutes > 0 &&
			(!alertedAt.Valid || now-alertedAt.Int64 >= int64(rule.RealertMinutes)*60000):
			alertedAt, changed = sql.NullInt64{Int64: now, Valid: true}, true
			err = enqueueAlert(ctx, tx, rule.NotifierIDs, apicron.AlertFailing, true, scope, r, state)
		}
		if err != nil {
			return err
		}
	}
	if pause != nil {
		tx.autoPause = append(tx.autoPause, *pause)
	}
	if !changed {
		return nil
	}
	_, err := tx.exec(ctx, "UPDATE run_stats SET alert_state = ?, alerted_at = ? WHERE scope = ?", status, alertedAt, scope)
	return err
}

// enqueueAlert writes one pending notification of event per notifier of
// ids that still exists, about schedule id and its run r.
func enqueueAlert(ctx context.Context, tx *tx, ids []int64, event apicron.AlertEvent, realert bool, id int64,
	r *apicron.RunResult, state apicron.AlertState) error {
	ids, err := existingNotifiers(ctx, tx, ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	m, err := alertMessage(ctx, tx, event, id, r, state)
	if err != nil {
		return err
	}
	m.Realert = realert
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var runID sql.NullInt64
	if r != nil && r.RunID > 0 {
		runID = sql.NullInt64{Int64: r.RunID, Valid: true}
	}
	for _, n := range ids {
		_, err := tx.exec(ctx, `INSERT INTO notifications (notifier_id, schedule_id, run_id, event, message, status, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, n, id, runID, string(event), string(raw), string(apicron.NotificationPending), ms(tx.now), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert notification: %w", err)
		}
	}
	return nil
}

// alertMessage writes the alert of event about schedule id, its run r (nil
// for none) and its streaks.
func alertMessage(ctx context.Context, tx *tx, event apicron.AlertEvent, id int64, r *apicron.RunResult,
	state apicron.AlertState) (*apicron.AlertMessage, error) {
	sched := &apicron.AlertSubject{ID: id}
	target := &apicron.AlertSubject{}
	err := tx.queryRow(ctx, `SELECT s.name, s.status, t.id, t.name, t.url FROM schedules s JOIN targets t ON t.id = s.target_id
		WHERE s.id = ?`, id).Scan(&sched.Name, &sched.Status, &target.ID, &target.Name, &target.URL)
	if err != nil {
		return nil, fmt.Errorf("read schedule %d for its alert: %w", id, err)
	}
	m := &apicron.AlertMessage{Event: event, At: tx.now, Schedule: sched, Target: target,
		ConsecutiveFailures: state.ConsecutiveFailures, ConsecutiveSuccesses: state.ConsecutiveSuccesses, FailingSince: state.FailingSince}
	if event == apicron.AlertRecovered {
		m.ConsecutiveFailures = 0
	} else {
		m.ConsecutiveSuccesses = 0
	}
	if r != nil && r.RunID > 0 {
		run := &apicron.AlertRun{ID: r.RunID, Status: r.Status, StatusCode: r.StatusCode, ErrorType: r.ErrorType,
			ErrorMessage: r.ErrorMessage}
		var scheduled int64
		if err := tx.queryRow(ctx, "SELECT scheduled_at FROM runs WHERE id = ?", r.RunID).Scan(&scheduled); err != nil {
			return nil, fmt.Errorf("read run %d for its alert: %w", r.RunID, err)
		}
		run.ScheduledAt = fromMs(scheduled)
		if !r.FinishedAt.IsZero() {
			f := apicron.TruncMillis(r.FinishedAt)
			run.FinishedAt = &f
		}
		m.LastRun = run
	}
	m.Summary = alertSummary(m)
	return m, nil
}

// alertSummary is the one line people read first.
func alertSummary(m *apicron.AlertMessage) string {
	name := strconv.Quote(m.Schedule.Name)
	why := ""
	if r := m.LastRun; r != nil && r.Status != apicron.Success {
		why = string(r.Status)
		if r.ErrorType != "" {
			why += " (" + r.ErrorType + ")"
		}
		if r.ErrorMessage != "" {
			why += ": " + truncateRunes(r.ErrorMessage, 200)
		}
	}
	plural := func(n int64, word string) string {
		if n == 1 {
			return "1 " + word
		}
		if strings.HasSuffix(word, "s") {
			return strconv.FormatInt(n, 10) + " " + word + "es"
		}
		return strconv.FormatInt(n, 10) + " " + word + "s"
	}
	switch m.Event {
	case apicron.AlertFailing:
		s := "schedule " + name + " is failing: " + plural(m.ConsecutiveFailures, "consecutive failure")
		if m.Realert {
			s = "schedule " + name + " is still failing: " + plural(m.ConsecutiveFailures, "consecutive failure")
		}
		if why != "" {
			s += "; last " + why
		}
		return s
	case apicron.AlertRecovered:
		return "schedule " + name + " recovered: " + plural(m.ConsecutiveSuccesses, "consecutive success")
	case apicron.AlertAutoPaused:
		s := "schedule " + name + " was paused after " + plural(m.ConsecutiveFailures, "consecutive failure")
		if why != "" {
			s += "; last " + why
		}
		return s
	case apicron.AlertWindowEnded:
		return "schedule " + name + ": its window ended"
	}
	return "schedule " + name + ": " + string(m.Event)
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// ruleOf returns the alert rule that applies to s: its own, else the default.
func ruleOf(ctx context.Context, tx *tx, s *apicron.Schedule) (*apicron.AlertRule, error) {
	if s.Alert != nil {
		return s.Alert, nil
	}
	return defaultAlertRule(ctx, tx)
}

// alertWindowEnded tells that a WINDOW schedule's window closed, if its
// rule asks for it. The claim calls it with the schedule locked.
func alertWindowEnded(ctx context.Context, tx *tx, s *apicron.Schedule) error {
	if s.Type != apicron.Window || s.StoppedReason != apicron.StoppedWindowElapsed {
		return nil
	}
	rule, err := ruleOf(ctx, tx, s)
	if err != nil || rule == nil || !rule.OnWindowEnd {
		return err
	}
	return enqueueAlert(ctx, tx, rule.NotifierIDs, apicron.AlertWindowEnded, false, s.ID, nil, apicron.AlertState{})
}

// autoPause pauses the schedules a batch found over their
// auto_pause_after, each in a transaction of its own, unless it changed
// since (a pause, a resume or an edit bumps its version). One this misses
// (a crash between the two transactions) is paused when the next failure is
// recorded: the batch's test is the streak, not its crossing.
func (db *DB) autoPause(ctx context.Context, reqs []autoPauseRequest) {
	for _, req := range reqs {
		err := db.engineWrite(ctx, func(tx *tx) error {
			s, err := findSchedule(ctx, tx, req.id, true)
			if apicron.ErrorCode(err) == apicron.ENOTFOUND {
				return nil
			} else if err != nil {
				return err
			}
			if s.Status != apicron.Active || s.AutoPauseAfter == nil || s.Version != req.version {
				return nil
			}
			last := &req.last
			reason := fmt.Sprintf("auto-paused after %d consecutive failures; last: %s", req.failures, last.Status)
			if last.ErrorType != "" {
				reason += " (" + last.ErrorType + ")"
			}
			if last.ErrorMessage != "" {
				reason += ": " + last.ErrorMessage
			}
			reason = truncateRunes(reason, apicron.MaxPauseReason-1)
			s.PauseUntil(tx.now, reason, nil)
			detail := map[string]any{"reason": s.PauseReason, "until": nil, "auto": true, "consecutive_failures": req.failures,
				"run_id": last.RunID}
			if err := addEvent(apicron.WithActor(ctx, apicron.ActorEngine), tx, req.id, apicron.EventPaused, detail); err != nil {
				return err
			}
			if err := saveSchedule(ctx, tx, s); err != nil {
				return err
			}
			rule, err := ruleOf(ctx, tx, s)
			if err != nil || rule == nil || !rule.OnAutoPause {
				return err
			}
			return enqueueAlert(ctx, tx, rule.NotifierIDs, apicron.AlertAutoPaused, false, req.id, last,
				apicron.AlertState{ConsecutiveFailures: req.failures})
		})
		if err != nil {
			db.logger.Warn("auto-pause failed; the next failure tries again", "schedule_id", req.id, "run_id", req.last.RunID, "error", err)
		}
	}
}

// alertState reads the alert state of schedule id.
func alertState(ctx context.Context, tx *tx, id int64) (*apicron.AlertState, error) {
	var (
		st               apicron.AlertState
		status           string
		since, alertedAt sql.NullInt64
	)
	err := tx.queryRow(ctx, `SELECT alert_state, consecutive_failures, consecutive_successes, failing_since, alerted_at
		FROM run_stats WHERE scope = ?`, id).Scan(&status, &st.ConsecutiveFailures, &st.ConsecutiveSuccesses, &since, &alertedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apicron.Errorf(apicron.ENOTFOUND, "schedule %d not found", id)
	} else if err != nil {
		return nil, err
	}
	st.Status, st.FailingSince, st.AlertedAt = apicron.AlertStatus(status), timePtr(since), timePtr(alertedAt)
	return &st, nil
}

// AlertState implements apicron.Store.
func (db *DB) AlertState(ctx context.Context, id int64) (*apicron.AlertState, error) {
	var st *apicron.AlertState
	err := db.read(ctx, func(tx *tx) (err error) {
		st, err = alertState(ctx, tx, id)
		return err
	})
	return st, err
}
