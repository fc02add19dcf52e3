package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

// TestScheduler_HealthReportsFailingWrites checks that Health answers an
// error, saying which write fails and why, from the first failed claim or
// result write until that write succeeds again, while a database ping would
// still pass; and that results refused meanwhile are written afterwards.
func TestScheduler_HealthReportsFailingWrites(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, "sqlite", clock)
	eng := &refusingEngine{DB: db}
	s := scheduler.New(scheduler.Config{Store: eng, Executor: succeed(clock), Clock: clock, MaxConcurrent: 4})
	ctx := context.Background()
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	sch := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10})
	s.Changed(sch.ID)
	healthy := func(when string, want bool, wantText ...string) {
		t.Helper()
		h, err := s.Health(ctx)
		if (err == nil) != want {
			t.Fatalf("%s: Health error %v, want healthy %v (%v)", when, err, want, h)
		}
		for _, w := range wantText {
			if !strings.Contains(apicron.ErrorMessage(err), w) {
				t.Errorf("%s: %q does not say %q", when, apicron.ErrorMessage(err), w)
			}
		}
		if err != nil && apicron.ErrorCode(err) != apicron.EUNAVAILABLE {
			t.Errorf("%s: code %s, want unavailable", when, apicron.ErrorCode(err))
		}
	}
	healthy("at start", true)

	// A claim the database refuses.
	eng.claims.Store(true)
	s.Step(ctx, t0)
	healthy("after a refused claim", false, "claim failing", "SQLITE_FULL")
	eng.claims.Store(false)
	clock.Set(t0.Add(time.Second)) // the refused schedule is retried after RetryDelay
	s.Step(ctx, clock.Now())

	// Its run's result, refused too: it waits in memory.
	eng.finishes.Store(true)
	_ = s.Wait(ctx)
	healthy("after a refused result", false, "write results failing", "SQLITE_FULL")
	h, _ := s.Health(ctx)
	if p := h.PendingResults; p != 1 {
		t.Errorf("pending_results %v, want 1", p)
	}
	eng.finishes.Store(false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	healthy("after the database came back", true)
	runs, _, err := db.FindRuns(ctx, apicron.RunFilter{ScheduleID: &sch.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != apicron.Success {
		t.Fatalf("runs after recovery: %+v", runs)
	}
}
