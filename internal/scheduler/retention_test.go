package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

func TestScheduler_RetentionKeepsCounters(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60})
		for i := 0; i < 5; i++ {
			h.at(time.Duration(i) * time.Minute)
		}
		pruner := scheduler.New(scheduler.Config{Store: h.db, Executor: succeed(h.clock), Clock: h.clock,
			Pruner: h.db, Retention: 150 * time.Second})
		// At 4 min, runs finished before 1:30 go: those of 0 and 1 min.
		if n := pruner.Prune(h.ctx); n != 2 {
			t.Fatalf("pruned %d runs, want 2", n)
		}
		got := scheduledOffsets(h.runs(s.ID))
		if !equalDurations(got, []time.Duration{2 * time.Minute, 3 * time.Minute, 4 * time.Minute}) {
			t.Fatalf("runs left at %v", got)
		}
		m, err := h.db.SystemMetrics(h.ctx, h.clock.Now())
		if err != nil || m.TotalRuns != 5 {
			t.Fatalf("total_runs after pruning = %d (%v), want 5: counters are not changed by pruning", m.TotalRuns, err)
		}
	})
}

// TestScheduler_KeepRunsCap: with runs kept forever by age, a pass trims a
// schedule to its keep_runs newest finished runs, and one without keep_runs
// to DefaultKeepRuns; the run in flight stays, and the counters keep every run.
func TestScheduler_KeepRunsCap(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		release := make(chan struct{})
		hang := t0.Add(5 * time.Minute)
		var clock *storetest.Clock
		exec := execFunc(func(ctx context.Context, job *apicron.Job) apicron.RunResult {
			if job.ScheduledAt.Equal(hang) {
				<-release // the occurrence at 5 min is in flight during the pass
			}
			return succeed(clock)(ctx, job)
		})
		h := newHarness(t, driver, exec, 10)
		clock = h.clock
		capped := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60, KeepRuns: ptr(3)})
		other := h.schedule(&apicron.Schedule{Name: "other", Type: apicron.Interval, IntervalSeconds: 60})
		for i := 0; i < 5; i++ {
			h.at(time.Duration(i) * time.Minute)
		}
		h.clock.Set(hang)
		h.s.Step(h.ctx, hang)

		pruner := scheduler.New(scheduler.Config{Store: h.db, Executor: succeed(h.clock), Clock: h.clock,
			Pruner: h.db, DefaultKeepRuns: 2})
		// capped: 5 finished + 1 running, keeps 3 finished; other: 5 finished + 1 running, keeps 2.
		if n := pruner.Prune(h.ctx); n != 5 {
			t.Fatalf("pruned %d runs, want 5", n)
		}
		if got, want := scheduledOffsets(h.runs(capped.ID)), []time.Duration{2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute}; !equalDurations(got, want) {
			t.Fatalf("capped keeps runs at %v, want %v (the newest 3 finished and the one in flight)", got, want)
		}
		runs := h.runs(capped.ID)
		if last := runs[len(runs)-1]; last.Status != apicron.Running {
			t.Fatalf("run at 5 min is %s, want RUNNING", last.Status)
		}
		if got, want := scheduledOffsets(h.runs(other.ID)), []time.Duration{3 * time.Minute, 4 * time.Minute, 5 * time.Minute}; !equalDurations(got, want) {
			t.Fatalf("other keeps runs at %v, want %v (DEFAULT 2 finished and the one in flight)", got, want)
		}
		close(release)
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.at(6 * time.Minute)
		if n := pruner.Prune(h.ctx); n != 4 {
			t.Fatalf("second pass pruned %d runs, want 4", n)
		}
		if got, want := scheduledOffsets(h.runs(capped.ID)), []time.Duration{4 * time.Minute, 5 * time.Minute, 6 * time.Minute}; !equalDurations(got, want) {
			t.Fatalf("capped keeps runs at %v after the second pass, want %v", got, want)
		}
		if got, want := scheduledOffsets(h.runs(other.ID)), []time.Duration{5 * time.Minute, 6 * time.Minute}; !equalDurations(got, want) {
			t.Fatalf("other keeps runs at %v after the second pass, want %v", got, want)
		}

		m, err := h.db.SystemMetrics(h.ctx, h.clock.Now())
		if err != nil || m.TotalRuns != 14 {
			t.Fatalf("total_runs after pruning = %d (%v), want 14: counters are not changed by pruning", m.TotalRuns, err)
		}
		sm, _, err := h.db.ScheduleMetrics(h.ctx, apicron.Page{})
		if err != nil || len(sm) != 2 || sm[0].TotalRuns != 7 || sm[1].TotalRuns != 7 {
			t.Fatalf("schedule metrics after pruning: %+v %v, want 7 runs each", sm, err)
		}
	})
}
