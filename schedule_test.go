package apicron_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func sec(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }

func ptr[T any](v T) *T { return &v }

func TestIntervalGrid(t *testing.T) {
	g := apicron.IntervalGrid{Anchor: t0, Every: 10 * time.Second}
	cases := []struct {
		name string
		got  time.Time
		want time.Time
	}{
		{"next before anchor", g.Next(sec(-5)), t0},
		{"next at anchor is strictly after", g.Next(t0), sec(10)},
		{"next mid-interval", g.Next(sec(15)), sec(20)},
		{"last before anchor", g.Last(sec(-1)), time.Time{}},
		{"last on a point", g.Last(sec(20)), sec(20)},
		{"last mid-interval", g.Last(sec(29.9)), sec(20)},
	}
	for _, c := range cases {
		if !c.got.Equal(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := g.Count(sec(0), sec(100)); n != 10 {
		t.Errorf("count [0,100) = %d, want 10", n)
	}
	if n := g.Count(sec(5), sec(25)); n != 2 {
		t.Errorf("count [5,25) = %d, want 2", n)
	}
	w := apicron.IntervalGrid{Anchor: t0, Every: 10 * time.Second, Until: sec(300)}
	if n := w.Count(t0, sec(1000)); n != 30 {
		t.Errorf("window 300 s at 10 s has %d occurrences, want 30", n)
	}
	if got := w.Next(sec(290)); !got.IsZero() {
		t.Errorf("window has an occurrence after its last: %v", got)
	}
	if got := w.Last(sec(500)); !got.Equal(sec(290)) {
		t.Errorf("window last = %v, want 290 s", got)
	}
}

func newWindow(interval, duration int) *apicron.Schedule {
	s := &apicron.Schedule{Name: "w", TargetID: 1, Type: apicron.Window, IntervalSeconds: interval, DurationSeconds: ptr(duration)}
	s.Activate(t0)
	return s
}

// step applies a plan to s as the store would.
func step(s *apicron.Schedule, now, until time.Time) apicron.Claim {
	c := s.Plan(now, until)
	if c.Stop {
		s.Stop(apicron.StoppedWindowElapsed)
	} else if c.Fire {
		s.NextRunAt = c.Next
	}
	return c
}

func TestSchedule_PlanWindow(t *testing.T) {
	s := newWindow(10, 300)
	var fired []time.Time
	for now := t0; now.Before(sec(400)); now = now.Add(time.Second) {
		if c := step(s, now, now); c.Fire {
			fired = append(fired, c.ScheduledAt)
		}
		if s.Status == apicron.Stopped {
			if !now.Equal(sec(300)) {
				t.Fatalf("stopped at %v, want at 300 s", now.Sub(t0))
			}
			break
		}
	}
	if len(fired) != 30 || !fired[29].Equal(sec(290)) {
		t.Fatalf("fired %d times, last at %v; want 30, last at 290 s", len(fired), fired[len(fired)-1].Sub(t0))
	}
	if s.EndsAt == nil || !s.EndsAt.Equal(sec(300)) {
		t.Fatalf("a stopped window should keep its end, got %v", s.EndsAt)
	}
}

func TestSchedule_PlanAhead(t *testing.T) {
	s := &apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 1}
	s.Activate(t0)
	step(s, t0, t0)
	// 50 ms ahead of 1 s the occurrence at 1 s is taken exactly, nothing missed.
	c := step(s, sec(0.95), sec(1))
	if !c.Fire || !c.ScheduledAt.Equal(sec(1)) || c.Missed != 0 || !c.Next.Equal(sec(2)) {
		t.Fatalf("ahead: %+v", c)
	}
	if c := s.Plan(sec(1.5), sec(1.55)); c.Fire {
		t.Fatalf("fired before its time: %+v", c)
	}
	// A window parked at its end stops only once its end is within reach.
	w := newWindow(1, 2)
	step(w, t0, t0)
	step(w, sec(1), sec(1))
	if c := w.Plan(sec(1.5), sec(1.55)); c.Stop || c.Fire {
		t.Fatalf("window stopped early: %+v", c)
	}
	if c := w.Plan(sec(1.96), sec(2.01)); !c.Stop {
		t.Fatalf("window not stopped at its end: %+v", c)
	}
}

func TestSchedule_PlanCoalescesMisfires(t *testing.T) {
	s := &apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 60}
	s.Activate(t0)
	step(s, t0, t0)
	c := step(s, sec(60*60+30), sec(60*60+30)) // down for an hour
	if !c.Fire || !c.ScheduledAt.Equal(sec(3600)) || c.Missed != 59 || !c.Next.Equal(sec(3660)) {
		t.Fatalf("coalesce: %+v", c)
	}
	// A window whose end passed during the downtime stops without firing.
	w := newWindow(10, 60)
	step(w, t0, t0)
	c = step(w, sec(500), sec(500))
	if !c.Stop || c.Fire || c.Missed != 5 {
		t.Fatalf("window after downtime: %+v", c)
	}
}

