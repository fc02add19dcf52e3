package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// BenchmarkClaimPostgresShared measures a leader's claims on PostgreSQL:
// each op claims one occurrence, in transactions of `batch` schedules, and
// the runs are taken and finished outside the timer so the next round is due
// again. Report claims/s = 1e9 / ns/op.
func BenchmarkClaimPostgresShared(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			clock := storetest.NewClock(t0)
			db, _ := storetest.OpenShared(b, "bench", clock)
			tg := &apicron.Target{Name: "t", URL: "http://127.0.0.1:9/"}
			if err := db.CreateTarget(ctx, tg); err != nil {
				b.Fatal(err)
			}
			ids := make([]int64, batch)
			for i := range ids {
				s := &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1}
				if err := db.CreateSchedule(ctx, s); err != nil {
					b.Fatal(err)
				}
				ids[i] = s.ID
			}
			lat := 1.0
			b.ResetTimer()
			for done, round := 0, 0; done < b.N; round++ {
				now := t0.Add(time.Duration(round) * time.Second)
				res, err := db.Claim(ctx, now, now, ids, nil)
				if err != nil {
					b.Fatal(err)
				}
				done += len(res)
				b.StopTimer()
				jobs, err := db.TakeRuns(ctx, batch, 0)
				if err != nil {
					b.Fatal(err)
				}
				results := make([]apicron.RunResult, len(jobs))
				for i, j := range jobs {
					results[i] = apicron.RunResult{RunID: j.RunID, ScheduleID: j.ScheduleID,
						Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}
				}
				if err := db.Finish(ctx, results); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
