package scheduler_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

// TestScheduler_ClockSteps steps the wall clock (the engine's injected
// clock) back an hour and then forward an hour, with an INTERVAL and a CRON
// schedule that coalesce, one that catches up (catch_up_max 3) and one that
// skips its misses. Back: no occurrence fires again, the engine still wakes
// at least every minute, says what happened once, and a schedule created
// meanwhile fires on its own grid; the old ones fire again once the clock
// reaches their next occurrence. Forward: each fires what its misfire
// policy says, and no more (one coalesced run counting the rest as missed;
// the newest 3, one at a time; none), and then keeps its grid.
func TestScheduler_ClockSteps(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		var logs logBuffer
		s := scheduler.New(scheduler.Config{Store: db, Executor: succeed(clock), Clock: clock, MaxConcurrent: 10, Logger: logs.logger()})
		h := &harness{t: t, db: db, clock: clock, s: s, ctx: t.Context()}
		if err := s.Load(h.ctx); err != nil {
			t.Fatal(err)
		}
		interval := h.schedule(&apicron.Schedule{Name: "interval", Type: apicron.Interval, IntervalSeconds: 10})
		cron := h.schedule(&apicron.Schedule{Name: "cron", Type: apicron.Cron, CronExpression: "*/10 * * * * *", Timezone: "Europe/Paris"})
		catchUp := h.schedule(&apicron.Schedule{Name: "catch-up", Type: apicron.Interval, IntervalSeconds: 10,
			MisfirePolicy: apicron.MisfireCatchUp, CatchUpMax: ptr(3)})
		skip := h.schedule(&apicron.Schedule{Name: "skip", Type: apicron.Interval, IntervalSeconds: 10, MisfirePolicy: apicron.MisfireSkip})
		old := []*apicron.Schedule{interval, cron, catchUp, skip}
		for _, d := range []time.Duration{0, 10 * time.Second, 20 * time.Second} {
			h.at(d)
		}
		count := func(sc *apicron.Schedule) int { return len(h.runs(sc.ID)) }
		for _, sc := range old {
			if n := count(sc); n != 3 {
				t.Fatalf("%s: %d runs before the steps, want 3", sc.Name, n)
			}
		}

		// Back an hour, at 25 s: nothing is due again.
		back := 25*time.Second - time.Hour
		for i := range 6 {
			if wait := h.at(back + time.Duration(i)*10*time.Second); wait > time.Minute {
				t.Fatalf("after the step back the engine sleeps %v, want at most a minute", wait)
			}
		}
		for _, sc := range old {
			if n := count(sc); n != 3 {
				t.Fatalf("%s: %d runs after the step back, want still 3 (an occurrence fired again?)", sc.Name, n)
			}
		}
		if lines := logs.lines(t, slog.LevelWarn, "the clock went back: schedules wait for their next occurrence; none fires twice"); len(lines) != 1 {
			t.Fatalf("%d warnings of the step back, want 1:\n%s", len(lines), logs.String())
		}
		// A schedule created now lives on the clock as it is.
		fresh := h.schedule(&apicron.Schedule{Name: "fresh", Type: apicron.Interval, IntervalSeconds: 10})
		h.at(back + time.Minute)
		h.at(back + time.Minute + 10*time.Second)
		if got := scheduledOffsets(h.runs(fresh.ID)); !equalDurations(got, []time.Duration{back + time.Minute, back + time.Minute + 10*time.Second}) {
			t.Fatalf("a schedule created after the step back fired at %v", got)
		}
		// The clock reaches 30 s again: the old schedules go on where they were.
		h.at(30 * time.Second)
		for _, sc := range old {
			if got := scheduledOffsets(h.runs(sc.ID)); !equalDurations(got, []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}) {
				t.Fatalf("%s fired at %v once the clock caught up, want 0s 10s 20s 30s", sc.Name, got)
			}
		}

		// Forward an hour, to 1h0m35s: 360 occurrences were due, from 40 s
		// to 1h0m30s.
		fwd := time.Hour + 35*time.Second
		h.at(fwd)
		for _, c := range []struct {
			sc     *apicron.Schedule
			runs   int
			missed int64
		}{{interval, 5, 359}, {cron, 5, 359}, {skip, 4, 0}, {catchUp, 5, 357}} {
			runs := h.runs(c.sc.ID)
			if len(runs) != c.runs {
				t.Fatalf("%s: %d runs after the step forward, want %d (its misfire policy)", c.sc.Name, len(runs), c.runs)
			}
			if last := runs[len(runs)-1]; c.missed > 0 && last.Missed != c.missed {
				t.Fatalf("%s: the run after the step forward counts %d missed, want %d", c.sc.Name, last.Missed, c.missed)
			}
		}
		// catch_up runs the newest 3 one at a time; then all keep their grid.
		h.at(fwd + time.Millisecond)
		h.at(fwd + 2*time.Millisecond)
		h.at(time.Hour + 40*time.Second)
		grid := []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}
		at := func(ds ...time.Duration) []time.Duration { return append(append([]time.Duration{}, grid...), ds...) }
		want := map[string][]time.Duration{
			"interval": at(time.Hour+30*time.Second, time.Hour+40*time.Second),
			"cron":     at(time.Hour+30*time.Second, time.Hour+40*time.Second),
			"catch-up": at(time.Hour+10*time.Second, time.Hour+20*time.Second, time.Hour+30*time.Second, time.Hour+40*time.Second),
			"skip":     at(time.Hour + 40*time.Second),
		}
		for _, sc := range old {
			if got := scheduledOffsets(h.runs(sc.ID)); !equalDurations(got, want[sc.Name]) {
				t.Fatalf("%s fired at %v, want %v", sc.Name, got, want[sc.Name])
			}
		}
		metrics, _, err := db.ScheduleMetrics(h.ctx, apicron.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range metrics {
			if m.ScheduleID == skip.ID {
				found = true
				if m.Missed != 360 {
					t.Fatalf("skip: %d occurrences counted missed, want the 360 the step forward jumped", m.Missed)
				}
			}
		}
		if !found {
			t.Fatal("no metrics for the skip schedule")
		}
		for _, r := range allRuns(t, db) {
			if r.Status != apicron.Success {
				t.Fatalf("run %d: %s", r.ID, r.Status)
			}
		}
	})
}
