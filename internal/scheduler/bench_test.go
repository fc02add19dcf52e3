package scheduler_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/promexp"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

// BenchmarkScheduler_Step measures the engine's hot path on SQLite, one
// instant at a time: a Step that claims every schedule due (one batch),
// dispatches the jobs to an executor that answers at once, and the flush
// that writes their results (Wait).
//
// The metrics=prometheus cases add the Prometheus recorder (internal/promexp)
// the service runs with, to show what counting each run costs.
func BenchmarkScheduler_Step(b *testing.B) {
	for _, c := range []struct {
		n       int
		metrics bool
	}{{100, false}, {1, false}, {100, true}, {1, true}} {
		name := fmt.Sprintf("schedules=%d", c.n)
		if c.metrics {
			name = "metrics=prometheus/" + name
		}
		n := c.n
		b.Run(name, func(b *testing.B) {
			clock := storetest.NewClock(t0)
			db := storetest.Open(b, "sqlite", clock)
			for range n {
				mustSchedule(b, db, "http://127.0.0.1:9/", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
			}
			cfg := scheduler.Config{Store: db, Executor: succeed(clock), Clock: clock, MaxConcurrent: n}
			if c.metrics {
				m, err := promexp.New(promexp.Config{})
				if err != nil {
					b.Fatal(err)
				}
				cfg.Metrics = m
			}
			s := scheduler.New(cfg)
			ctx := b.Context()
			if err := s.Load(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now := t0.Add(time.Duration(i) * time.Second)
				clock.Set(now)
				s.Step(ctx, now)
				if err := s.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}
