package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// step runs one engine step at t0+d without waiting for what it dispatched.
func (h *harness) step(d time.Duration) {
	h.clock.Set(t0.Add(d))
	h.s.Step(h.ctx, t0.Add(d))
}

// release lets the gated runs end and writes their results.
func (h *harness) release(gate *gatedExecutor) {
	h.t.Helper()
	close(gate.release)
	if err := h.s.Wait(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

// TestScheduler_OverlapPolicies: what an occurrence does that finds a run
// of its schedule in flight, for each overlap policy, the runs held open by
// a gate.
func TestScheduler_OverlapPolicies(t *testing.T) {
	t.Parallel()
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	storetest.ForEach(t, func(t *testing.T, driver string) {
		t.Run("allow", func(t *testing.T) {
			gate := newGatedExecutor(storetest.NewClock(t0))
			h := newHarness(t, driver, gate, 10)
			s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, OverlapPolicy: apicron.OverlapAllow, MaxParallel: ptr(2)})
			h.step(0)
			h.step(sec(10))
			gate.awaitStarted(t, 2)
			h.step(sec(20)) // two in flight: skipped
			h.release(gate)
			if got := scheduledOffsets(h.runs(s.ID)); !equalDurations(got, []time.Duration{0, sec(10)}) {
				t.Errorf("allow 2 ran %v, want [0s 10s]", got)
			}
			if m := scheduleMetrics(t, h.db, s.ID); m.SkippedOverlap != 1 {
				t.Errorf("skipped_overlap %d, want 1", m.SkippedOverlap)
			}
		})
		t.Run("buffer_one", func(t *testing.T) {
			gate := newGatedExecutor(storetest.NewClock(t0))
			h := newHarness(t, driver, gate, 10)
			s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, OverlapPolicy: apicron.OverlapBufferOne})
			h.step(0)
			gate.awaitStarted(t, 1)
			h.step(sec(10)) // waits
			h.step(sec(20)) // still waits
			if n := len(h.runs(s.ID)); n != 1 {
				t.Fatalf("%d runs while the first is in flight, want 1", n)
			}
			h.clock.Set(t0.Add(sec(25)))
			h.release(gate)
			// The run's end looks at the schedule again: the buffered one runs now.
			h.step(sec(25))
			if err := h.s.Wait(h.ctx); err != nil {
				t.Fatal(err)
			}
			runs := h.runs(s.ID)
			if got := scheduledOffsets(runs); !equalDurations(got, []time.Duration{0, sec(20)}) {
				t.Fatalf("buffer_one ran %v, want [0s 20s]", got)
			}
			if r := runs[1]; r.Missed != 1 {
				t.Errorf("buffered run: missed %d, want 1 (10 s coalesced into it)", r.Missed)
			}
			if got := h.reload(s.ID); !got.NextRunAt.Equal(t0.Add(sec(30))) {
				t.Errorf("next %s, want 30 s: the grid goes on", got.NextRunAt)
			}
		})
		t.Run("replace", func(t *testing.T) {
			gate := newGatedExecutor(storetest.NewClock(t0))
			h := newHarness(t, driver, gate, 10)
			s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, OverlapPolicy: apicron.OverlapReplace})
			h.step(0)
			gate.awaitStarted(t, 1)
			h.step(sec(10)) // interrupts the first and runs
			gate.awaitStarted(t, 1)
			h.release(gate)
			runs := h.runs(s.ID)
			if len(runs) != 2 {
				t.Fatalf("%d runs, want 2", len(runs))
			}
			if r := runs[0]; r.Status != apicron.Interrupted || r.ErrorMessage != store.ReplacedReason || r.FinishedAt == nil {
				t.Errorf("replaced run: %s %q, want INTERRUPTED, replaced", r.Status, r.ErrorMessage)
			}
			if r := runs[1]; r.Status != apicron.Success || !r.ScheduledAt.Equal(t0.Add(sec(10))) {
				t.Errorf("replacing run: %s at %s, want SUCCESS at 10 s", r.Status, r.ScheduledAt)
			}
			if m := scheduleMetrics(t, h.db, s.ID); m.RunsByStatus[apicron.Interrupted] != 1 || m.TotalRuns != 2 {
				t.Errorf("metrics: %v, total %d; want the interrupted run counted", m.RunsByStatus, m.TotalRuns)
			}
		})
	})
}

// TestScheduler_MisfirePolicies: after 35 s without the engine, a 10 s
// schedule coalesces (one run), skips (none) or catches up (each, one
// after another, oldest first).
func TestScheduler_MisfirePolicies(t *testing.T) {
	t.Parallel()
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		co := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10})
		sk := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, MisfirePolicy: apicron.MisfireSkip})
		cu := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, MisfirePolicy: apicron.MisfireCatchUp})
		h.clock.Set(t0.Add(sec(35))) // down from t0 to 35 s
		h.runUntil(t0.Add(sec(45)))

		if got := scheduledOffsets(h.runs(co.ID)); !equalDurations(got, []time.Duration{sec(30), sec(40)}) {
			t.Errorf("coalesce ran %v, want [30s 40s]", got)
		} else if r := h.runs(co.ID)[0]; r.Missed != 3 {
			t.Errorf("coalesced run missed %d, want 3", r.Missed)
		}
		if got := scheduledOffsets(h.runs(sk.ID)); !equalDurations(got, []time.Duration{sec(40)}) {
			t.Errorf("skip ran %v, want [40s]", got)
		}
		if m := scheduleMetrics(t, h.db, sk.ID); m.Missed != 4 {
			t.Errorf("skip: missed %d, want 4", m.Missed)
		}
		runs := h.runs(cu.ID)
		if got := scheduledOffsets(runs); !equalDurations(got, []time.Duration{0, sec(10), sec(20), sec(30), sec(40)}) {
			t.Fatalf("catch_up ran %v, want each of 0..40 s", got)
		}
		for i, want := range []apicron.Trigger{apicron.TriggerCatchUp, apicron.TriggerCatchUp, apicron.TriggerCatchUp, apicron.TriggerSchedule, apicron.TriggerSchedule} {
			if runs[i].Trigger != want || runs[i].Missed != 0 {
				t.Errorf("catch_up run %d: trigger %s missed %d, want %s", i, runs[i].Trigger, runs[i].Missed, want)
			}
		}
	})
}

