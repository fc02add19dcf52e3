package scheduler_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
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
		stop := startRun(t, s)
		waitFor(t, eng.entered, "the result write")
		stop()
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
	stop := startRun(t, s)
	waitFor(t, o.entered, "the first prune pass") // a second after Run starts
	stop()
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
	stop := startRun(t, s)
	waitFor(t, o.entered, "the listener")
	stop()
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
	stop := startRun(t, s)
	for deadline := time.Now().Add(10 * time.Second); eng.finishes.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no result write started")
		}
	}
	stop() // fails the test unless Run returns within 20 s
	logs.want(t, slog.LevelError, "write the last results", "results", int64(1))
}
