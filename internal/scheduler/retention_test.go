package scheduler_test

import (
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