func scheduleMetrics(t *testing.T, db *store.DB, id int64) *apicron.ScheduleMetrics {
	t.Helper()
	list, _, err := db.ScheduleMetrics(t.Context(), apicron.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.ScheduleID == id {
			return m
		}
	}
	t.Fatalf("no metrics for schedule %d", id)
	return nil
}

// recordingGate is a gatedExecutor that also records the runs it executed.
type recordingGate struct {
	*gatedExecutor
	mu  sync.Mutex
	ran []int64
}

func (g *recordingGate) Execute(ctx context.Context, job *apicron.Job) apicron.RunResult {
	g.mu.Lock()
	g.ran = append(g.ran, job.RunID)
	g.mu.Unlock()
	return g.gatedExecutor.Execute(ctx, job)
}

// TestScheduler_ReplaceWhileWaiting: a replaced run still waiting for a
// slot (MAX_CONCURRENT_JOBS full) never sends its request.
func TestScheduler_ReplaceWhileWaiting(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		gate := &recordingGate{gatedExecutor: newGatedExecutor(storetest.NewClock(t0))}
		h := newHarness(t, driver, gate, 1)
		hog := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 3600})
		h.step(0)
		gate.awaitStarted(t, 1) // the one slot is taken
		rp := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, OverlapPolicy: apicron.OverlapReplace})
		h.step(time.Second)      // rp's first run waits for the slot
		h.step(11 * time.Second) // its next occurrence replaces it
		h.release(gate.gatedExecutor)
		runs := h.runs(rp.ID)
		if len(runs) != 2 || runs[0].Status != apicron.Interrupted || runs[1].Status != apicron.Success {
			t.Fatalf("replace runs %v %v", len(runs), statuses(runs))
		}
		gate.mu.Lock()
		defer gate.mu.Unlock()
		for _, id := range gate.ran {
			if id == runs[0].ID {
				t.Errorf("the replaced run %d was sent (ran %v; runs %d %s %s, %d %s %s)", id, gate.ran, runs[0].ID, runs[0].ScheduledAt,
					runs[0].ErrorMessage, runs[1].ID, runs[1].ScheduledAt, runs[1].Status)
			}
		}
		if len(h.runs(hog.ID)) != 1 {
			t.Errorf("hog runs %d", len(h.runs(hog.ID)))
		}
	})
}

// TestScheduler_CatchUpNewestWaits: a catch_up schedule runs the newest of
// the occurrences it owes too, after the one before it, though that one
// runs with trigger schedule: it waits for the run in flight instead of
// being skipped as an overlap. Caught up, an occurrence on time meets the
// overlap policy.
func TestScheduler_CatchUpNewestWaits(t *testing.T) {
	t.Parallel()
	sec := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		gate := newGatedExecutor(clock)
		h := newHarness(t, driver, gate, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, MisfirePolicy: apicron.MisfireCatchUp, CatchUpMax: ptr(3)})
		step := func(ms int) {
			h.clock.Set(sec(ms))
			h.s.Step(h.ctx, sec(ms))
		}
		finish := func() {
			gate.release <- struct{}{}
			if err := h.s.Wait(h.ctx); err != nil {
				t.Fatal(err)
			}
		}
		step(35000) // down from t0 to 35 s: 10, 20 and 30 s are owed, one after another
		gate.awaitStarted(t, 1)
		step(35500) // 20 s waits for 10 s
		finish()
		step(36000)
		gate.awaitStarted(t, 1)
		step(36500) // 30 s, the newest, waits for 20 s
		finish()
		step(37000)
		gate.awaitStarted(t, 1)
		finish()
		// Caught up: an occurrence on time whose run before it is in flight
		// meets the overlap policy (skip), as any schedule's does.
		step(40000)
		gate.awaitStarted(t, 1)
		step(50000)
		finish()
		if err := h.s.Flush(h.ctx); err != nil {
			t.Fatal(err)
		}
		runs := h.runs(s.ID)
		if got := scheduledOffsets(runs); !equalDurations(got, []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 40 * time.Second}) {
			t.Fatalf("catch_up ran %v, want the owed 10s 20s 30s, then 40s", got)
		}
		if m := scheduleMetrics(t, h.db, s.ID); m.SkippedOverlap != 1 || m.Missed != 1 {
			t.Fatalf("catch_up: %d skipped as overlapping, %d missed; want 1 (50 s, on time, beside 40 s) and 1 (0 s, beyond catch_up_max)", m.SkippedOverlap, m.Missed)
		}
	})
}
