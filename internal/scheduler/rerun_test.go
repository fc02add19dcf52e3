package scheduler_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

// A process stopped with runs in flight: at the next start, a run of a
// schedule with retry_interrupted is sent again (its job says so: Reruns
// 1), but one whose schedule's next occurrence has come is not, and is
// INTERRUPTED saying why, counting no rerun; a run of a schedule without it
// is INTERRUPTED.
func TestScheduler_RetryInterruptedAtStart(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		hourly := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Name: "hourly", Type: apicron.Interval, IntervalSeconds: 3600,
			RetryInterrupted: true})
		minutely := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Name: "minutely", Type: apicron.Interval, IntervalSeconds: 60,
			RetryInterrupted: true})
		plain := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Name: "plain", Type: apicron.Interval, IntervalSeconds: 3600})
		// The stopped process's claim: three runs in flight at t0.
		if _, err := db.Claim(ctx, t0, t0, []int64{hourly.ID, minutely.ID, plain.ID}, nil); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(90 * time.Second)) // restarted 90 s later: past the minutely schedule's next occurrence
		var mu sync.Mutex
		var sent []*apicron.Job
		exec := execFunc(func(ctx context.Context, j *apicron.Job) apicron.RunResult {
			mu.Lock()
			sent = append(sent, j)
			mu.Unlock()
			return succeed(clock).Execute(ctx, j)
		})
		s := scheduler.New(scheduler.Config{Store: db, Executor: exec, Clock: clock, MaxConcurrent: 10})
		r := startRun(t, s)
		final := func(id int64) *apicron.Run {
			runs := runsOf(t, db, id)
			if len(runs) == 0 || runs[len(runs)-1].Status == apicron.Running {
				return nil
			}
			return runs[len(runs)-1]
		}
		deadline := time.Now().Add(10 * time.Second)
		for final(hourly.ID) == nil || runsOf(t, db, minutely.ID)[0].Status == apicron.Running {
			if time.Now().After(deadline) {
				t.Fatalf("runs not finished: %+v %+v", runsOf(t, db, hourly.ID), runsOf(t, db, minutely.ID))
			}
			time.Sleep(10 * time.Millisecond)
		}
		r.stop()

		h := final(hourly.ID)
		if h.Status != apicron.Success || h.Reruns != 1 || !h.ScheduledAt.Equal(t0) {
			t.Errorf("hourly: %s reruns %d at %v, want SUCCESS, 1, t0", h.Status, h.Reruns, h.ScheduledAt)
		}
		m := runsOf(t, db, minutely.ID)[0]
		if m.Status != apicron.Interrupted || m.Reruns != 0 || !strings.Contains(m.ErrorMessage, "apicron stopped before the run finished; not run again: the next occurrence was due at 2026-03-01T00:01:00Z") {
			t.Errorf("minutely: %s reruns %d %q", m.Status, m.Reruns, m.ErrorMessage)
		}
		p := runsOf(t, db, plain.ID)[0]
		if p.Status != apicron.Interrupted || p.Reruns != 0 {
			t.Errorf("plain: %s reruns %d %q", p.Status, p.Reruns, p.ErrorMessage)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, j := range sent {
			if j.ScheduleID == minutely.ID && j.ScheduledAt.Equal(t0) || j.ScheduleID == plain.ID && j.ScheduledAt.Equal(t0) {
				t.Errorf("sent again: %s's run at %v", j.ScheduleName, j.ScheduledAt)
			}
			if j.ScheduleID == hourly.ID && j.ScheduledAt.Equal(t0) && j.Reruns != 1 {
				t.Errorf("hourly's run sent with Reruns %d", j.Reruns)
			}
		}
	})
}
