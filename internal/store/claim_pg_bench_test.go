package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
)

// openSharedPostgres opens a shared (multi-node) store in a fresh schema, as
// a leader on PostgreSQL uses it.
func openSharedPostgres(b *testing.B, clock apicron.Clock) *store.DB {
	b.Helper()
	url := os.Getenv("APICRON_TEST_POSTGRES_URL")
	if url == "" {
		b.Skip("APICRON_TEST_POSTGRES_URL is not set; skipping the PostgreSQL claim benchmark")
	}
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() })
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	db, err := store.Open(context.Background(), store.Config{Driver: "postgres", DSN: url + sep + "search_path=" + schema,
		Clock: clock, NodeID: "bench", Shared: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkClaimPostgresShared measures a leader's claims on PostgreSQL:
// each op claims one occurrence, in transactions of `batch` schedules, and
// the runs are taken and finished outside the timer so the next round is due
// again. Report claims/s = 1e9 / ns/op.
func BenchmarkClaimPostgresShared(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			clock := &fakeClock{now: t0}
			db := openSharedPostgres(b, clock)
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
				jobs, err := db.TakeRuns(ctx, batch)
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
