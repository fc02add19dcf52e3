package apicron_test

import (
	"testing"
	"time"

	"github.com/apicron/apicron"
)

var benchAnchor = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// benchSinkTime keeps results alive so the compiler cannot drop the work.
var benchSinkTime time.Time

func BenchmarkIntervalGridNext(b *testing.B) {
	for _, c := range []struct {
		name string
		grid apicron.IntervalGrid
	}{
		{"interval", apicron.IntervalGrid{Anchor: benchAnchor, Every: time.Second}},
		{"window", apicron.IntervalGrid{Anchor: benchAnchor, Every: time.Second, Until: benchAnchor.Add(24 * time.Hour)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				// Look up from points between occurrences, wrapping inside a day.
				t := benchAnchor.Add(time.Duration(i%86_000)*time.Second + 300*time.Millisecond)
				benchSinkTime = c.grid.Next(t)
			}
		})
	}
}

// BenchmarkPlan measures the decision a claim takes for one due schedule:
// on time (the common case), after a misfire (coalescing an hour of missed
// occurrences), and for a WINDOW schedule.
func BenchmarkPlan(b *testing.B) {
	newSchedule := func(typ apicron.ScheduleType) *apicron.Schedule {
		s := &apicron.Schedule{ID: 1, Name: "bench", TargetID: 1, Type: typ, IntervalSeconds: 1}
		if typ == apicron.Window {
			d := 365 * 24 * 3600
			s.DurationSeconds = &d
		}
		s.Activate(benchAnchor)
		return s
	}
	for _, c := range []struct {
		name string
		typ  apicron.ScheduleType
		late time.Duration
	}{
		{"interval-on-time", apicron.Interval, 0},
		{"interval-misfire-1h", apicron.Interval, time.Hour},
		{"window-on-time", apicron.Window, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newSchedule(c.typ)
			const lead = 50 * time.Millisecond
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				now := s.NextRunAt.Add(c.late)
				plan := s.Plan(now, now.Add(lead))
				if !plan.Fire {
					b.Fatalf("plan at %s did not fire: %+v", now, plan)
				}
				s.NextRunAt = plan.Next
			}
		})
	}
}
