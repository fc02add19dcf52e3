package scheduler_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestScheduler_ShutdownWritesResultsBeforeInterrupting: a result whose
// write is under way when the engine stops is written, and its run stays
// SUCCESS; only then are the runs still RUNNING marked INTERRUPTED. Marking
// first would fence the result off (Finish leaves a run that is no longer
// RUNNING as it is) and record a finished request as cut off.
func TestScheduler_ShutdownWritesResultsBeforeInterrupting(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		eng := newStallingEngine(db)
		sch := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60})
		s := scheduler.New(scheduler.Config{Store: eng, Executor: succeed(clock), Clock: clock})
		run := startRun(t, s)
		waitFor(t, eng.entered, "the result write")
		run.stop()
		runs, _, err := db.FindRuns(t.Context(), apicron.RunFilter{ScheduleID: &sch.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || runs[0].Status != apicron.Success {
			t.Fatalf("runs after shutdown: %v, want one SUCCESS", statuses(runs))
		}
	})
}

// TestScheduler_RunJoinsPruneLoop: Run returns only after the prune loop
// it started has returned, even when a prune call takes a while to end.
func TestScheduler_RunJoinsPruneLoop(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, "sqlite", clock)
	o := newOutliving()
	s := scheduler.New(scheduler.Config{Store: db, Executor: succeed(clock), Clock: clock,
		Pruner: &watchedPruner{DB: db, o: o}})
	run := startRun(t, s)
	waitFor(t, o.entered, "the first prune pass") // a second after Run starts
	run.stop()
	o.check(t, "a prune call")
}

// TestScheduler_RunJoinsListener: on a shared database, Run returns only
// after the notification listener it started has returned.
func TestScheduler_RunJoinsListener(t *testing.T) {
	t.Parallel()
	db, _ := storetest.OpenShared(t, "a", apicron.SystemClock{})
	o := newOutliving()
	s := scheduler.New(scheduler.Config{Store: &watchedListener{DB: db, o: o}, Executor: succeed(apicron.SystemClock{}),
		LeaseTTL: time.Second})
	run := startRun(t, s)
	waitFor(t, o.entered, "the listener")
	run.stop()
	o.check(t, "the listener")
}

// TestScheduler_LastWritesBounded: a database that stops answering at
// shutdown keeps Run no longer than FinalWriteTimeout, and the log says
// how many results were not written.
func TestScheduler_LastWritesBounded(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, "sqlite", clock)
	eng := &hangingEngine{DB: db}
	mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60})
	logs := &logBuffer{}
	s := scheduler.New(scheduler.Config{Store: eng, Executor: succeed(clock), Clock: clock, Logger: logs.logger(),
		FinalWriteTimeout: 100 * time.Millisecond})
	run := startRun(t, s)
	for deadline := time.Now().Add(10 * time.Second); eng.finishes.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no result write started")
		}
	}
	run.stop() // fails the test unless Run returns within 20 s
	logs.want(t, slog.LevelError, "write the last results", "results", int64(1))
}

