package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/apicron/apicron"
)

// Claim implements apicron.Engine. It reads the due schedules (locked on
// PostgreSQL), lets the domain plan decide for each, and writes the
// decisions: the run rows and the advanced next_run_at go in the same
// transaction, so a crash neither loses a schedule's place nor fires an
// occurrence twice, and the runs' unique key on (schedule_id, scheduled_at)
// (on SQLite runs_occurrence, which orders it by time) refuses a duplicate
// whatever happens above it. A batch costs a handful of statements,
// not a handful per schedule.
func (db *DB) Claim(ctx context.Context, now, until time.Time, ids []int64, inflight func(id int64) int) ([]apicron.ClaimResult, error) {
	now, until = apicron.TruncMillis(now), apicron.TruncMillis(until)
	// Rows are locked in one order everywhere (schedules by id; run_stats
	// scope 0 first, then by schedule id), so transactions on several nodes
	// wait for each other instead of deadlocking.
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	// The lease this claim is made under, fenced by checkLease and recorded
	// on the runs it inserts.
	mine := db.leaseEpoch.Load()
	var (
		out []apicron.ClaimResult
		// token marks the runs this node takes in the claim (claimsOwnRuns).
		// A claim that fails may still have committed (its answer lost with
		// the connection), its runs this node's with no one to send them:
		// they are given back to the queue, as a failed take's are.
		token int64
	)
	err := db.engineWrite(ctx, func(tx *tx) error {
		out = make([]apicron.ClaimResult, 0, len(ids))
		stats := map[int64]*claimStats{}
		var toReplace []replaced
		token = 0
		if own, err := db.claimsOwnRuns(ctx, tx); err != nil {
			return fmt.Errorf("claim: %w", err)
		} else if own {
			token = rand.Int64N(math.MaxInt64) + 1
		}
		err := forPieces(len(ids), func(lo, hi int) error {
			res, err := db.claimChunk(ctx, tx, now, until, ids[lo:hi], inflight, max(mine, 0), token, stats, &toReplace)
			out = append(out, res...)
			return err
		})
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if err := interruptReplaced(ctx, tx, now, toReplace); err != nil {
			return fmt.Errorf("claim: replace runs in flight: %w", err)
		}
		if err := applyClaimStats(ctx, tx, stats); err != nil {
			return err
		}
		if err := db.checkLease(ctx, tx, mine); err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if db.queued() && token == 0 && slices.ContainsFunc(out, func(r apicron.ClaimResult) bool { return r.Job != nil }) {
			return tx.notify(ctx, ChannelRuns, "")
		}
		return nil
	})
	if err != nil {
		if token != 0 {
			db.lostTakes.add(token, time.Now())
		}
		return nil, err
	}
	return out, nil
}

// due is a schedule read for a claim, with the target fields its job needs.
type due struct {
	s       *apicron.Schedule
	job     apicron.Job
	headers string
	secret  string // secret header names, JSON
	timeout sql.NullFloat64
	retries sql.NullInt64
	// assertions is the target's, as stored; signing its signing secrets.
	assertions string
	signing    string
	// retryOn, backoff and backoffCap are the target's retry policy, as stored.
	retryOn             sql.NullString
	backoff, backoffCap sql.NullInt64
	// oauth2 and cert are the target's OAuth2 and client certificate, as stored.
	oauth2, cert string
	// perSecond and burst are the target's rate limit, as stored.
	perSecond sql.NullFloat64
	burst     sql.NullInt64
}

// claimReadSQL reads due schedules with their targets, locked on PostgreSQL.
var claimReadSQL = newLockedBatchSQL(func(n int) string {
	return `SELECT s.id, s.name, s.target_id, s.schedule_type, s.interval_seconds, s.duration_seconds,
		s.status, s.stopped_reason, s.anchor_at, s.next_run_at, s.ends_at, s.remaining_ms, s.version, s.created_at, s.updated_at,
		s.cron_expression, s.timezone, s.run_at, s.start_at, s.end_at, s.max_runs, s.run_count, s.jitter_seconds,
		s.misfire_grace_seconds, s.pause_reason, s.paused_until, s.overlap_policy, s.max_parallel, s.misfire_policy, s.catch_up_max,
		s.assertions, s.alert, s.auto_pause_after, s.retry_interrupted, t.url, t.method, t.headers, t.body_template, t.timeout_seconds, t.max_retries, t.secret_headers, t.allow_insecure_redirects,
		t.assertions, t.signing_secrets, t.retry_on, t.retry_backoff_ms, t.retry_max_backoff_ms, t.oauth2, t.client_cert, t.rate_per_second, t.rate_burst FROM schedules s JOIN targets t ON t.id = s.target_id WHERE s.id IN (` + placeholders(n) + `) ORDER BY s.id`
}, " FOR UPDATE OF s")

