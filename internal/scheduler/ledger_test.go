package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestScheduler_Ledger: the ledger of a schedule that ran, was paused,
// missed occurrences while the engine was down (coalesced for one
// schedule, skipped by the misfire policy for the other) and has more to
// come says what became of each occurrence, on both databases.
func TestScheduler_Ledger(t *testing.T) {
	t.Parallel()
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		co := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: "*/10 * * * * *"})
		sk := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: "*/10 * * * * *", MisfirePolicy: apicron.MisfireSkip})
		h.runUntil(t0.Add(sec(15))) // 0 and 10 run
		for _, s := range []*apicron.Schedule{co, sk} {
			if _, err := h.db.PauseSchedule(h.ctx, s.ID, apicron.PauseRequest{Reason: "maintenance"}); err != nil {
				t.Fatal(err)
			}
			h.s.Changed(s.ID)
		}
		h.runUntil(t0.Add(sec(35)))
		h.clock.Set(t0.Add(sec(35)))
		for _, s := range []*apicron.Schedule{co, sk} {
			if _, err := h.db.ResumeSchedule(h.ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			h.s.Changed(s.ID)
		}
		h.clock.Set(t0.Add(sec(65))) // down from 35 s to 65 s: 40, 50 and 60 come due unclaimed
		h.runUntil(t0.Add(sec(75)))

		want := map[int64]string{
			co.ID: "before_created ran ran paused paused coalesced coalesced ran ran planned planned",
			sk.ID: "before_created ran ran paused paused misfire misfire misfire ran planned planned",
		}
		for _, s := range []*apicron.Schedule{co, sk} {
			_, entries, more, err := h.db.Ledger(h.ctx, s.ID, t0.Add(-sec(10)), t0.Add(sec(100)), h.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Status)
			}
			if more || strings.Join(got, " ") != want[s.ID] {
				t.Errorf("schedule %d ledger %v (truncated %v), want %s", s.ID, got, more, want[s.ID])
				continue
			}
			if e := entries[3]; e.Reason != "maintenance" {
				t.Errorf("paused occurrence: reason %q", e.Reason)
			}
			// The engine's process was running through the gap: overloaded, not down.
			if e := entries[5]; e.Lateness < sec(24) || e.Cause != apicron.CauseOverloaded || !strings.Contains(e.Reason, "running but late") {
				t.Errorf("occurrence at 40 s: lateness %s, cause %s, reason %q; want 25 s late, overloaded", e.Lateness, e.Cause, e.Reason)
			}
			if s.ID == co.ID && (entries[5].Run == nil || !entries[5].Run.ScheduledAt.Equal(t0.Add(sec(60)))) {
				t.Errorf("coalesced occurrence: run %+v, want the run at 60 s", entries[5].Run)
			}
		}
	})
}

// TestScheduler_LedgerDown: occurrences that came due while no apicron
// process ran are coalesced with cause down, once a new process claims them.
func TestScheduler_LedgerDown(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		s := mustSchedule(t, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Cron, CronExpression: "*/10 * * * * *"})
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(35 * time.Second)) // down until 35 s
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		eng := scheduler.New(scheduler.Config{Store: db, Executor: succeed(clock), Clock: clock})
		if err := eng.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		eng.Step(t.Context(), clock.Now())
		if err := eng.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		_, entries, _, err := db.Ledger(t.Context(), s.ID, t0, t0.Add(31*time.Second), clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Status+"/"+e.Cause)
		}
		if want := "coalesced/down coalesced/down coalesced/down ran/"; strings.Join(got, " ") != want {
			t.Errorf("ledger %v, want %s", got, want)
		}
	})
}

// TestScheduler_LedgerRetention: retention deletes the ledger's misses of
// the time it deletes runs of, and keeps the newer ones.
func TestScheduler_LedgerRetention(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: "*/10 * * * * *"})
		h.clock.Set(t0.Add(35 * time.Second)) // 0, 10, 20 coalesced into 30
		h.runUntil(t0.Add(40 * time.Second))
		h.clock.Set(t0.Add(95 * time.Second)) // 40 .. 80 coalesced into 90
		h.runUntil(t0.Add(100 * time.Second))
		count := func() int {
			_, entries, _, err := h.db.Ledger(h.ctx, s.ID, t0, t0.Add(100*time.Second), h.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range entries {
				if e.Status == apicron.MissCoalesced {
					n++
				}
			}
			return n
		}
		if n := count(); n != 8 {
			t.Fatalf("%d coalesced before retention, want 8", n)
		}
		if _, err := h.db.PruneRuns(h.ctx, t0.Add(60*time.Second), 1000); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 5 {
			t.Errorf("%d coalesced after pruning what was decided before 60 s, want the 5 decided at 95 s", n)
		}
	})
}