// TestScheduler_ShutdownLogs: between its context ending and Run
// returning, the engine says it is stopping (with the runs in flight and
// the grace), then how long they took to finish or how many the grace cut
// off, and how many results it wrote meanwhile.
func TestScheduler_ShutdownLogs(t *testing.T) {
	t.Parallel()
	const stopping = "stopping: claiming no more runs, waiting for those in flight"
	const finished = "runs in flight finished"
	const graceElapsed = "shutdown grace elapsed; interrupting requests still in flight, their runs become INTERRUPTED"
	const written = "results written while stopping"
	const interrupted = "unfinished runs marked INTERRUPTED"
	// start runs an engine whose two runs are in flight, ends its context
	// and waits for the stopping line.
	start := func(t *testing.T, driver string, grace time.Duration) (*store.DB, *logBuffer, *gatedExecutor, *running) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		for range 2 {
			mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60})
		}
		logs := &logBuffer{}
		exec := newGatedExecutor(clock)
		s := scheduler.New(scheduler.Config{Store: db, Executor: exec, Clock: clock, Logger: logs.logger(), ShutdownGrace: grace})
		run := startRun(t, s)
		exec.awaitStarted(t, 2)
		run.cancel()
		logs.await(t, slog.LevelInfo, stopping)
		return db, logs, exec, run
	}
	none := func(t *testing.T, logs *logBuffer, level slog.Level, msgs ...string) {
		t.Helper()
		for _, msg := range msgs {
			if n := len(logs.lines(t, level, msg)); n != 0 {
				t.Errorf("%d %s lines %q, want none", n, level, msg)
			}
		}
	}
	storetest.ForEach(t, func(t *testing.T, driver string) {
		t.Run("drained", func(t *testing.T) {
			db, logs, exec, run := start(t, driver, time.Minute)
			close(exec.release)
			run.wait()
			logs.want(t, slog.LevelInfo, stopping, "in_flight", 2, "grace", time.Minute)
			if took := logs.want(t, slog.LevelInfo, finished, "runs", 2)["took"]; took == nil {
				t.Errorf("%q does not say how long it took", finished)
			}
			logs.want(t, slog.LevelInfo, written, "results", 2)
			none(t, logs, slog.LevelWarn, graceElapsed, interrupted)
			if got := statuses(allRuns(t, db)); !slices.Equal(got, []apicron.RunStatus{apicron.Success, apicron.Success}) {
				t.Errorf("runs %v, want 2 SUCCESS", got)
			}
		})
		t.Run("cut off", func(t *testing.T) {
			db, logs, _, run := start(t, driver, 50*time.Millisecond) // the requests never end by themselves
			run.wait()
			logs.want(t, slog.LevelInfo, stopping, "in_flight", 2, "grace", 50*time.Millisecond)
			logs.want(t, slog.LevelWarn, graceElapsed, "runs", 2, "grace", 50*time.Millisecond)
			none(t, logs, slog.LevelInfo, finished)
			logs.want(t, slog.LevelInfo, written, "results", 0)
			logs.want(t, slog.LevelWarn, interrupted, "runs", 2)
			if got := statuses(allRuns(t, db)); !slices.Equal(got, []apicron.RunStatus{apicron.Interrupted, apicron.Interrupted}) {
				t.Errorf("runs %v, want 2 INTERRUPTED", got)
			}
		})
	})
}

// stallingClaims is the real store whose claims wait, once entered, until
// the test releases them (or their context ends), as a claim waits on a
// slow database.
type stallingClaims struct {
	*store.DB
	entered chan struct{}
	release chan struct{}
}

func (e *stallingClaims) Claim(ctx context.Context, now, until time.Time, ids []int64, inflight func(int64) int) ([]apicron.ClaimResult, error) {
	select {
	case e.entered <- struct{}{}:
	default:
	}
	select {
	case <-e.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.DB.Claim(ctx, now, until, ids, inflight)
}

// TestScheduler_ShutdownFinishesClaimUnderWay: a claim under way when the
// engine stops is finished, not cancelled, and the run it claims is sent
// and recorded within the grace. Cancelled mid-transaction, a claim whose
// commit is already on its way may still be applied by the database after
// the engine gave up on it, leaving a RUNNING run nobody takes.
func TestScheduler_ShutdownFinishesClaimUnderWay(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		eng := &stallingClaims{DB: db, entered: make(chan struct{}, 1), release: make(chan struct{})}
		sch := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60})
		s := scheduler.New(scheduler.Config{Store: eng, Executor: succeed(clock), Clock: clock, ShutdownGrace: 5 * time.Second})
		run := startRun(t, s)
		waitFor(t, eng.entered, "the claim")
		stopped := make(chan struct{})
		go func() { defer close(stopped); run.stop() }()
		time.Sleep(50 * time.Millisecond) // the stop reaches the engine while the claim waits
		close(eng.release)
		<-stopped
		runs, _, err := db.FindRuns(t.Context(), apicron.RunFilter{ScheduleID: &sch.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || runs[0].Status != apicron.Success {
			t.Fatalf("runs after shutdown: %v, want the claimed one, SUCCESS", statuses(runs))
		}
	})
}