func TestSchedule_PauseResumeKeepsRemaining(t *testing.T) {
	s := newWindow(10, 300)
	s.Pause(sec(120))
	if s.Status != apicron.Paused || *s.RemainingMs != 180_000 || s.NextRunAt != nil {
		t.Fatalf("paused: %+v", s)
	}
	s.Resume(sec(1000))
	if !s.EndsAt.Equal(sec(1180)) || !s.NextRunAt.Equal(sec(1000)) || s.RemainingMs != nil {
		t.Fatalf("resumed: ends %v next %v", s.EndsAt.Sub(t0), s.NextRunAt.Sub(t0))
	}
}

// wantNext checks the next occurrence and the anchor, in seconds from t0.
func wantNext(t *testing.T, what string, s *apicron.Schedule, next, anchor float64) {
	t.Helper()
	if s.Status != apicron.Active || s.NextRunAt == nil || !s.NextRunAt.Equal(sec(next)) || !s.AnchorAt.Equal(sec(anchor)) {
		t.Fatalf("%s: %s, next %v, anchor %v; want ACTIVE, next %vs, anchor %vs", what, s.Status, s.NextRunAt, s.AnchorAt.Sub(t0), next, anchor)
	}
}

// Resume continues the grid: the next occurrence is the first grid point at
// or after the resume, so pausing and resuming between two occurrences adds
// no run, and an occurrence that fell while paused is not owed.
func TestSchedule_ResumeContinuesGrid(t *testing.T) {
	s := &apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 60}
	s.Activate(t0)
	step(s, t0, t0)
	for i := range 20 {
		at := 1 + 0.1*float64(i)
		s.Pause(sec(at))
		s.Resume(sec(at + 0.05))
		wantNext(t, fmt.Sprintf("resume %d", i+1), s, 60, 0)
	}
	if c := step(s, sec(3), sec(3)); c.Fire {
		t.Fatalf("fired at 3 s after pause and resume: %+v", c)
	}
	// Paused across the occurrence at 60 s: it is not owed.
	s.Pause(sec(59))
	s.Resume(sec(61))
	wantNext(t, "resume past an occurrence", s, 120, 0)
	if c := step(s, sec(61), sec(61)); c.Fire {
		t.Fatalf("fired the occurrence missed while paused: %+v", c)
	}
	// Resumed on the grid: it fires at once, nothing missed.
	s.Pause(sec(100))
	s.Resume(sec(120))
	if c := step(s, sec(120), sec(120)); !c.Fire || !c.ScheduledAt.Equal(sec(120)) || c.Missed != 0 {
		t.Fatalf("resume on the grid: %+v", c)
	}
}

// A schedule paused before it ever fired resumes on the grid of its
// creation: its first occurrence, missed while paused, is not owed; resumed
// at that same instant it fires at once.
func TestSchedule_ResumeBeforeFirstRun(t *testing.T) {
	s := &apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 60}
	s.Activate(t0)
	s.Pause(t0)
	s.Resume(sec(5))
	wantNext(t, "resume later", s, 60, 0)
	s.Pause(sec(6))
	s.Resume(sec(60))
	wantNext(t, "resume on the first grid point after", s, 60, 0)
	u := &apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 60}
	u.Activate(t0)
	u.Pause(t0)
	u.Resume(t0)
	wantNext(t, "resume at once", u, 0, 0)
}