// runningSQL counts the runs in flight of each of n schedules, one
// schedule at a time, so that each count is a lookup of runs_running by
// schedule_id. Asked for all n at once, PostgreSQL read every RUNNING entry
// of runs_status instead (its statistics count a few RUNNING runs; the
// index holds an entry, mostly dead, for every run since the last vacuum):
// 1,000 to 9,000 pages, 4.7 ms a claim on average at 5,000 runs/s.
// (SQLite reads it only where a test or a tool claims without inflight:
// its engine counts the runs in flight itself.)
var runningSQL = newBatchSQL(func(n int) string {
	return "SELECT v.column1, (SELECT COUNT(*) FROM runs WHERE status = 'RUNNING' AND schedule_id = v.column1) FROM (VALUES " +
		repeatRows("(CAST(? AS BIGINT))", n) + ") AS v"
})

// readDue reads schedules ids with their targets, locked on PostgreSQL.
func readDue(ctx context.Context, tx *tx, ids []int64) (map[int64]*due, error) {
	rows, err := tx.queryBatch(ctx, claimReadSQL.sql(tx.d, len(ids)), int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[int64]*due, len(ids))
	for rows.Next() {
		d := &due{}
		s, err := scanSchedule(rows, &d.job.URL, &d.job.Method, &d.headers, &d.job.BodyTemplate, &d.timeout, &d.retries, &d.secret,
			&d.job.AllowInsecureRedirects, &d.assertions, &d.signing, &d.retryOn, &d.backoff, &d.backoffCap, &d.oauth2, &d.cert, &d.perSecond, &d.burst)
		if err != nil {
			return nil, err
		}
		d.s = s
		found[s.ID] = d
	}
	return found, rows.Err()
}

