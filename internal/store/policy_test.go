package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// TestStore_ReplaceSeveralInOneClaim: one claim that replaces the runs in
// flight of several schedules interrupts them all, counted, and inserts
// the new runs; the counters' rows are taken once, after every run row.
func TestStore_ReplaceSeveralInOneClaim(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		var ids []int64
		for range 3 {
			s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "r", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10,
				OverlapPolicy: apicron.OverlapReplace})
			ids = append(ids, s.ID)
		}
		first, err := db.Claim(ctx, t0, t0, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		at := t0.Add(10 * time.Second)
		second, err := db.Claim(ctx, at, at, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range second {
			if r.Job == nil || len(r.Interrupted) != 1 || r.Interrupted[0] != first[i].Job.RunID {
				t.Fatalf("schedule %d: job %v interrupted %v, want a new run replacing %d", r.ScheduleID, r.Job, r.Interrupted, first[i].Job.RunID)
			}
			old, err := db.FindRunByID(ctx, first[i].Job.RunID)
			if err != nil || old.Status != apicron.Interrupted || old.FinishedAt == nil {
				t.Errorf("replaced run: %+v %v", old, err)
			}
		}
		m, err := db.SystemMetrics(ctx, at)
		if err != nil || m.RunsByStatus[apicron.Interrupted] != 3 || m.RunningRuns != 3 {
			t.Errorf("metrics: interrupted %d running %d (%v), want 3 and 3", m.RunsByStatus[apicron.Interrupted], m.RunningRuns, err)
		}
	})
}

// TestStore_RunCountOnlyForRunsMade: an occurrence whose instant a manual
// run already holds gets no run from the claim, and the schedule's
// run_count does not count it.
func TestStore_RunCountOnlyForRunsMade(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		res := mustClaim(t, db, t0, s.ID)
		finish(t, db, res.Job, apicron.Success, 1, t0)
		clock.Set(t0.Add(10 * time.Second)) // a manual run at the next occurrence's very millisecond
		if _, err := db.TriggerRun(ctx, s.ID, false); err != nil {
			t.Fatal(err)
		}
		if res := mustClaim(t, db, t0.Add(10*time.Second), s.ID); res.Job != nil {
			t.Fatalf("claim fired %+v, want nothing: the instant has a run", res.Job)
		}
		got, err := db.FindScheduleByID(ctx, s.ID)
		if err != nil || got.RunCount != 1 || !got.NextRunAt.Equal(t0.Add(20*time.Second)) {
			t.Errorf("run_count %d next %v (%v), want 1 and 20 s", got.RunCount, got.NextRunAt, err)
		}
	})
}
