package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// Batches of every awkward size (cut into power-of-two pieces, the first
// time as text and later through prepared statements) claim and record each
// schedule exactly once, with the counters to match.
func TestStore_BatchesOfAnySize(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		tg := mustCreateTarget(t, db)
		const n = 300 // 256 + 32 + 8 + 4
		var ids []int64
		for i := range n {
			s := mustCreateSchedule(t, db, &apicron.Schedule{Name: fmt.Sprint("s", i), TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
			ids = append(ids, s.ID)
		}
		total := 0
		for round, size := range []int{n, 1, 3, 257, n, n} {
			at := t0.Add(time.Duration(round) * time.Second)
			clock.Set(at)
			batch := ids[:size]
			res, err := db.Claim(ctx, at, at, batch, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != size {
				t.Fatalf("round %d: %d results for %d schedules", round, len(res), size)
			}
			var results []apicron.RunResult
			for i, r := range res {
				if r.ScheduleID != batch[i] || r.Job == nil || !r.Job.ScheduledAt.Equal(at) || !r.Next.Equal(at.Add(time.Second)) {
					t.Fatalf("round %d: result %d: %+v", round, i, r)
				}
				lat := float64(i)
				results = append(results, apicron.RunResult{RunID: r.Job.RunID, ScheduleID: r.ScheduleID,
					StartedAt: at, FinishedAt: at, Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat},
					Attempts: []apicron.Attempt{{Number: 1, StartedAt: at, FinishedAt: at, Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}})
			}
			if err := db.Finish(ctx, results); err != nil {
				t.Fatal(err)
			}
			total += size
			// Schedules left out of this round are behind: move them on so
			// the next round finds every schedule due at its time.
			if rest := ids[size:]; len(rest) > 0 {
				if _, err := db.Claim(ctx, at, at, rest, func(int64) int { return 1 }); err != nil {
					t.Fatal(err)
				}
			}
		}
		runs, count, err := db.FindRuns(ctx, apicron.RunFilter{Status: ptr(apicron.Success), Limit: 1})
		if err != nil || count != total || len(runs) != 1 {
			t.Fatalf("SUCCESS runs %d (err %v), want %d", count, err, total)
		}
		m, err := db.SystemMetrics(ctx, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if m.TotalRuns != int64(total) || m.RunsByStatus[apicron.Success] != int64(total) {
			t.Fatalf("counters: %+v, want %d runs", m, total)
		}
		if want := int64(6*n - total); m.SkippedOverlap != want {
			t.Fatalf("skipped_overlap %d, want %d", m.SkippedOverlap, want)
		}
		sm, _, err := db.ScheduleMetrics(ctx, apicron.Page{Limit: n})
		if err != nil || len(sm) != n || sm[0].TotalRuns != 6 {
			t.Fatalf("schedules' metrics: %d rows (want %d), err %v", len(sm), n, err)
		}
		// Each schedule's own count: skipped in the rounds that left it out
		// (those of 1, 3 and 257 schedules), counted by pieces of any size.
		for i, m := range sm {
			var want int64
			for _, size := range []int{1, 3, 257} {
				if i >= size {
					want++
				}
			}
			if m.ScheduleID != ids[i] || m.SkippedOverlap != want {
				t.Fatalf("schedule %d (index %d): skipped_overlap %d, want %d", m.ScheduleID, i, m.SkippedOverlap, want)
			}
		}
	})
}

// With a busy function the claim trusts it, not the runs table: a busy
// schedule is skipped and counted though nothing is RUNNING, and an idle
// one fires though its previous run is still RUNNING in the table (its
// result not written yet).
func TestStore_ClaimBusyFunction(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		claim := func(at time.Time, busy bool) apicron.ClaimResult {
			t.Helper()
			res, err := db.Claim(ctx, at, at, []int64{s.ID}, func(id int64) int {
				if id == s.ID && busy {
					return 1
				}
				return 0
			})
			if err != nil {
				t.Fatal(err)
			}
			return res[0]
		}
		if r := claim(t0, true); r.Job != nil || !r.Next.Equal(t0.Add(time.Second)) {
			t.Fatalf("busy: %+v", r)
		}
		first := claim(t0.Add(time.Second), false)
		if first.Job == nil {
			t.Fatal("idle schedule did not fire")
		}
		second := claim(t0.Add(2*time.Second), false) // first still RUNNING in the table
		if second.Job == nil || second.Job.RunID == first.Job.RunID {
			t.Fatalf("second: %+v", second)
		}
		// The database's own check still sees the RUNNING rows.
		if r := mustClaim(t, db, t0.Add(3*time.Second), s.ID); r.Job != nil {
			t.Fatalf("database check fired over a RUNNING run: %+v", r.Job)
		}
		m, err := db.SystemMetrics(ctx, t0.Add(3*time.Second))
		if err != nil || m.SkippedOverlap != 2 {
			t.Fatalf("skipped_overlap %d (err %v), want 2", m.SkippedOverlap, err)
		}
	})
}
