package scheduler_test

import (
	"errors"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// lastEvent returns a schedule's newest event.
func (h *harness) lastEvent(id int64) *apicron.ScheduleEvent {
	h.t.Helper()
	list, err := h.db.FindEvents(h.ctx, id, 0, 1)
	if err != nil || len(list) != 1 {
		h.t.Fatalf("events of schedule %d: %v, %v", id, list, err)
	}
	return list[0]
}

// reload reads a schedule back from the store.
func (h *harness) reload(id int64) *apicron.Schedule {
	h.t.Helper()
	s, err := h.db.FindScheduleByID(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func wantStopped(t *testing.T, s *apicron.Schedule, reason string) {
	t.Helper()
	if s.Status != apicron.Stopped || s.StoppedReason != reason || s.NextRunAt != nil {
		t.Errorf("schedule %s (%s), next %v; want STOPPED (%s)", s.Status, s.StoppedReason, s.NextRunAt, reason)
	}
}

// TestScheduler_Once: a ONCE schedule fires once, at run_at, and stops.
func TestScheduler_Once(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		at := t0.Add(90 * time.Second)
		s := h.schedule(&apicron.Schedule{Type: apicron.Once, RunAt: &at})
		h.runUntil(t0.Add(10 * time.Minute))
		runs := h.runs(s.ID)
		if len(runs) != 1 || !runs[0].ScheduledAt.Equal(at) || runs[0].Trigger != apicron.TriggerSchedule {
			t.Fatalf("runs %v, want one at %s by the schedule", scheduledOffsets(runs), at)
		}
		got := h.reload(s.ID)
		wantStopped(t, got, apicron.StoppedRanOnce)
		if got.RunCount != 1 {
			t.Errorf("run_count %d, want 1", got.RunCount)
		}
		if e := h.lastEvent(s.ID); e.Kind != apicron.EventStopped || e.Actor != apicron.ActorEngine || e.Detail["reason"] != apicron.StoppedRanOnce ||
			!e.At.Equal(at) {
			t.Errorf("last event %+v, want stopped (ran_once) by the engine at run_at", e)
		}
	})
}

// TestScheduler_MaxRunsAndBounds: max_runs stops a schedule after that many
// runs; start_at and end_at keep its occurrences within them, on an
// INTERVAL grid and a CRON timetable.
func TestScheduler_MaxRunsAndBounds(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		capped := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, MaxRuns: ptr(3)})
		start, end := t0.Add(60*time.Second), t0.Add(100*time.Second)
		boxed := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, StartAt: &start, EndAt: &end})
		cron := h.schedule(&apicron.Schedule{Type: apicron.Cron, CronExpression: "*/15 * * * * *", StartAt: &start, EndAt: &end})
		h.runUntil(t0.Add(5 * time.Minute))

		if got := scheduledOffsets(h.runs(capped.ID)); !equalDurations(got, []time.Duration{0, 10 * time.Second, 20 * time.Second}) {
			t.Errorf("max_runs 3 fired at %v", got)
		}
		c := h.reload(capped.ID)
		wantStopped(t, c, apicron.StoppedMaxRuns)
		if c.RunCount != 3 {
			t.Errorf("run_count %d, want 3", c.RunCount)
		}
		want := []time.Duration{60 * time.Second, 70 * time.Second, 80 * time.Second, 90 * time.Second}
		if got := scheduledOffsets(h.runs(boxed.ID)); !equalDurations(got, want) {
			t.Errorf("interval within [60 s, 100 s) fired at %v, want %v", got, want)
		}
		wantStopped(t, h.reload(boxed.ID), apicron.StoppedEndAt)
		want = []time.Duration{60 * time.Second, 75 * time.Second, 90 * time.Second}
		if got := scheduledOffsets(h.runs(cron.ID)); !equalDurations(got, want) {
			t.Errorf("cron within [60 s, 100 s) fired at %v, want %v", got, want)
		}
		wantStopped(t, h.reload(cron.ID), apicron.StoppedEndAt)
	})
}

