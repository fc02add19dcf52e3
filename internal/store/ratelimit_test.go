package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestStore_RateLimit: a target's rate limit is stored (the burst
// defaulted), replaced and removed; every job of the target carries it, a
// claimed one, one queued in a shared database, a manual run and a test
// request; and a run's waited_ms is kept with its result.
func TestStore_RateLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := func(t *testing.T, db *store.DB, queued bool) {
		tg := &apicron.Target{Name: "t", URL: "https://127.0.0.1:9/x", RateLimit: &apicron.RateLimit{PerSecond: 2.5}}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		want := apicron.RateLimit{PerSecond: 2.5, Burst: 3} // max(1, ceil(2.5))
		if got, err := db.FindTargetByID(ctx, tg.ID); err != nil || got.RateLimit == nil || *got.RateLimit != want {
			t.Fatalf("read back %+v (%v), want %+v", got.RateLimit, err, want)
		}
		job := func(name string) *apicron.Job {
			t.Helper()
			s := mustCreateSchedule(t, db, &apicron.Schedule{Name: name, TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
			res := mustClaim(t, db, t0, s.ID)
			if !queued {
				return res.Job
			}
			jobs, err := db.TakeRuns(ctx, 10, 0)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("take: %v, %v", jobs, err)
			}
			return jobs[0]
		}
		j := job("first")
		if j == nil || j.RateLimit == nil || *j.RateLimit != want {
			t.Fatalf("claimed job's rate limit %+v, want %+v", j.RateLimit, want)
		}

		// waited_ms is the result's, in whole milliseconds.
		lat := 3.0
		if err := db.Finish(ctx, []apicron.RunResult{{RunID: j.RunID, ScheduleID: j.ScheduleID, StartedAt: t0.Add(1500 * time.Millisecond),
			FinishedAt: t0.Add(1503 * time.Millisecond), Waited: 1500*time.Millisecond + 400*time.Microsecond,
			Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}); err != nil {
			t.Fatal(err)
		}
		if r, err := db.FindRunByID(ctx, j.RunID); err != nil || r.Waited != 1500*time.Millisecond {
			t.Fatalf("run waited %v (%v), want 1.5s", r.Waited, err)
		}
		runs, _, err := db.FindRuns(ctx, apicron.RunFilter{ScheduleID: &j.ScheduleID})
		if err != nil || len(runs) != 1 || runs[0].Waited != 1500*time.Millisecond {
			t.Fatalf("listed runs %v (%v), want one that waited 1.5s", runs, err)
		}

		strict := &apicron.RateLimit{PerSecond: 0.5, Burst: 4}
		if got, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{RateLimit: &strict}); err != nil || *got.RateLimit != *strict {
			t.Fatalf("update: %+v, %v", got, err)
		}
		if j := job("second"); j == nil || j.RateLimit == nil || *j.RateLimit != *strict {
			t.Fatalf("job after the update carries %+v, want %+v", j.RateLimit, strict)
		}
		if !queued {
			m, err := db.TriggerRun(ctx, j.ScheduleID, true)
			if err != nil || m.RateLimit == nil || *m.RateLimit != *strict {
				t.Fatalf("manual run's job %+v (%v), want %+v", m, err, strict)
			}
			if tj, err := db.TargetJob(ctx, tg.ID); err != nil || tj.RateLimit == nil || *tj.RateLimit != *strict {
				t.Fatalf("test request's job %+v (%v), want %+v", tj, err, strict)
			}
		}

		bad := &apicron.RateLimit{PerSecond: 0, Burst: 1}
		if _, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{RateLimit: &bad}); apicron.ErrorField(err) != "rate_limit.per_second" {
			t.Fatalf("rate 0: %v, want refused on rate_limit.per_second", err)
		}
		var none *apicron.RateLimit
		if got, err := db.UpdateTarget(ctx, tg.ID, apicron.TargetUpdate{RateLimit: &none}); err != nil || got.RateLimit != nil {
			t.Fatalf("remove: %+v, %v", got, err)
		}
		if got, _ := db.FindTargetByID(ctx, tg.ID); got.RateLimit != nil {
			t.Fatalf("removed rate limit read back as %+v", got.RateLimit)
		}
		if j := job("third"); j == nil || j.RateLimit != nil {
			t.Fatalf("job after the removal carries %+v, want none", j.RateLimit)
		}
	}
	storetest.ForEach(t, func(t *testing.T, driver string) {
		check(t, storetest.Open(t, driver, storetest.NewClock(t0)), false)
	})
	t.Run("postgres-shared", func(t *testing.T) {
		t.Parallel()
		db, _ := storetest.OpenShared(t, "a", storetest.NewClock(t0))
		check(t, db, true)
	})
}
