package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/apicron/apicron"
)

// manualTries is how many milliseconds a manual run tries for its
// scheduled_at: the UNIQUE (schedule_id, scheduled_at) key refuses one that
// an occurrence or another manual run already holds.
const manualTries = 10

// TriggerRun implements apicron.Runner: it inserts a RUNNING run of
// schedule id, scheduled now, with trigger manual, and returns its job. A
// run of the schedule in flight refuses it (ECONFLICT, the skip overlap
// policy) unless force. A STOPPED schedule is refused too; a PAUSED one runs.
// On a shared database the run waits in the runs table for any node, as a
// claimed one does; otherwise the caller hands the job to the engine.
func (db *DB) TriggerRun(ctx context.Context, id int64, force bool) (*apicron.Job, error) {
	var job *apicron.Job
	err := db.write(ctx, func(tx *tx) error {
		found, err := readDue(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		d := found[id]
		if d == nil {
			return apicron.Errorf(apicron.ENOTFOUND, "schedule %d not found", id)
		}
		if d.s.Status == apicron.Stopped {
			return apicron.Errorf(apicron.ECONFLICT, "schedule %d is STOPPED (%s) and does not run; POST /targets/%d/test sends its target's request once",
				id, d.s.StoppedReason, d.s.TargetID)
		}
		var (
			replacedIDs []int64
			toReplace   []replaced
		)
		if !force {
			policy, most := d.s.Overlap()
			var n int
			if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM runs WHERE schedule_id = ? AND status = 'RUNNING'", id).Scan(&n); err != nil {
				return err
			}
			switch {
			case n < most:
			case policy == apicron.OverlapReplace:
				if toReplace, err = lockRunning(ctx, tx, id); err != nil {
					return err
				}
				for _, r := range toReplace {
					replacedIDs = append(replacedIDs, r.run)
				}
				if err := interruptReplaced(ctx, tx, tx.now, toReplace); err != nil {
					return err
				}
			case policy == apicron.OverlapAllow:
				return apicron.Errorf(apicron.ECONFLICT,
					"schedule %d has %d runs in flight, its max_parallel; force=true runs it anyway", id, n)
			default:
				return apicron.Errorf(apicron.ECONFLICT,
					"a run of schedule %d is in flight and its overlap_policy is %s; force=true runs it anyway", id, policy)
			}
		}
		j, err := db.jobOf(d)
		if err != nil {
			return err
		}
		j.Trigger = apicron.TriggerManual
		if d.s.NextRunAt != nil && d.s.NextRunAt.After(tx.now) {
			j.RetryDeadline = *d.s.NextRunAt
		}
		out := []apicron.ClaimResult{{ScheduleID: id}}
		for i := range manualTries {
			j.ScheduledAt = tx.now.Add(time.Duration(i) * time.Millisecond)
			out[0].Job = j
			if err := db.insertRuns(ctx, tx, tx.now, out, []int{0}, 0, 0); err != nil {
				return err
			}
			if out[0].Job != nil {
				break
			}
		}
		if out[0].Job == nil {
			return apicron.Errorf(apicron.ECONFLICT, "schedule %d has runs at each of the next %d ms; try again", id, manualTries)
		}
		job = out[0].Job
		job.Replaced = replacedIDs
		detail := map[string]any{"run_id": job.RunID, "forced": force}
		if len(replacedIDs) > 0 {
			detail["replaced_runs"] = replacedIDs
		}
		if err := addEvent(ctx, tx, id, apicron.EventTriggered, detail); err != nil {
			return err
		}
		if db.queued() {
			return tx.notify(ctx, ChannelRuns, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

// TargetJob implements apicron.Runner: the job of one request to target
// id, sent once (no retries), as a schedule's run of it would be.
func (db *DB) TargetJob(ctx context.Context, id int64) (*apicron.Job, error) {
	d := &due{s: &apicron.Schedule{TargetID: id}}
	err := db.read(ctx, func(tx *tx) error {
		err := tx.queryRow(ctx, `SELECT url, method, headers, body_template, timeout_seconds, max_retries, secret_headers,
			allow_insecure_redirects, assertions, signing_secrets, retry_on, retry_backoff_ms, retry_max_backoff_ms, oauth2, client_cert, rate_per_second, rate_burst
			FROM targets WHERE id = ?`, id).Scan(&d.job.URL, &d.job.Method, &d.headers, &d.job.BodyTemplate, &d.timeout, &d.retries,
			&d.secret, &d.job.AllowInsecureRedirects, &d.assertions, &d.signing, &d.retryOn, &d.backoff, &d.backoffCap, &d.oauth2, &d.cert, &d.perSecond, &d.burst)
		if errors.Is(err, sql.ErrNoRows) {
			return apicron.Errorf(apicron.ENOTFOUND, "target %d not found", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	j, err := db.jobOf(d)
	if err != nil {
		return nil, fmt.Errorf("target %d: %w", id, err)
	}
	j.MaxRetries = 0
	j.ScheduledAt = db.now()
	j.Trigger = apicron.TriggerManual
	return j, nil
}