// TestScheduler_MaxRunsSkipNotCounted: an occurrence skipped because a run
// is in flight is no run: a schedule with max_runs 2 whose first run
// outlasts several occurrences still makes its second run.
func TestScheduler_MaxRunsSkipNotCounted(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		gate := newGatedExecutor(clock)
		h := newHarness(t, driver, gate, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, MaxRuns: ptr(2)})
		h.clock.Set(t0)
		h.s.Step(h.ctx, t0)
		gate.awaitStarted(t, 1)
		for _, d := range []time.Duration{10, 20, 30} {
			h.clock.Set(t0.Add(d * time.Second))
			h.s.Step(h.ctx, t0.Add(d*time.Second)) // skipped: the first is in flight
		}
		close(gate.release)
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.s.Flush(h.ctx); err != nil {
			t.Fatal(err)
		}
		if got := h.reload(s.ID); got.Status != apicron.Active || got.RunCount != 1 {
			t.Fatalf("after three skips: %s (%s), run_count %d; want ACTIVE with 1", got.Status, got.StoppedReason, got.RunCount)
		}
		h.clock.Set(t0.Add(40 * time.Second))
		h.runUntil(t0.Add(2 * time.Minute))
		if got := scheduledOffsets(h.runs(s.ID)); !equalDurations(got, []time.Duration{0, 40 * time.Second}) {
			t.Errorf("fired at %v, want [0s 40s]", got)
		}
		wantStopped(t, h.reload(s.ID), apicron.StoppedMaxRuns)
	})
}

// TestScheduler_Jitter: each occurrence leaves at its jittered time, the
// run keeping the nominal scheduled_at and recording the jitter, which is
// Jitter(schedule, occurrence): the same whoever computes it.
func TestScheduler_Jitter(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10, JitterSeconds: 5})
		h.runUntil(t0.Add(10 * time.Minute))
		runs := h.runs(s.ID)
		if len(runs) != 60 {
			t.Fatalf("%d runs, want 60", len(runs))
		}
		distinct := map[time.Duration]bool{}
		for i, r := range runs {
			if want := t0.Add(time.Duration(i) * 10 * time.Second); !r.ScheduledAt.Equal(want) {
				t.Fatalf("run %d scheduled at %s, want the nominal %s", i, r.ScheduledAt, want)
			}
			want := apicron.Jitter(s.ID, r.ScheduledAt, 5)
			if r.Jitter != want || r.Jitter < 0 || r.Jitter >= 5*time.Second {
				t.Fatalf("run %d jitter %s, want %s in [0, 5s)", i, r.Jitter, want)
			}
			if !r.StartedAt.Equal(r.ScheduledAt.Add(r.Jitter)) {
				t.Errorf("run %d started at %s, want scheduled_at + jitter %s", i, r.StartedAt, r.ScheduledAt.Add(r.Jitter))
			}
			if r.Missed != 0 {
				t.Errorf("run %d coalesced %d", i, r.Missed)
			}
			distinct[r.Jitter] = true
		}
		if len(distinct) < 50 {
			t.Errorf("only %d distinct jitters in 60 runs", len(distinct))
		}
	})
}

