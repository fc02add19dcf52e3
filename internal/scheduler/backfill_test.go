package scheduler_test

import (
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// TestScheduler_Backfill: a backfill runs each occurrence of its past range
// once, oldest first, at its rate, with trigger backfill; a second backfill
// of the same range made at the same time runs none again, and one over a
// range that has runs already skips those.
func TestScheduler_Backfill(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 100)
		s := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: "*/10 * * * * *"})
		if _, err := h.db.PauseSchedule(h.ctx, s.ID, apicron.PauseRequest{}); err != nil {
			t.Fatal(err)
		}
		h.s.Changed(s.ID)
		req := apicron.BackfillRequest{Since: t0.Add(-10 * time.Minute), Until: t0, RatePerSecond: 20}
		b1, err := h.db.CreateBackfill(h.ctx, s.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := h.db.CreateBackfill(h.ctx, s.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		if b1.Total != 60 || b1.Status != apicron.BackfillRunning || !b1.Next.Equal(req.Since) {
			t.Fatalf("backfill %+v, want 60 occurrences from %s", b1, req.Since)
		}
		h.s.Changed(s.ID)
		h.clock.Set(t0)
		h.s.Step(h.ctx, t0)
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(h.runs(s.ID)); n != 20 {
			t.Errorf("after the first step: %d runs, want 20 (a second at 20/s)", n)
		}
		h.runUntil(t0.Add(10 * time.Second))
		runs := h.runs(s.ID)
		if len(runs) != 60 {
			t.Fatalf("%d runs, want 60", len(runs))
		}
		for i, r := range runs {
			if want := req.Since.Add(time.Duration(i) * 10 * time.Second); !r.ScheduledAt.Equal(want) || r.Trigger != apicron.TriggerBackfill ||
				r.Status != apicron.Success {
				t.Fatalf("run %d: %s %s %s, want %s backfill SUCCESS", i, r.ScheduledAt, r.Trigger, r.Status, want)
			}
			if i > 0 && r.ID < runs[i-1].ID {
				t.Errorf("run of %s made before the one of %s: not oldest first", r.ScheduledAt, runs[i-1].ScheduledAt)
			}
		}
		list, err := h.db.FindBackfills(h.ctx, s.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var started, already int64
		for _, b := range list {
			if b.Status != apicron.BackfillDone || b.Next != nil || b.FinishedAt == nil {
				t.Errorf("backfill %d: %s next %v, want DONE", b.ID, b.Status, b.Next)
			}
			started, already = started+b.Inserted, already+b.Existing
		}
		if len(list) != 2 || list[0].ID != b2.ID || started != 60 || already != 60 {
			t.Errorf("backfills %d (newest %d), started %d, already run %d; want 2, %d, 60 and 60", len(list), list[0].ID, started, already, b2.ID)
		}

		// Bad ranges change nothing.
		for _, bad := range []apicron.BackfillRequest{
			{Since: t0, Until: t0.Add(time.Hour)},                                           // the future
			{Since: t0.Add(-time.Minute), Until: t0.Add(-time.Hour)},                        // reversed
			{Since: t0.Add(-48 * time.Hour), Until: t0.Add(-time.Second)},                   // 17,280 occurrences
			{Since: t0.Add(-59 * time.Second), Until: t0.Add(-51 * time.Second)},            // none
			{Since: t0.Add(-time.Minute), Until: t0.Add(-time.Second), RatePerSecond: 5000}, // too fast
		} {
			if _, err := h.db.CreateBackfill(h.ctx, s.ID, bad); apicron.ErrorCode(err) != apicron.EINVALID {
				t.Errorf("backfill %s..%s at %d/s: %v, want invalid", bad.Since, bad.Until, bad.RatePerSecond, err)
			}
		}
		if _, err := h.db.CreateBackfill(h.ctx, 1<<40, req); apicron.ErrorCode(err) != apicron.ENOTFOUND {
			t.Errorf("backfill of a missing schedule: %v", err)
		}
	})
}

// TestScheduler_BackfillCancelled: a backfill whose schedule is deleted
// stops, CANCELLED, and runs nothing more.
func TestScheduler_BackfillCancelled(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 100)
		s := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: "* * * * * *"})
		b, err := h.db.CreateBackfill(h.ctx, s.ID, apicron.BackfillRequest{Since: t0.Add(-time.Hour), Until: t0, RatePerSecond: 5})
		if err != nil {
			t.Fatal(err)
		}
		h.s.Changed(s.ID)
		h.runUntil(t0.Add(2 * time.Second))
		if err := h.db.DeleteSchedule(h.ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		h.s.Changed(s.ID)
		h.runUntil(t0.Add(5 * time.Second))
		list, err := h.db.FindBackfills(h.ctx, s.ID, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("backfills %v, %v", list, err)
		}
		if got := list[0]; got.ID != b.ID || got.Status != apicron.BackfillCancelled || got.Inserted < 5 || got.Inserted > 15 {
			t.Errorf("after its schedule was deleted: %s with %d runs, want CANCELLED after 5 to 15", got.Status, got.Inserted)
		}
	})
}
