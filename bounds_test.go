package apicron

import (
	"testing"
	"time"
)

func TestSchedule_ValidateBoundsAndOnce(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	later := at.Add(time.Hour)
	cases := []struct {
		name  string
		s     Schedule
		field string // "" valid
	}{
		{"once", Schedule{Type: Once, RunAt: &at}, ""},
		{"once without run_at", Schedule{Type: Once}, "run_at"},
		{"once with an interval", Schedule{Type: Once, RunAt: &at, IntervalSeconds: 10}, "interval_seconds"},
		{"once with a cron expression", Schedule{Type: Once, RunAt: &at, CronExpression: "* * * * *"}, "cron_expression"},
		{"once with start_at", Schedule{Type: Once, RunAt: &at, StartAt: &at}, "start_at"},
		{"once with max_runs", Schedule{Type: Once, RunAt: &at, MaxRuns: new(2)}, "max_runs"},
		{"run_at on an interval", Schedule{Type: Interval, IntervalSeconds: 10, RunAt: &at}, "run_at"},
		{"run_at on a cron", Schedule{Type: Cron, CronExpression: "* * * * *", RunAt: &at}, "run_at"},
		{"bounds", Schedule{Type: Interval, IntervalSeconds: 10, StartAt: &at, EndAt: &later}, ""},
		{"end before start", Schedule{Type: Interval, IntervalSeconds: 10, StartAt: &later, EndAt: &at}, "end_at"},
		{"end at start", Schedule{Type: Cron, CronExpression: "* * * * *", StartAt: &at, EndAt: &at}, "end_at"},
		{"max_runs 0", Schedule{Type: Interval, IntervalSeconds: 10, MaxRuns: new(0)}, "max_runs"},
		{"max_runs too large", Schedule{Type: Interval, IntervalSeconds: 10, MaxRuns: new(MaxRunsLimit + 1)}, "max_runs"},
		{"jitter", Schedule{Type: Interval, IntervalSeconds: 10, JitterSeconds: 10}, ""},
		{"jitter beyond the interval", Schedule{Type: Interval, IntervalSeconds: 10, JitterSeconds: 11}, "jitter_seconds"},
		{"negative jitter", Schedule{Type: Cron, CronExpression: "* * * * *", JitterSeconds: -1}, "jitter_seconds"},
		{"jitter too large", Schedule{Type: Cron, CronExpression: "@daily", JitterSeconds: MaxJitterSeconds + 1}, "jitter_seconds"},
		{"negative grace", Schedule{Type: Once, RunAt: &at, MisfireGraceSeconds: new(-1)}, "misfire_grace_seconds"},
	}
	for _, c := range cases {
		c.s.Name, c.s.TargetID = "s", 1
		err := c.s.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if e, ok := err.(*Error); !ok || e.Code != EINVALID || e.Field != c.field {
			t.Errorf("%s: got %v, want invalid %s", c.name, err, c.field)
		}
	}
}

func TestSchedule_ValidateAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	past := now.Add(-90 * time.Second)
	once := Schedule{Type: Once, RunAt: &past}
	if err := once.ValidateAt(now); ErrorCode(err) != EINVALID {
		t.Errorf("run_at 90 s ago without grace: %v, want invalid", err)
	}
	once.MisfireGraceSeconds = new(60)
	if err := once.ValidateAt(now); ErrorCode(err) != EINVALID {
		t.Errorf("run_at 90 s ago, 60 s grace: %v, want invalid", err)
	}
	once.MisfireGraceSeconds = new(120)
	if err := once.ValidateAt(now); err != nil {
		t.Errorf("run_at 90 s ago, 120 s grace: %v", err)
	}
	once.Activate(now)
	if once.Status != Active || once.NextRunAt == nil || !once.NextRunAt.Equal(past) {
		t.Errorf("activated: %s next %v, want ACTIVE at run_at (due at once)", once.Status, once.NextRunAt)
	}
	end := now.Add(-time.Second)
	iv := Schedule{Type: Interval, IntervalSeconds: 10, EndAt: &end}
	if err := iv.ValidateAt(now); ErrorCode(err) != EINVALID {
		t.Errorf("end_at in the past: %v, want invalid", err)
	}
}

