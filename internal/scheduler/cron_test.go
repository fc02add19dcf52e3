package scheduler_test

import (
	"slices"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// runUntil steps the engine from the clock's time to end, each step at the
// instant the engine asked to be woken, as a real clock would.
func (h *harness) runUntil(end time.Time) {
	h.t.Helper()
	now := h.clock.Now()
	for now.Before(end) {
		h.clock.Set(now)
		wait := h.s.Step(h.ctx, now)
		if err := h.s.Wait(h.ctx); err != nil {
			h.t.Fatal(err)
		}
		now = now.Add(max(wait, 10*time.Millisecond))
	}
}

// TestScheduler_CronThroughDST runs CRON schedules on the engine, with a
// fake clock, through the DST changes of 2026 and 2027, and checks what it
// actually fired: the same rules the timetable and the preview state.
func TestScheduler_CronThroughDST(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, zone, expr, from, to string
		want                       []string // local times fired, RFC 3339
		count                      int      // or, when want is nil, how many runs
	}{
		{"NY spring 2026: 02:30 fires at 03:00 EDT", "America/New_York", "30 2 * * *", "2026-03-07T00:00:00-05:00", "2026-03-10T00:00:00-04:00",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}, 0},
		{"NY fall 2026: 01:30 fires once", "America/New_York", "30 1 * * *", "2026-10-31T00:00:00-04:00", "2026-11-03T00:00:00-05:00",
			[]string{"2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}, 0},
		{"NY fall 2026: hourly fires 25 times on the long day", "America/New_York", "0 * * * *", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00",
			nil, 25},
		{"NY spring 2027: hourly fires 23 times on the short day", "America/New_York", "0 * * * *", "2027-03-14T00:00:00-05:00", "2027-03-15T00:00:00-04:00",
			nil, 23},
		{"London fall 2027: 01:00 fires once", "Europe/London", "0 1 * * *", "2027-10-30T12:00:00+01:00", "2027-11-01T12:00:00Z",
			[]string{"2027-10-31T01:00:00+01:00", "2027-11-01T01:00:00Z"}, 0},
		{"Lord Howe fall 2026: every 30 minutes, one extra slot", "Australia/Lord_Howe", "*/30 * * * *", "2026-04-05T00:00:00+11:00", "2026-04-06T00:00:00+10:30",
			nil, 49},
		{"Lord Howe spring 2026: 02:15 fires at 02:30", "Australia/Lord_Howe", "15 2 * * *", "2026-10-03T12:00:00+10:30", "2026-10-05T12:00:00+11:00",
			[]string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}, 0},
		{"Kathmandu 09:00 weekdays", "Asia/Kathmandu", "0 9 * * MON-FRI", "2026-06-05T00:00:00+05:45", "2026-06-09T00:00:00+05:45",
			[]string{"2026-06-05T09:00:00+05:45", "2026-06-08T09:00:00+05:45"}, 0},
	}
	storetest.ForEach(t, func(t *testing.T, driver string) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				h := newHarness(t, driver, nil, 10)
				from, _ := time.Parse(time.RFC3339, c.from)
				to, _ := time.Parse(time.RFC3339, c.to)
				h.clock.Set(from)
				s := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: c.expr, Timezone: c.zone})
				h.runUntil(to)
				runs := h.runs(s.ID)
				slices.SortFunc(runs, func(a, b *apicron.Run) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
				loc, _ := time.LoadLocation(c.zone)
				var got []string
				for _, r := range runs {
					got = append(got, r.ScheduledAt.In(loc).Format(time.RFC3339))
					if r.Missed != 0 {
						t.Errorf("run at %s coalesced %d occurrences", got[len(got)-1], r.Missed)
					}
				}
				if c.want != nil {
					if len(got) != len(c.want) {
						t.Fatalf("fired at %v, want %v", got, c.want)
					}
					for i := range got {
						w, _ := time.Parse(time.RFC3339, c.want[i])
						if !runs[i].ScheduledAt.Equal(w) {
							t.Fatalf("fired at %v, want %v", got, c.want)
						}
					}
				} else if len(got) != c.count {
					t.Fatalf("fired %d times, want %d: %v", len(got), c.count, got)
				}
				// Each run started when it was due, not early.
				for _, r := range runs {
					if r.StartedAt.Before(r.ScheduledAt.Add(-time.Second)) {
						t.Errorf("run %d started at %s, before its occurrence %s", r.ID, r.StartedAt, r.ScheduledAt)
					}
				}
			})
		}
	})
}

// TestScheduler_CronCoalescesAfterDowntime: a CRON schedule whose engine
// was away coalesces the occurrences it missed into one run of the latest,
// counting them, as an INTERVAL schedule does.
func TestScheduler_CronCoalescesAfterDowntime(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		start := time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC) // 00:00 EDT
		h.clock.Set(start)
		s := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: "*/10 * * * *", Timezone: "America/New_York"})
		// Away from 00:00 EDT until 01:35 EST: 00:00 ... 01:50 EDT and 01:00 ... 01:30 EST are due, 16 occurrences.
		h.clock.Set(start.Add(2*time.Hour + 35*time.Minute))
		h.s.Step(h.ctx, h.clock.Now())
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		runs := h.runs(s.ID)
		if len(runs) != 1 {
			t.Fatalf("%d runs after the downtime, want 1", len(runs))
		}
		want := time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC) // 01:30 EST
		if r := runs[0]; !r.ScheduledAt.Equal(want) || r.Missed != 15 {
			t.Fatalf("coalesced run at %s missed %d, want %s and 15", r.ScheduledAt, r.Missed, want)
		}
		got, _ := h.db.FindScheduleByID(h.ctx, s.ID)
		if next := time.Date(2026, 11, 1, 6, 40, 0, 0, time.UTC); got.NextRunAt == nil || !got.NextRunAt.Equal(next) {
			t.Fatalf("next_run_at %v, want %s", got.NextRunAt, next)
		}
	})
}
