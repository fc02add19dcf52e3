package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// mustRerun checks a run's reruns and its last rerun's reason.
func mustRerun(t *testing.T, db *store.DB, id int64, reruns int, reason string) {
	t.Helper()
	r, err := db.FindRunByID(context.Background(), id)
	if err != nil || r.Reruns != reruns || r.RerunReason != reason {
		t.Fatalf("run %d: reruns %d %q (err %v), want %d %q", id, r.Reruns, r.RerunReason, err, reruns, reason)
	}
}

// At start, a run left RUNNING is INTERRUPTED unless its schedule says
// retry_interrupted: that one stays RUNNING, counts a rerun and comes back
// as a job to run again (on SQLite, whose one process runs it), with the
// job it was claimed with; at most MaxInterruptedReruns times, then it is
// INTERRUPTED too. At shutdown such a run is left RUNNING for the next
// start, counting nothing. Turning retry_interrupted off stops the reruns;
// turning it on leaves a run claimed without it at-most-once; and none runs
// again once its schedule's next occurrence is due.
func TestStore_ResumeRunningRetriesInterrupted(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, "sqlite", clock)
	tg := mustCreateTarget(t, db)
	plain := mustCreateSchedule(t, db, &apicron.Schedule{Name: "plain", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
	again := mustCreateSchedule(t, db, &apicron.Schedule{Name: "again", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60,
		RetryInterrupted: true})
	if got, err := db.FindScheduleByID(ctx, again.ID); err != nil || !got.RetryInterrupted {
		t.Fatalf("schedule read back: %+v %v", got, err)
	}
	plainRun := mustClaim(t, db, t0, plain.ID).Job.RunID
	claimed := mustClaim(t, db, t0, again.ID).Job

	// Shutdown: the plain run is INTERRUPTED, the other left as it is.
	if n, err := db.InterruptRunning(ctx, t0.Add(time.Second), "shut down"); err != nil || n != 1 {
		t.Fatalf("interrupt at shutdown: %d %v", n, err)
	}
	mustRunStatus(t, db, plainRun, apicron.Interrupted, "shut down")
	mustRunStatus(t, db, claimed.RunID, apicron.Running, "")
	mustRerun(t, db, claimed.RunID, 0, "")

	for i := 1; i <= apicron.MaxInterruptedReruns; i++ {
		reason := fmt.Sprint("stopped ", i)
		n, jobs, err := db.ResumeRunning(ctx, t0.Add(time.Duration(i)*time.Second), reason)
		if err != nil || n != 0 || len(jobs) != 1 {
			t.Fatalf("start %d: %d interrupted, %d jobs (err %v), want 0 and 1", i, n, len(jobs), err)
		}
		j := jobs[0]
		if j.RunID != claimed.RunID || j.Reruns != i || j.RerunReason != reason || !j.ScheduledAt.Equal(claimed.ScheduledAt) ||
			j.URL != claimed.URL || j.Method != claimed.Method || !j.RetryDeadline.Equal(claimed.RetryDeadline) {
			t.Fatalf("start %d: job %+v, claimed %+v", i, j, claimed)
		}
		mustRunStatus(t, db, claimed.RunID, apicron.Running, "")
		mustRerun(t, db, claimed.RunID, i, reason)
	}
	n, jobs, err := db.ResumeRunning(ctx, t0.Add(time.Minute), "stopped again")
	if err != nil || n != 1 || len(jobs) != 0 {
		t.Fatalf("past the bound: %d interrupted, %d jobs (err %v), want 1 and 0", n, len(jobs), err)
	}
	mustRunStatus(t, db, claimed.RunID, apicron.Interrupted, "stopped again")

	// Off again: a run left RUNNING is INTERRUPTED.
	off := false
	if _, err := db.UpdateSchedule(ctx, again.ID, apicron.ScheduleUpdate{RetryInterrupted: &off}); err != nil {
		t.Fatal(err)
	}
	next := mustClaim(t, db, t0.Add(time.Minute), again.ID).Job
	if n, jobs, err := db.ResumeRunning(ctx, t0.Add(2*time.Minute), "stopped"); err != nil || n != 1 || len(jobs) != 0 {
		t.Fatalf("turned off: %d interrupted, %d jobs (err %v), want 1 and 0", n, len(jobs), err)
	}
	mustRunStatus(t, db, next.RunID, apicron.Interrupted, "stopped")

	// Turned on while a run claimed without it is in flight: that run was
	// claimed at-most-once, and stays so.
	before := mustClaim(t, db, t0.Add(3*time.Minute), again.ID).Job
	on := true
	if _, err := db.UpdateSchedule(ctx, again.ID, apicron.ScheduleUpdate{RetryInterrupted: &on}); err != nil {
		t.Fatal(err)
	}
	if n, jobs, err := db.ResumeRunning(ctx, t0.Add(3*time.Minute+time.Second), "stopped"); err != nil || n != 1 || len(jobs) != 0 {
		t.Fatalf("turned on in flight: %d interrupted, %d jobs (err %v), want 1 and 0", n, len(jobs), err)
	}
	mustRunStatus(t, db, before.RunID, apicron.Interrupted, "stopped")
	mustRerun(t, db, before.RunID, 0, "")

	// Started again once the next occurrence is due: that occurrence does
	// the work, the run is INTERRUPTED saying so and counts no rerun.
	late := mustClaim(t, db, t0.Add(4*time.Minute), again.ID).Job
	if !late.RetryDeadline.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("retry deadline %v, want the next occurrence %v", late.RetryDeadline, t0.Add(5*time.Minute))
	}
	if n, jobs, err := db.ResumeRunning(ctx, late.RetryDeadline, "stopped"); err != nil || n != 1 || len(jobs) != 0 {
		t.Fatalf("past the next occurrence: %d interrupted, %d jobs (err %v), want 1 and 0", n, len(jobs), err)
	}
	mustRunStatus(t, db, late.RunID, apicron.Interrupted,
		"stopped; not run again: the next occurrence was due at "+late.RetryDeadline.UTC().Format(time.RFC3339Nano))
	mustRerun(t, db, late.RunID, 0, "")

	m, _ := db.SystemMetrics(ctx, t0)
	if m.RunsByStatus[apicron.Interrupted] != 5 || m.RunningRuns != 0 {
		t.Fatalf("metrics: %+v", m)
	}
}