// An interval changed while paused starts from the next occurrence the old
// grid would have had after the change, as for an ACTIVE schedule the next
// occurrence already planned; resume continues from there.
func TestSchedule_ResumeAfterIntervalChange(t *testing.T) {
	paused := func() *apicron.Schedule {
		s := &apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 60}
		s.Activate(t0)
		step(s, t0, t0)
		step(s, sec(60), sec(60))
		s.Pause(sec(90))
		apicron.ScheduleUpdate{IntervalSeconds: ptr(25)}.Apply(s, sec(100))
		if !s.AnchorAt.Equal(sec(120)) || s.NextRunAt != nil {
			t.Fatalf("changed while paused: anchor %v, next %v; want 120 s, none", s.AnchorAt.Sub(t0), s.NextRunAt)
		}
		return s
	}
	s := paused()
	s.Resume(sec(110))
	wantNext(t, "resume before the new anchor", s, 120, 120)
	if c := step(s, sec(120), sec(120)); !c.Fire || !c.Next.Equal(sec(145)) {
		t.Fatalf("after resume: %+v", c)
	}
	s = paused()
	s.Resume(sec(130))
	wantNext(t, "resume after the new anchor", s, 145, 120)
}

// A WINDOW resumes with the time it had left from the resume, on its grid;
// resumed where its grid has no point before its new end, it waits there
// and stops without firing.
func TestSchedule_ResumeWindow(t *testing.T) {
	w := newWindow(10, 300)
	step(w, t0, t0)
	w.Pause(sec(95)) // 205 s left; the next occurrence was 100 s
	w.Resume(sec(1003))
	if !w.EndsAt.Equal(sec(1208)) {
		t.Fatalf("ends at %v, want 1208 s", w.EndsAt.Sub(t0))
	}
	wantNext(t, "window resumed", w, 1010, 0)
	var fired []time.Time
	for now := sec(1003); w.Status == apicron.Active; now = now.Add(time.Second) {
		if c := step(w, now, now); c.Fire {
			fired = append(fired, c.ScheduledAt)
		}
		if w.Status == apicron.Stopped && !now.Equal(sec(1208)) {
			t.Fatalf("stopped at %v, want 1208 s", now.Sub(t0))
		}
	}
	if len(fired) != 20 || !fired[0].Equal(sec(1010)) || !fired[19].Equal(sec(1200)) {
		t.Fatalf("fired %d times (%v .. %v), want 20, 1010 s .. 1200 s", len(fired), fired[0].Sub(t0), fired[len(fired)-1].Sub(t0))
	}

	w = newWindow(60, 100)
	step(w, t0, t0)
	step(w, sec(60), sec(60)) // no occurrence left before 100 s: parked at the end
	w.Pause(sec(90))          // 10 s left
	w.Resume(sec(1000))       // the grid's next point, 1020 s, is past the new end, 1010 s
	wantNext(t, "window resumed past its grid", w, 1010, 0)
	if c := step(w, sec(1005), sec(1005)); c.Fire || c.Stop {
		t.Fatalf("before its end: %+v", c)
	}
	if c := step(w, sec(1010), sec(1010)); c.Fire || !c.Stop || c.Missed != 0 || w.Status != apicron.Stopped {
		t.Fatalf("at its end: %+v, %s", c, w.Status)
	}
}

func TestSchedule_UpdateInterval(t *testing.T) {
	s := &apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 10}
	s.Activate(t0)
	step(s, t0, t0)
	apicron.ScheduleUpdate{IntervalSeconds: ptr(30)}.Apply(s, sec(3))
	if !s.NextRunAt.Equal(sec(10)) || !s.AnchorAt.Equal(sec(10)) {
		t.Fatalf("next %v anchor %v", s.NextRunAt.Sub(t0), s.AnchorAt.Sub(t0))
	}
	step(s, sec(10), sec(10))
	if !s.NextRunAt.Equal(sec(40)) {
		t.Fatalf("after the new interval next is %v, want 40 s", s.NextRunAt.Sub(t0))
	}
}

