package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
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
			if e := entries[5]; e.Lateness < sec(24) || !strings.Contains(e.Reason, "down or overloaded") {
				t.Errorf("occurrence at 40 s: lateness %s, reason %q; want 25 s late, down or overloaded", e.Lateness, e.Reason)
			}
			if s.ID == co.ID && (entries[5].Run == nil || !entries[5].Run.ScheduledAt.Equal(t0.Add(sec(60)))) {
				t.Errorf("coalesced occurrence: run %+v, want the run at 60 s", entries[5].Run)
			}
		}
	})
}