// On a shared database the reaper gives a dead node's run of a
// retry_interrupted schedule back to the queue, not INTERRUPTED: another
// node takes it, with its job and its rerun counted, and the dead node,
// should it come back, cannot record over it, nor send or record it under
// its old take once it has taken the run again. A run claimed before its
// schedule said retry_interrupted is INTERRUPTED. A node shutting down gives
// such runs back too, and one starting again gives back those it left.
func TestCluster_ReaperRequeuesRetryInterrupted(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Now().Add(-time.Minute))
	nodes, dsn := openNodes(t, clock, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	const ttl = 10 * time.Second
	heartbeatAll(t, nodes, ttl)
	tg := mustCreateTarget(t, a)
	plain := mustCreateSchedule(t, a, &apicron.Schedule{Name: "plain", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 3600})
	again := mustCreateSchedule(t, a, &apicron.Schedule{Name: "again", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 3600,
		RetryInterrupted: true})
	if _, err := a.Claim(ctx, clock.Now(), clock.Now(), []int64{plain.ID, again.ID}, nil); err != nil {
		t.Fatal(err)
	}
	taken, err := b.TakeRuns(ctx, 10, 0)
	if err != nil || len(taken) != 2 {
		t.Fatalf("node-b took %d runs (err %v)", len(taken), err)
	}
	byID := map[int64]*apicron.Job{}
	for _, j := range taken {
		byID[j.ScheduleID] = j
	}
	// plain says retry_interrupted only from now on: its run in flight was
	// claimed without it, and stays at-most-once.
	on := true
	if _, err := a.UpdateSchedule(ctx, plain.ID, apicron.ScheduleUpdate{RetryInterrupted: &on}); err != nil {
		t.Fatal(err)
	}
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE node_id = 'node-b'")

	n, err := a.ReapDeadNodes(ctx, clock.Now(), ttl)
	if err != nil || n != 1 {
		t.Fatalf("reaped %d runs (err %v), want 1", n, err)
	}
	reason := "the node running it stopped (no heartbeat for 10s)"
	mustRunStatus(t, a, byID[plain.ID].RunID, apicron.Interrupted, reason)
	requeued := byID[again.ID].RunID
	mustRunStatus(t, a, requeued, apicron.Running, "")
	mustRerun(t, a, requeued, 1, reason)
	// Waiting in the queue past the TTL, it is not reaped as untaken.
	if n, err := a.ReapDeadNodes(ctx, clock.Now(), ttl); err != nil || n != 0 {
		t.Fatalf("second reap: %d runs (err %v), want 0", n, err)
	}
	jobs, err := a.TakeRuns(ctx, 10, 0)
	if err != nil || len(jobs) != 1 || jobs[0].RunID != requeued || jobs[0].Reruns != 1 || jobs[0].RerunReason != reason ||
		jobs[0].URL != byID[again.ID].URL {
		t.Fatalf("node-a took %+v (err %v)", jobs, err)
	}
	// node-b comes back and reports the run it had: fenced off.
	lat := 5.0
	at := clock.Now()
	if err := b.Finish(ctx, []apicron.RunResult{{RunID: requeued, ScheduleID: again.ID, StartedAt: at, FinishedAt: at,
		Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}); err != nil {
		t.Fatal(err)
	}
	mustRunStatus(t, a, requeued, apicron.Running, "")
	if mine, _, err := b.ConfirmRun(ctx, requeued, 0, 0); err != nil || mine {
		t.Fatalf("node-b confirms the run it lost: %v %v", mine, err)
	}

	// node-a shuts down with it in flight: back to the queue, for node-b.
	if n, err := a.InterruptRunning(ctx, clock.Now(), "shut down"); err != nil || n != 0 {
		t.Fatalf("shutdown interrupted %d (err %v), want 0", n, err)
	}
	mustRerun(t, a, requeued, 2, "shut down")
	if _, _, err := b.Heartbeat(ctx, ttl); err != nil {
		t.Fatal(err)
	}
	if jobs, err = b.TakeRuns(ctx, 10, 0); err != nil || len(jobs) != 1 || jobs[0].Reruns != 2 {
		t.Fatalf("node-b took %+v (err %v)", jobs, err)
	}
	// node-b took back the run it had lost to the reaper, under a new take:
	// the sending of its first take may neither send nor record it.
	lost := byID[again.ID].TakeToken
	if lost == 0 || jobs[0].TakeToken == 0 || jobs[0].TakeToken == lost {
		t.Fatalf("take tokens: first %d, now %d", lost, jobs[0].TakeToken)
	}
	if mine, _, err := b.ConfirmRun(ctx, requeued, lost, 0); err != nil || mine {
		t.Fatalf("node-b confirms the run for its first take: %v %v", mine, err)
	}
	if mine, _, err := b.ConfirmRun(ctx, requeued, jobs[0].TakeToken, 0); err != nil || !mine {
		t.Fatalf("node-b does not confirm the run for its new take: %v %v", mine, err)
	}
	if err := b.Finish(ctx, []apicron.RunResult{{RunID: requeued, ScheduleID: again.ID, StartedAt: at, FinishedAt: at,
		TakeToken: lost, Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}); err != nil {
		t.Fatal(err)
	}
	mustRunStatus(t, a, requeued, apicron.Running, "")
	// node-b restarts with it: given back again, no job returned (any node takes it).
	n, again2, err := b.ResumeRunning(ctx, clock.Now(), "restarted")
	if err != nil || n != 0 || len(again2) != 0 {
		t.Fatalf("restart: %d interrupted, %d jobs (err %v)", n, len(again2), err)
	}
	mustRerun(t, a, requeued, 3, "restarted")
	if jobs, err := b.TakeRuns(ctx, 10, 0); err != nil || len(jobs) != 1 {
		t.Fatalf("node-b took %+v (err %v)", jobs, err)
	}
	// Past the bound: INTERRUPTED.
	if n, _, err := b.ResumeRunning(ctx, clock.Now(), "restarted again"); err != nil || n != 1 {
		t.Fatalf("restart past the bound: %d (err %v), want 1", n, err)
	}
	mustRunStatus(t, a, requeued, apicron.Interrupted, "restarted again")
}