func TestSchedule_Validate(t *testing.T) {
	long := strings.Repeat("n", apicron.MaxNameLength+1)
	cases := []struct {
		s     apicron.Schedule
		field string
	}{
		{apicron.Schedule{Name: "", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 1}, "name"},
		{apicron.Schedule{Name: long, TargetID: 1, Type: apicron.Interval, IntervalSeconds: 1}, "name"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: "CRONISH", IntervalSeconds: 1}, "schedule_type"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 0}, "interval_seconds"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Interval, IntervalSeconds: apicron.MaxIntervalSeconds + 1}, "interval_seconds"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 5, DurationSeconds: ptr(10)}, "duration_seconds"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Window, IntervalSeconds: 5}, "duration_seconds"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Window, IntervalSeconds: 5, DurationSeconds: ptr(4)}, "duration_seconds"},
		{apicron.Schedule{Name: "a", TargetID: 0, Type: apicron.Interval, IntervalSeconds: 5}, "target_id"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 5, KeepRuns: ptr(0)}, "keep_runs"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 5, KeepRuns: ptr(-1)}, "keep_runs"},
		{apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 5, KeepRuns: ptr(apicron.MaxKeepRuns + 1)}, "keep_runs"},
	}
	for _, c := range cases {
		err := c.s.Validate()
		if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != c.field {
			t.Errorf("%+v: got %v, want EINVALID on %s", c.s, err, c.field)
		}
	}
	for _, keep := range []*int{nil, ptr(1), ptr(apicron.MaxKeepRuns)} {
		s := apicron.Schedule{Name: "a", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 5, KeepRuns: keep}
		if err := s.Validate(); err != nil {
			t.Errorf("keep_runs %v: %v", keep, err)
		}
	}
}

func TestTarget_Validate(t *testing.T) {
	ok := func() apicron.Target {
		return apicron.Target{Name: "a", URL: "https://example.com/x?run={{.RunID}}", Method: "POST", Headers: map[string]string{"X-Id": "{{.ScheduleID}}"}}
	}
	cases := []struct {
		mod   func(*apicron.Target)
		field string
	}{
		{func(t *apicron.Target) { t.URL = "example.com/x" }, "url"},
		{func(t *apicron.Target) { t.URL = "ftp://example.com/" }, "url"},
		{func(t *apicron.Target) { t.URL = "http:///nohost" }, "url"},
		{func(t *apicron.Target) { t.URL = "https://" + strings.Repeat("a", 2048) + ".com" }, "url"},
		{func(t *apicron.Target) { t.URL = "https://x/{{.Nope}}" }, "url"},
		{func(t *apicron.Target) { t.Method = "TRACE" }, "method"},
		{func(t *apicron.Target) { t.Headers = map[string]string{"Bad Header": "v"} }, "headers"},
		{func(t *apicron.Target) { t.Headers = map[string]string{"X-A": "a\r\nInjected: 1"} }, "headers.X-A"},
		{func(t *apicron.Target) { t.Headers = map[string]string{"X-A": "a\x00"} }, "headers.X-A"},
		{func(t *apicron.Target) { t.BodyTemplate = "{{.RunID" }, "body_template"},
		{func(t *apicron.Target) { t.BodyTemplate = "{{.Unknown}}" }, "body_template"},
		{func(t *apicron.Target) { t.TimeoutSeconds = ptr(0.0) }, "timeout_seconds"},
		{func(t *apicron.Target) { t.TimeoutSeconds = ptr(math.Inf(1)) }, "timeout_seconds"},
		{func(t *apicron.Target) { t.MaxRetries = ptr(11) }, "max_retries"},
		{func(t *apicron.Target) { t.Name = " " }, "name"},
	}
	base := ok()
	base.Normalize()
	if err := base.Validate(); err != nil {
		t.Fatalf("valid target refused: %v", err)
	}
	for i, c := range cases {
		tg := ok()
		c.mod(&tg)
		tg.Normalize()
		err := tg.Validate()
		if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != c.field {
			t.Errorf("case %d: got %v, want EINVALID on %s", i, err, c.field)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h apicron.Histogram
	for i := 1; i <= 1000; i++ {
		h.Add(float64(i))
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500}, {0.95, 950}, {0.99, 990}} {
		got := h.Quantile(c.q)
		if math.Abs(got-c.want)/c.want > 0.06 {
			t.Errorf("p%v = %v, want within 6%% of %v", c.q*100, got, c.want)
		}
	}
	round := apicron.DecodeHistogram(h.Encode())
	if round != h {
		t.Fatal("histogram does not survive encode/decode")
	}
}

func TestSchedule_ValidateCron(t *testing.T) {
	cron := func(expr, zone string) apicron.Schedule {
		return apicron.Schedule{Name: "c", TargetID: 1, Type: apicron.Cron, CronExpression: expr, Timezone: zone}
	}
	for _, c := range []struct {
		s     apicron.Schedule
		field string
	}{
		{cron("", "UTC"), "cron_expression"},
		{cron("61 * * * *", "UTC"), "cron_expression"},
		{cron("0 9 * * *", "Mars/Olympus"), "timezone"},
		{func() apicron.Schedule { s := cron("0 9 * * *", "UTC"); s.IntervalSeconds = 5; return s }(), "interval_seconds"},
		{func() apicron.Schedule { s := cron("0 9 * * *", "UTC"); s.DurationSeconds = ptr(5); return s }(), "duration_seconds"},
		{apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 5, CronExpression: "* * * * *"}, "cron_expression"},
		{apicron.Schedule{Name: "i", TargetID: 1, Type: apicron.Interval, IntervalSeconds: 5, Timezone: "Nowhere"}, "timezone"},
	} {
		if err := c.s.Validate(); apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != c.field {
			t.Errorf("%+v: got %v, want EINVALID on %s", c.s, err, c.field)
		}
	}
	if s := cron("0 9 * * MON-FRI", "Europe/Paris"); s.Validate() != nil {
		t.Errorf("valid CRON schedule refused: %v", s.Validate())
	}
}