// claimChunk claims a piece of a batch (a power of two long). With
// inflight set, it says how many runs of each schedule are in flight;
// otherwise the runs table does.
func (db *DB) claimChunk(ctx context.Context, tx *tx, now, until time.Time, ids []int64, inflight func(int64) int, epoch, token int64,
	stats map[int64]*claimStats, toReplace *[]replaced) ([]apicron.ClaimResult, error) {
	found, err := readDue(ctx, tx, ids)
	if err != nil {
		return nil, err
	}

	// The runs in flight per schedule, for the overlap policies. Sharing
	// the database, the RUNNING rows count every node's.
	running := map[int64]int{}
	if inflight != nil {
		for _, id := range ids {
			if n := inflight(id); n > 0 {
				running[id] = n
			}
		}
	} else if running, err = runningSchedules(ctx, tx, ids); err != nil {
		return nil, err
	}

	out := make([]apicron.ClaimResult, len(ids))
	var (
		advance []any // id, next, fired triples
		fire    []int // indexes into out of the runs to insert
		misses  []pendingMiss
		advPos  = map[int]int{}
	)
	addStats := func(id, skipped, missed int64) {
		if skipped == 0 && missed == 0 {
			return
		}
		if stats[id] == nil {
			stats[id] = &claimStats{}
		}
		stats[id].skipped += skipped
		stats[id].missed += missed
	}
	for i, id := range ids {
		out[i].ScheduleID = id
		d := found[id]
		if d == nil {
			continue // deleted meanwhile
		}
		if d.s.Status == apicron.Paused && d.s.PausedUntil != nil {
			if d.s.PausedUntil.After(until) {
				out[i].Next = d.s.PausedUntil // not yet: look again then
				continue
			}
			// Its pause is over: it resumes as if resumed at paused_until.
			until := *d.s.PausedUntil
			d.s.Resume(until)
			if err := addEvent(ctx, tx, id, apicron.EventResumed, map[string]any{"automatic": true,
				"paused_until": timeDetail(&until), "next_run_at": timeDetail(d.s.NextRunAt)}); err != nil {
				return nil, err
			}
			if d.s.Status == apicron.Stopped { // nothing was left to run (ONCE past run_at, end_at, max_runs)
				if err := addEvent(ctx, tx, id, apicron.EventStopped, map[string]any{"reason": d.s.StoppedReason,
					"run_count": d.s.RunCount}); err != nil {
					return nil, err
				}
			}
			if err := saveSchedule(ctx, tx, d.s); err != nil {
				return nil, err
			}
		}
		plan := d.s.Plan(now, until)
		reason := plan.StopReason
		if reason == "" {
			reason = apicron.StoppedWindowElapsed
		}
		var due time.Time
		if d.s.NextRunAt != nil {
			due = *d.s.NextRunAt
		}
		miss := func(from, until time.Time, count int64, why string) {
			if count == 0 {
				return
			}
			m := apicron.Miss{ScheduleID: id, From: from, Until: until, Count: count, Reason: why, Lateness: now.Sub(d.s.FireAt(due)), At: now}
			if why == apicron.MissCoalesced || why == apicron.MissMisfire {
				m.Cause = apicron.CauseOverloaded
				if d.s.FireAt(due).Before(db.openedAt) {
					m.Cause = apicron.CauseDown
				}
			}
			misses = append(misses, pendingMiss{i: i, m: m})
		}
		policy, most := d.s.Overlap()
		overlaps := plan.Fire && running[id] >= most
		// A catch_up schedule owes an occurrence whose time had passed when
		// it was claimed (the newest of a catch-up included, which runs with
		// trigger schedule and may be claimed only a fraction of a second
		// late, once the run before it ends): it waits for the run in flight
		// rather than be skipped as an overlap. One claimed ahead of its
		// time, as claims are (ClaimLead), meets the overlap policy as any
		// schedule's does.
		owed := plan.Trigger == apicron.TriggerCatchUp ||
			(d.s.MisfirePolicy == apicron.MisfireCatchUp && d.s.FireAt(plan.ScheduledAt).Before(now))
		if overlaps && (policy == apicron.OverlapBufferOne || owed) {
			// It waits for the run in flight: nothing advances, and the
			// schedule is looked at again (at once, locally, when the run ends).
			wait := now.Add(bufferPoll)
			out[i].Next, out[i].Waiting = &wait, true
			continue
		}
		if overlaps && policy == apicron.OverlapReplace {
			ran, err := lockRunning(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			for _, r := range ran {
				out[i].Interrupted = append(out[i].Interrupted, r.run)
			}
			*toReplace, overlaps = append(*toReplace, ran...), false
		}
		if overlaps {
			switch reason {
			case apicron.StoppedMaxRuns:
				// Skipped, this occurrence is no run: the schedule carries on.
				plan.Stop = plan.Next == nil
			case apicron.StoppedRanOnce:
				reason = apicron.StoppedOnceSkipped
			}
		}
		switch {
		case plan.Stop && !plan.Fire:
			if d.s.EndsAt != nil {
				miss(due, *d.s.EndsAt, plan.Missed, apicron.MissWindowEnded)
			} else {
				miss(due, now.Add(time.Millisecond), plan.Missed, apicron.MissMisfire)
			}
			d.s.Stop(reason)
			if err := stopSchedule(ctx, tx, d.s, plan.Missed); err != nil {
				return nil, err
			}
			addStats(id, 0, plan.Missed)
			continue
		case plan.Skip: // every due occurrence misfired: none runs
			miss(due, *plan.Next, plan.Missed, apicron.MissMisfire)
			out[i].Next = fireAt(d.s, plan.Next)
			advance = append(advance, id, ms(*plan.Next), 0)
			addStats(id, 0, plan.Missed)
			continue
		case !plan.Fire:
			out[i].Next = fireAt(d.s, plan.Next)
			continue
		}
		fired := int64(1)
		if overlaps {
			fired = 0
		}
		if plan.Stop { // its last occurrence: it fires, and the schedule stops
			d.s.RunCount += fired
			d.s.Stop(reason)
			if err := stopSchedule(ctx, tx, d.s, plan.Missed); err != nil {
				return nil, err
			}
		} else {
			out[i].Next = fireAt(d.s, plan.Next)
			if fired == 1 {
				advPos[i] = len(advance) // its fired flag, undone if the insert is refused
			}
			advance = append(advance, id, ms(*plan.Next), fired)
		}
		if overlaps {
			miss(due, plan.ScheduledAt.Add(time.Millisecond), plan.Missed+1, apicron.MissOverlap)
			addStats(id, 1, plan.Missed)
			continue
		}
		if d.s.MisfirePolicy == apicron.MisfireCatchUp {
			miss(due, plan.ScheduledAt, plan.Missed, apicron.MissMisfire) // too old, or beyond catch_up_max
		} else {
			miss(due, plan.ScheduledAt, plan.Missed, apicron.MissCoalesced)
		}
		addStats(id, 0, plan.Missed)
		j, err := db.jobOf(d)
		if err != nil {
			return nil, err
		}
		j.ScheduledAt, j.Missed = plan.ScheduledAt, plan.Missed
		j.Jitter, j.Trigger = apicron.Jitter(id, plan.ScheduledAt, d.s.JitterSeconds), apicron.TriggerSchedule
		if plan.Trigger != "" {
			j.Trigger = plan.Trigger
		}
		if plan.Next != nil {
			j.RetryDeadline = *plan.Next
		}
		out[i].Job = j
		fire = append(fire, i)
	}
	if len(fire) > 0 {
		if err := db.insertRuns(ctx, tx, now, out, fire, epoch, token); err != nil {
			return nil, err
		}
		for _, i := range fire {
			if p, ok := advPos[i]; ok && out[i].Job == nil {
				advance[p+2] = int64(0) // the occurrence has a run already (a manual one, a backfill): not this schedule's run
			}
		}
	}
	if len(advance) > 0 {
		if err := advanceSchedules(ctx, tx, advance); err != nil {
			return nil, err
		}
	}
	if len(misses) > 0 {
		for k := range misses {
			if j := out[misses[k].i].Job; j != nil && misses[k].m.Reason == apicron.MissCoalesced {
				misses[k].m.RunID = j.RunID
			}
		}
		if err := insertMisses(ctx, tx, misses); err != nil {
			return nil, err
		}
		for _, pm := range misses {
			out[pm.i].Misses = append(out[pm.i].Misses, pm.m)
		}
	}
	return out, nil
}

// pendingMiss is a miss the claim decided, for out[i]'s schedule.
type pendingMiss struct {
	i int
	m apicron.Miss
}

var insertMissesSQL = newBatchSQL(func(n int) string {
	return "INSERT INTO misses (schedule_id, from_at, until_at, count, reason, run_id, lateness_ms, at, cause) VALUES " +
		repeatRows("(?, ?, ?, ?, ?, ?, ?, ?, ?)", n)
})

// insertMisses records misses, a few statements for the batch.
func insertMisses(ctx context.Context, tx *tx, misses []pendingMiss) error {
	return forPieces(len(misses), func(lo, hi int) error {
		args := make([]any, 0, 9*(hi-lo))
		for _, p := range misses[lo:hi] {
			m := p.m
			var run sql.NullInt64
			if m.RunID != 0 {
				run = sql.NullInt64{Int64: m.RunID, Valid: true}
			}
			args = append(args, m.ScheduleID, ms(m.From), ms(m.Until), m.Count, m.Reason, run, m.Lateness.Milliseconds(), ms(m.At), m.Cause)
		}
		if _, err := tx.execBatch(ctx, insertMissesSQL.sql(hi-lo), args...); err != nil {
			return fmt.Errorf("insert misses: %w", err)
		}
		return nil
	})
}

// msDuration is a nullable millisecond count as a duration (zero: NULL).
func msDuration(v sql.NullInt64) time.Duration {
	if !v.Valid {
		return 0
	}
	return time.Duration(v.Int64) * time.Millisecond
}

// stopSchedule saves a schedule the claim stopped, with its event.
func stopSchedule(ctx context.Context, tx *tx, s *apicron.Schedule, missed int64) error {
	detail := map[string]any{"reason": s.StoppedReason, "run_count": s.RunCount}
	if missed > 0 {
		detail["missed"] = missed
	}
	if err := addEvent(ctx, tx, s.ID, apicron.EventStopped, detail); err != nil {
		return err
	}
	if err := saveSchedule(ctx, tx, s); err != nil {
		return err
	}
	return alertWindowEnded(ctx, tx, s) // after the save: its message reads the schedule STOPPED
}

// jobOf fills d's job with what its schedule and target say (the
// occurrence's fields are the caller's).
func (db *DB) jobOf(d *due) (*apicron.Job, error) {
	j := &d.job
	var err error
	if j.Headers, j.SecretHeaders, j.DecryptError, err = db.secrets.decodeJobHeaders(d.headers, d.secret); err != nil {
		return nil, fmt.Errorf("decode headers of target %d: %w", d.s.TargetID, err)
	}
	j.ScheduleID, j.ScheduleName, j.TargetID = d.s.ID, d.s.Name, d.s.TargetID
	j.Replaceable = d.s.OverlapPolicy == apicron.OverlapReplace
	j.RetryInterrupted = d.s.RetryInterrupted
	if j.RetryOn, err = decodeRetryOn(d.retryOn); err != nil {
		return nil, fmt.Errorf("decode retry_on of target %d: %w", d.s.TargetID, err)
	}
	j.BackoffBase, j.BackoffCap = msDuration(d.backoff), msDuration(d.backoffCap)
	j.RateLimit = rateLimitOf(d.perSecond, d.burst) // nil, no allocation, for the many targets without one
	j.SigningSecrets = nil
	if d.signing != "" {
		if err := json.Unmarshal([]byte(d.signing), &j.SigningSecrets); err != nil {
			return nil, fmt.Errorf("decode signing secrets of target %d: %w", d.s.TargetID, err)
		}
		if !db.secrets.openSigning(j.SigningSecrets) {
			j.SigningSecrets = nil
			msg := "the target's signing secret cannot be decrypted: SECRET_KEY missing or wrong"
			if j.DecryptError != "" {
				msg = j.DecryptError + "; " + msg
			}
			j.DecryptError = msg
		}
	}
	if err := db.secrets.decodeJobAuth(j, d.oauth2, d.cert, "SECRET_KEY missing or wrong"); err != nil {
		return nil, fmt.Errorf("target %d: %w", d.s.TargetID, err)
	}
	if d.s.Assertions != nil {
		j.Assertions = *d.s.Assertions
	} else if j.Assertions, err = decodeAssertions(d.assertions); err != nil {
		return nil, fmt.Errorf("decode assertions of target %d: %w", d.s.TargetID, err)
	}
	if d.timeout.Valid {
		j.Timeout = time.Duration(d.timeout.Float64 * float64(time.Second))
	}
	j.MaxRetries = -1
	if d.retries.Valid {
		j.MaxRetries = int(d.retries.Int64)
	}
	return j, nil
}

// runningSchedules returns how many RUNNING runs each of ids has.
func runningSchedules(ctx context.Context, tx *tx, ids []int64) (map[int64]int, error) {
	running := map[int64]int{}
	// Read through an index scan, not a bitmap scan: the RUNNING entries of
	// runs_running and runs_status are mostly dead ones, left by runs that
	// finished, until a vacuum of runs. A bitmap scan read them all again
	// every time (214,000 of them for 1,500 runs in flight after a minute at
	// 3,000 runs/s, 40-50 ms a claim); an index scan marks those it finds
	// dead, and the next scans step over them.
	err := tx.without(ctx, "enable_bitmapscan", func() error {
		rows, err := tx.queryBatch(ctx, runningSQL.sql(len(ids)), int64Args(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			if n > 0 {
				running[id] = n
			}
		}
		return rows.Err()
	})
	return running, err
}

// bufferPoll is how soon a schedule whose occurrence waits for a run in
// flight (buffer_one, catch_up) is looked at again, at the latest: an
// engine that runs its own runs looks again as soon as the run ends.
const bufferPoll = time.Second

// ReplacedReason is the error message of a run interrupted by the next
// occurrence of its schedule (overlap_policy replace).
const ReplacedReason = "replaced by the schedule's next occurrence (overlap_policy replace)"

// lockRunning locks schedule id's RUNNING runs and returns them, for a
// replace: the claim interrupts them all at its end (interruptReplaced),
// after every run row it locks, so that it takes the counters' rows last, as
// Finish does, and the two never wait for each other in a cycle.
func lockRunning(ctx context.Context, tx *tx, id int64) ([]replaced, error) {
	rows, err := tx.query(ctx, "SELECT id FROM runs WHERE schedule_id = ? AND status = 'RUNNING' ORDER BY id"+tx.d.forUpdate, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []replaced
	for rows.Next() {
		var run int64
		if err := rows.Scan(&run); err != nil {
			return nil, err
		}
		out = append(out, replaced{run: run, schedule: id})
	}
	return out, rows.Err()
}

// replaced is a run in flight that the next occurrence of its schedule replaces.
type replaced struct{ run, schedule int64 }

// interruptReplaced marks the runs INTERRUPTED with ReplacedReason, counted
// as finished runs are, and tells every node to stop their requests
// (ChannelCancel).
func interruptReplaced(ctx context.Context, tx *tx, now time.Time, runs []replaced) error {
	if len(runs) == 0 {
		return nil
	}
	results := make([]apicron.RunResult, 0, len(runs))
	ids := make([]int64, 0, len(runs))
	for _, r := range runs {
		results = append(results, apicron.RunResult{RunID: r.run, ScheduleID: r.schedule, FinishedAt: now,
			Outcome: apicron.Outcome{Status: apicron.Interrupted, ErrorType: apicron.ErrInterrupted, ErrorMessage: ReplacedReason}})
		ids = append(ids, r.run)
	}
	if err := finishTx(ctx, tx, results, ""); err != nil {
		return err
	}
	return tx.notify(ctx, ChannelCancel, joinIDs(ids))
}

func joinIDs(ids []int64) string {
	b := make([]byte, 0, len(ids)*8)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

var advanceSQL = newDialectBatchSQL(func(d dialect, n int) string {
	return "UPDATE schedules SET next_run_at = v.column2, run_count = run_count + v.column3 FROM (VALUES " +
		repeatRows("(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))", n) + ") AS v WHERE schedules.id = v.column1" +
		listedKeys(d, "schedules.id", n)
})

// advanceSchedules sets next_run_at and adds to run_count for (id, next,
// fired) triples, a few statements joined to VALUES lists, so its cost
// grows linearly with the batch.
func advanceSchedules(ctx context.Context, tx *tx, triples []any) error {
	return forPieces(len(triples)/3, func(lo, hi int) error {
		args := triples[3*lo : 3*hi]
		if tx.d.listKeys {
			ids := make([]int64, 0, hi-lo)
			for i := 0; i < len(args); i += 3 {
				ids = append(ids, args[i].(int64))
			}
			args = keyedArgs(tx.d, slices.Clip(args), ids) // a copy: triples' later pieces stay as they are
		}
		if _, err := tx.execBatch(ctx, advanceSQL.sql(tx.d, hi-lo), args...); err != nil {
			return fmt.Errorf("advance next_run_at: %w", err)
		}
		return nil
	})
}

// insertRuns inserts the RUNNING rows of the jobs at out[fire...] in one
// statement and sets their RunIDs. An occurrence that already has a run
// (which the UNIQUE key refuses) gets no job. On a shared database the run
// waits, with its job, for any node to take it; otherwise this process runs it.
// epoch is the lease the claim holds (runs.lease_epoch); 0 outside a claim
// on a shared database.
// With token set (claimsOwnRuns) the runs are this node's at once, marked with
// that take token; otherwise, on a shared database, no node's.
func (db *DB) insertRuns(ctx context.Context, tx *tx, now time.Time, out []apicron.ClaimResult, fire []int, epoch, token int64) error {
	return forPieces(len(fire), func(lo, hi int) error { return db.insertRunsPiece(ctx, tx, now, out, fire[lo:hi], epoch, token) })
}

// insertRunsSQL inserts RUNNING runs, each unless its schedule has a run
// at that time: the conflict is named (the dialect's runKey), so any other
// (a clash of ids) is an error, not an occurrence dropped in silence. By
// runKey.
var insertRunsSQL = map[string]*batchSQL{postgresRunKey: newInsertRunsSQL(postgresRunKey), sqliteRunKey: newInsertRunsSQL(sqliteRunKey)}

func newInsertRunsSQL(key string) *batchSQL {
	return newBatchSQL(func(n int) string {
		return `INSERT INTO runs (schedule_id, target_id, status, scheduled_at, started_at, missed, request_method, node_id, job,
		run_trigger, jitter_ms, lease_epoch, take_token) VALUES ` +
			repeatRows("(?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n) + " ON CONFLICT " + key + " DO NOTHING RETURNING id, schedule_id"
	})
}

// The columns of the runs' unique key: PostgreSQL's UNIQUE (schedule_id,
// scheduled_at), SQLite's runs_occurrence (migration 0030).
const (
	postgresRunKey = "(schedule_id, scheduled_at)"
	sqliteRunKey   = "(scheduled_at / 100, schedule_id, scheduled_at)"
)

func (db *DB) insertRunsPiece(ctx context.Context, tx *tx, now time.Time, out []apicron.ClaimResult, fire []int, epoch, token int64) error {
	owner := db.nodeID
	if db.queued() && token == 0 {
		owner = ""
	}
	args := make([]any, 0, len(fire)*12)
	for _, i := range fire {
		j := out[i].Job
		var queuedJob sql.NullString
		if db.queued() || j.RetryInterrupted { // kept to be taken, or run again should its node stop
			jj, err := db.toJobJSON(j)
			if err != nil {
				return err
			}
			raw, err := json.Marshal(jj)
			if err != nil {
				return err
			}
			queuedJob = sql.NullString{String: string(raw), Valid: true}
		}
		args = append(args, j.ScheduleID, j.TargetID, ms(j.ScheduledAt), ms(maxTime(now, j.FireAt())), j.Missed, j.Method, owner, queuedJob,
			string(j.Trigger), j.Jitter.Milliseconds(), epoch, token)
	}
	rows, err := tx.queryBatch(ctx, insertRunsSQL[db.d.runKey].sql(len(fire)), args...)
	if err != nil {
		return fmt.Errorf("insert runs: %w", err)
	}
	defer rows.Close()
	runIDs := make(map[int64]int64, len(fire))
	for rows.Next() {
		var id, scheduleID int64
		if err := rows.Scan(&id, &scheduleID); err != nil {
			return err
		}
		runIDs[scheduleID] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, i := range fire {
		if id, ok := runIDs[out[i].ScheduleID]; ok {
			out[i].Job.RunID, out[i].Job.TakeToken = id, token
		} else {
			out[i].Job = nil // the occurrence has a run already
		}
	}
	return nil
}

// dueColumns and dueWhere select what scanNextRuns reads: an ACTIVE
// schedule's next occurrence and jitter, a PAUSED one's paused_until.
const (
	dueColumns = "SELECT id, COALESCE(next_run_at, paused_until), CASE WHEN status = 'ACTIVE' THEN jitter_seconds ELSE 0 END FROM schedules WHERE "
	dueWhere   = "((status = 'ACTIVE' AND next_run_at IS NOT NULL) OR (status = 'PAUSED' AND paused_until IS NOT NULL))"
)

// fireAt is when s's occurrence at next is sent (its jitter added); nil for nil.
func fireAt(s *apicron.Schedule, next *time.Time) *time.Time {
	if next == nil || s.JitterSeconds == 0 {
		return next
	}
	t := s.FireAt(*next)
	return &t
}

// ActiveSchedules implements apicron.Engine.
func (db *DB) ActiveSchedules(ctx context.Context, fn func(id int64, next time.Time)) error {
	rows, err := db.r.QueryContext(ctx, dueColumns+"status = 'ACTIVE' AND next_run_at IS NOT NULL UNION ALL "+
		dueColumns+"status = 'PAUSED' AND paused_until IS NOT NULL")
	if err != nil {
		return db.mapErr(err)
	}
	return scanNextRuns(rows, fn)
}

// scanNextRuns calls fn with each row of (id, due time, jitter seconds),
// the time made the fire time (apicron.Jitter), and closes rows.
func scanNextRuns(rows *sql.Rows, fn func(id int64, next time.Time)) error {
	defer rows.Close()
	for rows.Next() {
		var (
			id, next int64
			jitter   int
		)
		if err := rows.Scan(&id, &next, &jitter); err != nil {
			return err
		}
		at := fromMs(next)
		fn(id, at.Add(apicron.Jitter(id, at, jitter)))
	}
	return rows.Err()
}

// NextRunAts implements apicron.Engine: one query per piece of ids, so a
// burst of changes (schedules created by the hundred) costs a few queries.
func (db *DB) NextRunAts(ctx context.Context, ids []int64) (map[int64]time.Time, error) {
	out := make(map[int64]time.Time, len(ids))
	err := forPieces(len(ids), func(lo, hi int) error {
		rows, err := db.r.QueryContext(ctx, db.d.rebind(nextRunAtsSQL.sql(hi-lo)), int64Args(ids[lo:hi])...)
		if err != nil {
			return db.mapErr(err)
		}
		return scanNextRuns(rows, func(id int64, next time.Time) { out[id] = next })
	})
	return out, err
}

var nextRunAtsSQL = newBatchSQL(func(n int) string {
	return dueColumns + dueWhere + " AND id IN (" + placeholders(n) + ")"
})

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