// TestScheduler_PauseUntil: a pause with until resumes by itself then, on
// its grid, with no run while paused and its reason cleared.
func TestScheduler_PauseUntil(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHarness(t, driver, nil, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 10})
		h.runUntil(t0.Add(15 * time.Second))
		until := t0.Add(45 * time.Second)
		p, err := h.db.PauseSchedule(h.ctx, s.ID, apicron.PauseRequest{Reason: "maintenance", Until: &until})
		if err != nil {
			t.Fatal(err)
		}
		if p.PauseReason != "maintenance" || p.PausedUntil == nil || !p.PausedUntil.Equal(until) {
			t.Fatalf("paused: reason %q until %v", p.PauseReason, p.PausedUntil)
		}
		h.s.Changed(s.ID)
		h.runUntil(t0.Add(81 * time.Second))
		want := []time.Duration{0, 10 * time.Second, 50 * time.Second, 60 * time.Second, 70 * time.Second, 80 * time.Second}
		if got := scheduledOffsets(h.runs(s.ID)); !equalDurations(got, want) {
			t.Errorf("fired at %v, want %v", got, want)
		}
		got := h.reload(s.ID)
		if got.Status != apicron.Active || got.PauseReason != "" || got.PausedUntil != nil {
			t.Errorf("after until: %s, reason %q, until %v; want ACTIVE with neither", got.Status, got.PauseReason, got.PausedUntil)
		}
		if e := h.lastEvent(s.ID); e.Kind != apicron.EventResumed || e.Actor != apicron.ActorEngine || e.Detail["automatic"] != true ||
			e.Detail["paused_until"] != until.Format(apicron.TimeFormat) {
			t.Errorf("last event %+v, want resumed automatically at paused_until by the engine", e)
		}
	})
}

// TestScheduler_ManualTrigger: a manual run runs at once with trigger
// manual, is refused while a run of the schedule is in flight unless
// forced, and leaves the schedule's timetable as it was.
func TestScheduler_ManualTrigger(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		gate := newGatedExecutor(clock)
		h := newHarness(t, driver, gate, 10)
		s := h.schedule(&apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 3600})
		h.s.Step(h.ctx, t0) // the first occurrence, in flight behind the gate
		gate.awaitStarted(t, 1)
		h.clock.Set(t0.Add(time.Minute))
		if _, err := h.db.TriggerRun(h.ctx, s.ID, false); apicron.ErrorCode(err) != apicron.ECONFLICT {
			t.Fatalf("trigger while a run is in flight: %v, want a conflict", err)
		}
		job, err := h.db.TriggerRun(h.ctx, s.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		h.s.Submit(job)
		gate.awaitStarted(t, 1)
		close(gate.release)
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.s.Flush(h.ctx); err != nil {
			t.Fatal(err)
		}
		h.clock.Set(t0.Add(2 * time.Minute))
		job2, err := h.db.TriggerRun(h.ctx, s.ID, false)
		if err != nil {
			t.Fatalf("trigger with nothing in flight: %v", err)
		}
		h.s.Submit(job2)
		if err := h.s.Wait(h.ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.s.Flush(h.ctx); err != nil {
			t.Fatal(err)
		}
		runs := h.runs(s.ID)
		if len(runs) != 3 {
			t.Fatalf("%d runs, want 3", len(runs))
		}
		for i, want := range []apicron.Trigger{apicron.TriggerSchedule, apicron.TriggerManual, apicron.TriggerManual} {
			if runs[i].Trigger != want || runs[i].Status != apicron.Success {
				t.Errorf("run %d: trigger %s status %s, want %s SUCCESS", i, runs[i].Trigger, runs[i].Status, want)
			}
		}
		if !runs[1].ScheduledAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("manual run scheduled at %s, want when asked", runs[1].ScheduledAt)
		}
		if got := h.reload(s.ID); got.NextRunAt == nil || !got.NextRunAt.Equal(t0.Add(time.Hour)) || got.RunCount != 1 {
			t.Errorf("next %v run_count %d, want the grid's next (%s) and 1", got.NextRunAt, got.RunCount, t0.Add(time.Hour))
		}
		if err := h.db.DeleteSchedule(h.ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.db.TriggerRun(h.ctx, s.ID, true); apicron.ErrorCode(err) != apicron.ENOTFOUND {
			t.Errorf("trigger of a deleted schedule: %v, want not found", err)
		}
		var e *apicron.Error
		_, err = h.db.TargetJob(h.ctx, 1<<40)
		if !errors.As(err, &e) || e.Code != apicron.ENOTFOUND {
			t.Errorf("job of a missing target: %v, want not found", err)
		}
	})
}
