package store_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// benchBatch is how many due schedules one Claim or Finish handles in these
// benchmarks: what the engine batches when 100 schedules share an instant.
const benchBatch = 100

var benchT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// benchOpenSQLite opens a real SQLite file in b.TempDir(), configured as
// apicron runs it (WAL, one writer), with n INTERVAL schedules at 1 s, all
// first due at benchT0.
func benchOpenSQLite(b *testing.B, n int) (*store.DB, []int64) {
	b.Helper()
	ctx := context.Background()
	db := storetest.OpenDSN(b, "sqlite", storetest.NewDSN(b, "sqlite"), store.Config{Clock: storetest.NewClock(benchT0), NodeID: "bench"})
	tg := &apicron.Target{Name: "sink", URL: "http://127.0.0.1:9/hook", Method: "GET",
		Headers: map[string]string{"Authorization": "Bearer x"}}
	if err := db.CreateTarget(ctx, tg); err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		s := &apicron.Schedule{Name: fmt.Sprintf("s%d", i), TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1}
		if err := db.CreateSchedule(ctx, s); err != nil {
			b.Fatal(err)
		}
		ids[i] = s.ID
	}
	return db, ids
}

// benchClaimRound claims round's occurrence of every schedule and returns the jobs.
func benchClaimRound(b *testing.B, db *store.DB, ids []int64, round int) []*apicron.Job {
	b.Helper()
	now := benchT0.Add(time.Duration(round) * time.Second)
	res, err := db.Claim(context.Background(), now, now, ids, nil)
	if err != nil {
		b.Fatal(err)
	}
	jobs := make([]*apicron.Job, 0, len(res))
	for _, r := range res {
		if r.Job != nil {
			jobs = append(jobs, r.Job)
		}
	}
	if len(jobs) != len(ids) {
		b.Fatalf("round %d claimed %d of %d schedules", round, len(jobs), len(ids))
	}
	return jobs
}

// benchResults is what the executor reports for jobs against a fast target:
// a 200 with a small body, one attempt, the headers it keeps.
func benchResults(jobs []*apicron.Job) []apicron.RunResult {
	out := make([]apicron.RunResult, len(jobs))
	for i, j := range jobs {
		lat, fb, code, size := 1.5, 1.2, 200, int64(2)
		started := j.ScheduledAt
		finished := started.Add(2 * time.Millisecond)
		o := apicron.Outcome{Status: apicron.Success, LatencyMs: &lat, StatusCode: &code, ResponseSize: &size,
			Timings: apicron.Timings{FirstByteMs: &fb}}
		a := apicron.Attempt{RunID: j.RunID, Number: 1, StartedAt: started, FinishedAt: finished, Outcome: o}
		out[i] = apicron.RunResult{
			RunID: j.RunID, ScheduleID: j.ScheduleID, StartedAt: started, FinishedAt: finished, Outcome: o,
			Request:      apicron.RequestInfo{Method: j.Method, URL: j.URL},
			ResponseBody: "ok",
			ResponseHeaders: map[string]string{"Content-Type": "text/plain", "Content-Length": "2",
				"Date": finished.Format(http.TimeFormat)},
			Attempts: []apicron.Attempt{a},
		}
	}
	return out
}

// BenchmarkClaim measures one Claim of a batch of due schedules on SQLite:
// one transaction that advances each schedule and inserts its RUNNING run.
// batch=100 is the engine's batch when 100 schedules share an instant;
// batch=1 shows the fixed cost of a transaction, what a claim costs when
// schedules' instants are spread out. The runs are finished outside the
// timer, so every round is due again.
func BenchmarkClaim(b *testing.B) {
	for _, n := range []int{benchBatch, 1} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			db, ids := benchOpenSQLite(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				jobs := benchClaimRound(b, db, ids, i)
				b.StopTimer()
				if err := db.Finish(context.Background(), benchResults(jobs)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "claims/s")
		})
	}
}

// BenchmarkFinish measures one Finish of a batch of results on SQLite: the
// run rows, their attempts and the counters, in one transaction. The claims
// are made outside the timer.
func BenchmarkFinish(b *testing.B) {
	// schedules=10000 finishes 100 of 10,000 schedules at a time: the
	// tables are deeper and each batch's rows lie on pages of their own,
	// as at 10,000 runs/s.
	for _, c := range []struct {
		name             string
		batch, schedules int
	}{
		{fmt.Sprintf("batch=%d", benchBatch), benchBatch, benchBatch},
		{"batch=1", 1, 1},
		{"schedules=10000", benchBatch, 10000},
	} {
		b.Run(c.name, func(b *testing.B) {
			db, all := benchOpenSQLite(b, c.schedules)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				lo := (i * c.batch) % c.schedules
				results := benchResults(benchClaimRound(b, db, all[lo:lo+c.batch], i/(c.schedules/c.batch)))
				b.StartTimer()
				if err := db.Finish(ctx, results); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "results/s")
		})
	}
}
