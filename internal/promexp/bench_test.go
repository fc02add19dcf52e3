package promexp_test

import (
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/promexp"
)

// BenchmarkMetrics_RunFinished measures what the engine pays per run for
// the Prometheus series (a counter, two histograms), from many goroutines
// at once, without and with the schedule_id label (1,000 schedules, 100
// of them labelled).
func BenchmarkMetrics_RunFinished(b *testing.B) {
	for _, labels := range []int{0, 100} {
		b.Run(map[int]string{0: "schedule_labels=0", 100: "schedule_labels=100"}[labels], func(b *testing.B) {
			m, err := promexp.New(promexp.Config{ScheduleLabels: labels})
			if err != nil {
				b.Fatal(err)
			}
			lat := 12.5
			now := time.Now()
			job := &apicron.Job{ScheduledAt: now.Add(-3 * time.Millisecond)}
			attempts := make([]apicron.Attempt, 1)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var i int64
				for pb.Next() {
					i++
					r := apicron.RunResult{ScheduleID: i % 1000, StartedAt: now, Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat},
						Attempts: attempts}
					m.RunFinished(job, r)
				}
			})
		})
	}
}