func TestSchedule_OncePlan(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := now.Add(time.Hour)
	s := Schedule{ID: 1, Type: Once, RunAt: &at}
	s.Activate(now)
	if c := s.Plan(now, now); c.Fire {
		t.Fatalf("fired an hour early: %+v", c)
	}
	c := s.Plan(at.Add(time.Second), at.Add(time.Second))
	if !c.Fire || !c.ScheduledAt.Equal(at) || !c.Stop || c.StopReason != StoppedRanOnce || c.Missed != 0 {
		t.Errorf("at run_at: %+v, want fire at %s and stop (ran_once)", c, at)
	}
	// Paused past its run_at and resumed: not owed, it stops.
	s.Pause(now)
	s.Resume(at.Add(time.Minute))
	if s.Status != Stopped || s.StoppedReason != StoppedOnceMissed {
		t.Errorf("resumed after run_at: %s (%s), want STOPPED once_missed: it never ran", s.Status, s.StoppedReason)
	}
}

func TestSchedule_StartAtAnchorsTheGrid(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(7 * time.Minute)
	d := 300
	w := Schedule{Type: Window, IntervalSeconds: 60, DurationSeconds: &d, StartAt: &start}
	w.Activate(now)
	if !w.AnchorAt.Equal(start) || !w.NextRunAt.Equal(start) || !w.EndsAt.Equal(start.Add(5*time.Minute)) {
		t.Errorf("anchor %s next %s ends %s; want the window to open at start_at %s", w.AnchorAt, w.NextRunAt, w.EndsAt, start)
	}
	c := Schedule{Type: Cron, CronExpression: "0 * * * *", StartAt: &start}
	c.Activate(now)
	if want := now.Add(time.Hour); !c.NextRunAt.Equal(want) {
		t.Errorf("cron next %s, want its first occurrence after start_at, %s", c.NextRunAt, want)
	}
}

