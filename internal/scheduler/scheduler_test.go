package scheduler_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

func TestScheduler_IntervalGrid(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10})
		if wait := h.at(0); wait != 10*time.Second {
			t.Fatalf("wait after first fire = %v, want 10s", wait)
		}
		h.at(5 * time.Second)          // not due
		h.at(10*time.Second + 700*1e6) // late by 700 ms: the grid does not move
		h.at(20 * time.Second)
		got := scheduledOffsets(h.runs(s.ID))
		want := []time.Duration{0, 10 * time.Second, 20 * time.Second}
		if !equalDurations(got, want) {
			t.Fatalf("scheduled_at offsets %v, want %v", got, want)
		}
		for _, r := range h.runs(s.ID) {
			if r.Status != apicron.Success {
				t.Fatalf("run %d status %s", r.ID, r.Status)
			}
		}
	})
}

func TestScheduler_WindowEnds(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Window, IntervalSeconds: 1, DurationSeconds: ptr(3)})
		for i := 0; i <= 4; i++ {
			h.at(time.Duration(i) * time.Second)
		}
		if got := scheduledOffsets(h.runs(s.ID)); !equalDurations(got, []time.Duration{0, time.Second, 2 * time.Second}) {
			t.Fatalf("window fired at %v, want 0s 1s 2s", got)
		}
		got, _ := h.db.FindScheduleByID(h.ctx, s.ID)
		if got.Status != apicron.Stopped || got.StoppedReason != apicron.StoppedWindowElapsed {
			t.Fatalf("schedule after window: %s %q", got.Status, got.StoppedReason)
		}
	})
}

func TestScheduler_WindowStopsAtItsEnd(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		// 300 s at 10 s is 30 runs (half-open), and the stop happens at 300 s, not at the last run.
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Window, IntervalSeconds: 10, DurationSeconds: ptr(300)})
		for i := 0; i < 30; i++ {
			h.at(time.Duration(i) * 10 * time.Second)
		}
		if wait := h.at(295 * time.Second); wait != 5*time.Second {
			t.Fatalf("after the last run the engine waits %v, want 5s (the window's end)", wait)
		}
		if got, _ := h.db.FindScheduleByID(h.ctx, s.ID); got.Status != apicron.Active {
			t.Fatalf("stopped before its end: %s", got.Status)
		}
		h.at(300 * time.Second)
		if n := len(h.runs(s.ID)); n != 30 {
			t.Fatalf("%d runs, want 30", n)
		}
		if got, _ := h.db.FindScheduleByID(h.ctx, s.ID); got.Status != apicron.Stopped {
			t.Fatalf("not stopped at its end: %s", got.Status)
		}
	})
}

func TestScheduler_PauseFreezesWindow(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Window, IntervalSeconds: 1, DurationSeconds: ptr(3)})
		h.at(0)
		h.at(time.Second)
		h.clock.Set(t0.Add(1500 * time.Millisecond))
		if _, err := h.db.PauseSchedule(h.ctx, s.ID, apicron.PauseRequest{}); err != nil {
			t.Fatal(err)
		}
		h.s.Changed(s.ID)
		for i := 2; i < 100; i += 10 {
			h.at(time.Duration(i) * time.Second)
		}
		if n := len(h.runs(s.ID)); n != 2 {
			t.Fatalf("%d runs while paused, want 2 (0 s and 1 s)", n)
		}
		h.clock.Set(t0.Add(100 * time.Second))
		if _, err := h.db.ResumeSchedule(h.ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		h.s.Changed(s.ID)
		// 1.5 s of window left: occurrences at 100 s and 101 s, stop at 101.5 s.
		h.at(100 * time.Second)
		h.at(101 * time.Second)
		h.at(101*time.Second + 500*time.Millisecond)
		got := scheduledOffsets(h.runs(s.ID))
		want := []time.Duration{0, time.Second, 100 * time.Second, 101 * time.Second}
		if !equalDurations(got, want) {
			t.Fatalf("fired at %v, want %v", got, want)
		}
		if sc, _ := h.db.FindScheduleByID(h.ctx, s.ID); sc.Status != apicron.Stopped {
			t.Fatalf("status %s, want STOPPED", sc.Status)
		}
	})
}

func TestScheduler_MisfiresCoalesce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		h.at(0)
		h.at(10*time.Second + 300*time.Millisecond) // down for ~10 s
		h.at(11 * time.Second)
		runs := h.runs(s.ID)
		if len(runs) != 3 {
			t.Fatalf("%d runs, want 3", len(runs))
		}
		if r := runs[1]; r.ScheduledAt.Sub(t0) != 10*time.Second || r.Missed != 9 {
			t.Fatalf("coalesced run: scheduled %v missed %d, want 10s and 9", r.ScheduledAt.Sub(t0), r.Missed)
		}
		if r := runs[2]; r.ScheduledAt.Sub(t0) != 11*time.Second || r.Missed != 0 {
			t.Fatalf("run after recovery: %v %d", r.ScheduledAt.Sub(t0), r.Missed)
		}
	})
}

