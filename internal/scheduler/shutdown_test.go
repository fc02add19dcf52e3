package scheduler_test

import (
	"testing"

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