func TestSchedule_UpdateBoundsReplans(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := Schedule{Type: Interval, IntervalSeconds: 60}
	s.Activate(now)
	start := now.Add(10*time.Minute + 30*time.Second)
	sp := &start
	ScheduleUpdate{StartAt: &sp}.Apply(&s, now.Add(time.Second))
	if want := now.Add(11 * time.Minute); !s.NextRunAt.Equal(want) {
		t.Errorf("after start_at: next %s, want the grid's first point at or after it, %s", s.NextRunAt, want)
	}
	end := now.Add(11 * time.Minute)
	ep := &end
	ScheduleUpdate{EndAt: &ep}.Apply(&s, now.Add(time.Second))
	if s.Status != Stopped || s.StoppedReason != StoppedEndAt {
		t.Errorf("end_at before the next occurrence: %s (%s), want STOPPED end_at_reached", s.Status, s.StoppedReason)
	}
	m := Schedule{Type: Interval, IntervalSeconds: 60, RunCount: 5}
	m.Activate(now)
	mp := new(5)
	ScheduleUpdate{MaxRuns: &mp}.Apply(&m, now)
	if m.Status != Stopped || m.StoppedReason != StoppedMaxRuns {
		t.Errorf("max_runs lowered to run_count: %s (%s), want STOPPED", m.Status, m.StoppedReason)
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	if Jitter(1, at, 0) != 0 {
		t.Error("no jitter_seconds, yet a jitter")
	}
	const n = 10_000
	buckets := make([]int, 10)
	for i := range n {
		occ := at.Add(time.Duration(i) * time.Minute)
		j := Jitter(42, occ, 10)
		if j != Jitter(42, occ, 10) {
			t.Fatal("not deterministic")
		}
		if j < 0 || j >= 10*time.Second || j%time.Millisecond != 0 {
			t.Fatalf("jitter %s out of [0, 10s) or below a millisecond", j)
		}
		buckets[j/time.Second]++
	}
	for i, b := range buckets { // each second expects 1,000; a fair hash stays well within 800..1,200
		if b < 800 || b > 1200 {
			t.Errorf("second %d holds %d of %d jitters: not spread", i, b, n)
		}
	}
	if Jitter(1, at, 3600) == Jitter(2, at, 3600) && Jitter(1, at.Add(time.Second), 3600) == Jitter(2, at.Add(time.Second), 3600) {
		t.Error("two schedules share their jitters")
	}
}

func TestBounded(t *testing.T) {
	t.Parallel()
	a := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	g := IntervalGrid{Anchor: a, Every: 10 * time.Second}
	b := bounded{Timetable: g, Start: a.Add(25 * time.Second), End: a.Add(60 * time.Second)}
	if got := b.Next(a); !got.Equal(a.Add(30 * time.Second)) {
		t.Errorf("Next before start: %s", got)
	}
	if got := b.Next(a.Add(50 * time.Second)); !got.IsZero() {
		t.Errorf("Next at the end: %s, want none", got)
	}
	if got := b.Last(a.Add(time.Hour)); !got.Equal(a.Add(50 * time.Second)) {
		t.Errorf("Last after end: %s", got)
	}
	if got := b.Last(a.Add(20 * time.Second)); !got.IsZero() {
		t.Errorf("Last before start: %s, want none", got)
	}
	if got := b.Count(a, a.Add(time.Hour)); got != 3 {
		t.Errorf("Count %d, want 3 (30, 40, 50)", got)
	}
}

// A window paused before its start_at keeps its whole duration and, resumed
// still before it, opens there.
func TestSchedule_WindowPausedBeforeStart(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(time.Hour)
	d := 600
	w := Schedule{Type: Window, IntervalSeconds: 60, DurationSeconds: &d, StartAt: &start}
	w.Activate(now)
	w.Pause(now.Add(time.Minute))
	if *w.RemainingMs != 600_000 {
		t.Errorf("remaining %d ms, want the whole 600 s", *w.RemainingMs)
	}
	w.Resume(now.Add(2 * time.Minute))
	if !w.NextRunAt.Equal(start) || !w.EndsAt.Equal(start.Add(10*time.Minute)) {
		t.Errorf("resumed: next %s ends %s, want %s and 10 minutes later", w.NextRunAt, w.EndsAt, start)
	}
}

// A window that has not opened opens at its new start_at, whole; one with
// its max_runs lowered while paused stops when resumed.
func TestSchedule_EditsBeforeStartAndWhilePaused(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	start, later := now.Add(100*time.Second), now.Add(200*time.Second)
	d := 50
	w := Schedule{Type: Window, IntervalSeconds: 10, DurationSeconds: &d, StartAt: &start}
	w.Activate(now)
	lp := &later
	ScheduleUpdate{StartAt: &lp}.Apply(&w, now.Add(time.Second))
	if !w.NextRunAt.Equal(later) || !w.EndsAt.Equal(later.Add(50*time.Second)) || w.Status != Active {
		t.Errorf("start_at moved later: next %s ends %s (%s), want %s and 50 s after", w.NextRunAt, w.EndsAt, w.Status, later)
	}
	m := Schedule{Type: Interval, IntervalSeconds: 10, RunCount: 3}
	m.Activate(now)
	m.Pause(now)
	mp := new(3)
	ScheduleUpdate{MaxRuns: &mp}.Apply(&m, now)
	m.Resume(now.Add(time.Minute))
	if m.Status != Stopped || m.StoppedReason != StoppedMaxRuns {
		t.Errorf("max_runs lowered while paused: resumed %s (%s), want STOPPED max_runs_reached", m.Status, m.StoppedReason)
	}
}

// catch_up with a grace shorter than the jitter still runs the occurrences
// that are on time once their jitter is counted.
func TestSchedule_CatchUpWithJitter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for id := int64(1); id <= 20; id++ {
		s := &Schedule{ID: id, Type: Interval, IntervalSeconds: 10, JitterSeconds: 5, MisfirePolicy: MisfireCatchUp, MisfireGraceSeconds: new(1)}
		s.Activate(t0)
		fire := s.FireAt(t0)
		now := fire.Add(-5 * time.Millisecond) // claimed just ahead of its jittered time
		c := s.Plan(now, now.Add(50*time.Millisecond))
		if !c.Fire || !c.ScheduledAt.Equal(t0) || c.Missed != 0 {
			t.Errorf("schedule %d (jitter %s): %+v, want the on-time occurrence fired", id, fire.Sub(t0), c)
		}
	}
}
