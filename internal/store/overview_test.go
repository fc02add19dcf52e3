package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// RunsPerMinute reads the minute counters of the range only, oldest first,
// by the minute each run finished in.
func TestStore_RunsPerMinute(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "every", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		// mustRunAt finishes each run a second after it was due.
		for _, at := range []time.Duration{0, 10 * time.Second, 2 * time.Minute, 5 * time.Minute} {
			mustRunAt(t, db, s, t0.Add(at))
		}
		got, err := db.RunsPerMinute(ctx, t0.Add(30*time.Second), t0.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		// The start is rounded down to its minute; the end is exclusive.
		want := []apicron.MinuteRuns{{Minute: t0, Runs: 2}, {Minute: t0.Add(2 * time.Minute), Runs: 1}}
		if len(got) != len(want) {
			t.Fatalf("RunsPerMinute = %v, want %v", got, want)
		}
		for i := range want {
			if !got[i].Minute.Equal(want[i].Minute) || got[i].Runs != want[i].Runs {
				t.Fatalf("RunsPerMinute = %v, want %v", got, want)
			}
		}
		none, err := db.RunsPerMinute(ctx, t0.Add(-time.Hour), t0)
		if err != nil || len(none) != 0 {
			t.Fatalf("RunsPerMinute before any run = %v, %v; want none", none, err)
		}
	})
}

// FailingSchedules lists the schedules whose latest counted run failed,
// newest streak first, and leaves a schedule out once it succeeds again.
func TestStore_FailingSchedules(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		every := func(name string) *apicron.Schedule {
			return mustCreateSchedule(t, db, &apicron.Schedule{Name: name, TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		}
		a, b, c := every("a"), every("b"), every("c")
		run := func(s *apicron.Schedule, at time.Time, status apicron.RunStatus) {
			t.Helper()
			res := mustClaim(t, db, at, s.ID)
			if res.Job == nil {
				t.Fatalf("schedule %d at %v: nothing claimed", s.ID, at)
			}
			finish(t, db, res.Job, status, 5, at)
		}
		run(a, t0, apicron.Failed)
		run(b, t0.Add(time.Second), apicron.Timeout)
		run(b, t0.Add(2*time.Second), apicron.Failed)
		run(c, t0.Add(3*time.Second), apicron.Success)
		list, total, err := db.FailingSchedules(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if total != 2 || len(list) != 2 || list[0].ScheduleID != b.ID || list[1].ScheduleID != a.ID {
			t.Fatalf("FailingSchedules = %d %v, want b then a", total, list)
		}
		if got := list[0]; got.ScheduleName != "b" || got.Alert.ConsecutiveFailures != 2 || got.LastStatus == nil ||
			*got.LastStatus != apicron.Failed || got.Status != apicron.Active || got.Alert.FailingSince == nil {
			t.Fatalf("b = %+v", got)
		}
		run(a, t0.Add(4*time.Second), apicron.Success)
		list, total, err = db.FailingSchedules(ctx, 1)
		if err != nil || total != 1 || len(list) != 1 || list[0].ScheduleID != b.ID {
			t.Fatalf("after a succeeded: FailingSchedules = %d %v, %v; want b alone", total, list, err)
		}
	})
}