func TestSchedule_CronLifecycle(t *testing.T) {
	// Created at 08:59:30.250 in Paris (UTC+1 in January): the first occurrence is 09:00 local.
	now := time.Date(2026, 1, 5, 7, 59, 30, 250e6, time.UTC)
	s := &apicron.Schedule{Name: "c", TargetID: 1, Type: apicron.Cron, CronExpression: "0 9 * * *", Timezone: "Europe/Paris"}
	s.Activate(now)
	nine := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	if s.NextRunAt == nil || !s.NextRunAt.Equal(nine) {
		t.Fatalf("next after create = %v, want %s", s.NextRunAt, nine)
	}
	c := s.Plan(nine, nine.Add(50*time.Millisecond))
	if !c.Fire || !c.ScheduledAt.Equal(nine) || c.Next == nil || !c.Next.Equal(nine.Add(24*time.Hour)) {
		t.Fatalf("plan at 09:00: %+v", c)
	}
	// Paused over two occurrences, resumed between: they are not owed.
	s.NextRunAt = c.Next
	s.Pause(nine.Add(time.Hour))
	s.Resume(nine.Add(49 * time.Hour))
	if want := nine.Add(72 * time.Hour); !s.NextRunAt.Equal(want) {
		t.Fatalf("next after resume = %s, want %s", s.NextRunAt, want)
	}
	// A new expression and zone plan from now.
	expr, zone := "30 6 * * *", "America/New_York"
	apicron.ScheduleUpdate{CronExpression: &expr, Timezone: &zone}.Apply(s, nine.Add(49*time.Hour))
	if want := time.Date(2026, 1, 7, 11, 30, 0, 0, time.UTC); !s.NextRunAt.Equal(want) {
		t.Fatalf("next after update = %s, want %s", s.NextRunAt, want)
	}
	// Preview: five occurrences, in order, the first the planned one.
	up := s.Upcoming(nine.Add(49*time.Hour), 5)
	if len(up) != 5 || !up[0].At.Equal(*s.NextRunAt) || !up[4].At.Equal(s.NextRunAt.Add(96*time.Hour)) {
		t.Fatalf("upcoming %v", up)
	}
}

func TestSchedule_UpcomingMarksDST(t *testing.T) {
	s := &apicron.Schedule{Name: "c", TargetID: 1, Type: apicron.Cron, CronExpression: "30 2 * * *", Timezone: "America/New_York"}
	s.Activate(time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC))
	up := s.Upcoming(time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), 3)
	if len(up) != 3 || up[0].DST != "" || up[1].DST != apicron.DSTGap || up[2].DST != "" ||
		!up[1].At.Equal(time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("upcoming through the spring gap: %+v", up)
	}
	w := newWindow(10, 25)
	w.Activate(t0)
	if up := w.Upcoming(t0, 10); len(up) != 3 || !up[2].At.Equal(sec(20)) {
		t.Fatalf("window upcoming %v, want 0s 10s 20s", up)
	}
	w.Stop(apicron.StoppedWindowElapsed)
	if up := w.Upcoming(t0, 10); len(up) != 0 {
		t.Fatalf("stopped schedule upcoming %v", up)
	}
}