func TestScheduler_OverlapSkipped(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		release := make(chan struct{})
		var clock *storetest.Clock
		blocking := execFunc(func(ctx context.Context, job *apicron.Job) apicron.RunResult {
			<-release
			return succeed(clock)(ctx, job)
		})
		h := newHarness(t, driver, blocking, 10)
		clock = h.clock
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		h.s.Step(h.ctx, t0) // the first run hangs
		h.clock.Set(t0.Add(time.Second))
		h.s.Step(h.ctx, t0.Add(time.Second))
		h.clock.Set(t0.Add(2 * time.Second))
		h.s.Step(h.ctx, t0.Add(2*time.Second))
		close(release)
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.at(3 * time.Second)
		got := scheduledOffsets(h.runs(s.ID))
		if !equalDurations(got, []time.Duration{0, 3 * time.Second}) {
			t.Fatalf("runs at %v, want 0s and 3s", got)
		}
		m, _, _ := h.db.ScheduleMetrics(h.ctx, apicron.Page{})
		if m[0].SkippedOverlap != 2 {
			t.Fatalf("skipped_overlap %d, want 2", m[0].SkippedOverlap)
		}
	})
}

// A run whose request is over is not in flight any more, though its result
// still waits to be written (group commit): the next occurrence fires.
func TestScheduler_UnwrittenResultIsNoOverlap(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		h.s.Step(h.ctx, t0)
		deadline := time.Now().Add(10 * time.Second)
		for {
			health, _ := h.s.Health(h.ctx)
			if health.InFlight == 0 {
				if health.PendingResults != 1 {
					t.Fatalf("pending results %v, want the first run's", health.PendingResults)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the first run did not end")
			}
			time.Sleep(time.Millisecond)
		}
		h.at(time.Second)
		if got := scheduledOffsets(h.runs(s.ID)); !equalDurations(got, []time.Duration{0, time.Second}) {
			t.Fatalf("runs at %v, want 0s and 1s", got)
		}
		m, _, _ := h.db.ScheduleMetrics(h.ctx, apicron.Page{})
		if m[0].SkippedOverlap != 0 || m[0].TotalRuns != 2 {
			t.Fatalf("metrics %+v, want 2 runs and no overlap", m[0])
		}
	})
}

func TestScheduler_ConcurrencyBound(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		var cur, peak atomic.Int64
		release := make(chan struct{})
		var clock *storetest.Clock
		exec := execFunc(func(ctx context.Context, job *apicron.Job) apicron.RunResult {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			cur.Add(-1)
			return succeed(clock)(ctx, job)
		})
		h := newHarness(t, driver, exec, 2)
		clock = h.clock
		var ids []int64
		for i := 0; i < 6; i++ {
			ids = append(ids, h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60}).ID)
		}
		h.s.Step(h.ctx, t0)
		// Wait until two are in flight, then let them all go.
		for deadline := time.Now().Add(5 * time.Second); cur.Load() < 2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		close(release)
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		if p := peak.Load(); p != 2 {
			t.Fatalf("peak in flight %d, want 2", p)
		}
		for _, id := range ids {
			if n := len(h.runs(id)); n != 1 {
				t.Fatalf("schedule %d: %d runs, want 1", id, n)
			}
		}
	})
}

func TestScheduler_DeleteAndPauseReachEngine(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		a := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		b := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		h.at(0)
		if err := h.db.DeleteSchedule(h.ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		h.s.Changed(a.ID)
		if _, err := h.db.PauseSchedule(h.ctx, b.ID, apicron.PauseRequest{}); err != nil {
			t.Fatal(err)
		}
		h.s.Changed(b.ID)
		if wait := h.at(time.Second); wait != time.Minute {
			t.Fatalf("engine still waits for something: %v", wait)
		}
		if len(h.runs(a.ID)) != 1 || len(h.runs(b.ID)) != 1 {
			t.Fatal("a deleted or paused schedule fired")
		}
	})
}

func TestScheduler_LoadInterruptsLeftovers(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		// Claim without executing, as if the process died mid-request.
		if _, err := h.db.Claim(h.ctx, t0, t0, []int64{s.ID}, nil); err != nil {
			t.Fatal(err)
		}
		s2 := scheduler.New(scheduler.Config{Store: h.db, Executor: succeed(h.clock), Clock: h.clock})
		if err := s2.Load(h.ctx); err != nil {
			t.Fatal(err)
		}
		runs := h.runs(s.ID)
		if len(runs) != 1 || runs[0].Status != apicron.Interrupted {
			t.Fatalf("leftover run: %+v", runs)
		}
	})
}
