package store_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// TestRunsPerMinute_Outcomes: the per-minute counters keep each minute's
// runs by status and its latency and lateness percentiles, merged across
// batches; an unsent run adds no lateness.
func TestRunsPerMinute_Outcomes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		ctx := context.Background()
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1,
			OverlapPolicy: apicron.OverlapAllow, MaxParallel: ptr(100)})
		// 10 runs due each second of one minute; each batch of results is
		// finished on its own.
		for i := range 10 {
			at := t0.Add(time.Duration(i) * time.Second)
			clock.Set(at)
			res := mustClaim(t, db, at, s.ID)
			if res.Job == nil {
				t.Fatalf("nothing claimed at %s", at)
			}
			late := time.Duration(i*10) * time.Millisecond // 0, 10, ..., 90 ms late
			lat := float64(100 * (i + 1))                  // 100 ... 1000 ms
			o := apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}
			switch i {
			case 7:
				o.Status, o.ErrorType = apicron.Timeout, "timeout"
			case 8:
				o.Status, o.ErrorType = apicron.Failed, apicron.ErrHTTP5xx
			}
			started := at.Add(late)
			r := apicron.RunResult{RunID: res.Job.RunID, ScheduleID: s.ID, StartedAt: started, FinishedAt: started.Add(time.Duration(lat) * time.Millisecond),
				Outcome: o, Attempts: []apicron.Attempt{{Number: 1, StartedAt: started, FinishedAt: started.Add(time.Second), Outcome: o}}}
			if i == 9 { // held back, never sent: counted, no latency, no lateness
				r = apicron.RunResult{RunID: res.Job.RunID, ScheduleID: s.ID, StartedAt: started, FinishedAt: started,
					Outcome: apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrRateLimit}}
			}
			if err := db.Finish(ctx, []apicron.RunResult{r}); err != nil {
				t.Fatal(err)
			}
		}
		list, err := db.RunsPerMinute(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("%d minutes, want 1: %+v", len(list), list)
		}
		m := list[0]
		if m.Runs != 10 || m.ByStatus[apicron.Success] != 7 || m.ByStatus[apicron.Timeout] != 1 || m.ByStatus[apicron.Failed] != 2 {
			t.Fatalf("minute %+v: want 10 runs, 7 SUCCESS, 1 TIMEOUT, 2 FAILED", m)
		}
		// The histogram's estimates are within about 5 % (its buckets grow by 10 %).
		near := func(what string, got, want float64) {
			if math.Abs(got-want) > want*0.06 {
				t.Errorf("%s = %.1f, want about %.0f", what, got, want)
			}
		}
		near("latency p50", m.Latency[0], 500)
		near("latency p99", m.Latency[2], 900)
		near("lateness p50", m.Lateness[0], 40)
		near("lateness p99", m.Lateness[2], 80)
	})
}
