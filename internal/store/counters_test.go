package store_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// mustRunLatencies runs s once per latency, a second apart from at, and
// returns the time after the last.
func mustRunLatencies(t *testing.T, db *store.DB, s *apicron.Schedule, at time.Time, latencies ...float64) time.Time {
	t.Helper()
	for _, l := range latencies {
		res := mustClaim(t, db, at, s.ID)
		if res.Job == nil {
			t.Fatalf("schedule %d at %v: nothing claimed", s.ID, at)
		}
		finish(t, db, res.Job, apicron.Success, l, at)
		at = at.Add(time.Second)
	}
	return at
}

// schedulePercentiles returns p50, p95 and p99 of schedule id.
func schedulePercentiles(t *testing.T, db *store.DB, id int64) [3]float64 {
	t.Helper()
	sm, _, err := db.ScheduleMetrics(context.Background(), apicron.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sm {
		if m.ScheduleID == id {
			return [3]float64{m.P50LatencyMs, m.P95LatencyMs, m.P99LatencyMs}
		}
	}
	t.Fatalf("no metrics for schedule %d", id)
	return [3]float64{}
}

// Percentiles are held within the least and the greatest latency observed:
// one run's are its latency, and a p99 estimate above the greatest is the
// greatest. Counters written before the range was kept (NULL) read as
// before, and the next result fills the range from what their histogram
// proves, so it holds their latencies too.
func TestStore_PercentilesWithinObserved(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		tg := mustCreateTarget(t, db)
		every := func(name string) *apicron.Schedule {
			return mustCreateSchedule(t, db, &apicron.Schedule{Name: name, TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		}
		one, set := every("one"), every("set")
		mustRunLatencies(t, db, one, t0, 250) // its bucket's middle is 259.95
		m, err := db.SystemMetrics(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]float64{m.P50LatencyMs, m.P95LatencyMs, m.P99LatencyMs}; got != [3]float64{250, 250, 250} {
			t.Errorf("service, one run of 250 ms: p50/p95/p99 %v", got)
		}
		if got := schedulePercentiles(t, db, one.ID); got != [3]float64{250, 250, 250} {
			t.Errorf("schedule, one run of 250 ms: p50/p95/p99 %v", got)
		}
		at := mustRunLatencies(t, db, set, t0, 10, 10, 250)
		if got := schedulePercentiles(t, db, set.ID); got != [3]float64{10.18, 250, 250} {
			t.Errorf("10, 10 and 250 ms: p50/p95/p99 %v, want 10.18 (the estimate, within range) 250 250", got)
		}

		// As written before migration 0008.
		db.Close()
		rawExec(t, driver, dsn, "UPDATE run_stats SET latency_min_ms = NULL, latency_max_ms = NULL")
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		if got := schedulePercentiles(t, db, set.ID); got != [3]float64{10.18, 259.95, 259.95} {
			t.Errorf("without a range: p50/p95/p99 %v, want the estimates 10.18 259.95 259.95", got)
		}
		if m, err = db.SystemMetrics(ctx, t0); err != nil || m.P99LatencyMs != 259.95 {
			t.Errorf("service without a range: p99 %v (err %v), want 259.95", m.P99LatencyMs, err)
		}
		mustRunLatencies(t, db, set, at, 100)
		// 10, 10, 100, 250: the range comes from the histogram's edges and
		// the new result, not from the new result alone (which would hold
		// p50 at 100 and p99 at 100).
		if got := schedulePercentiles(t, db, set.ID); got != [3]float64{10.18, 259.95, 259.95} {
			t.Errorf("after the next result: p50/p95/p99 %v, want 10.18 259.95 259.95", got)
		}
		lo, _ := strconv.ParseFloat(rawQuery(t, driver, dsn, fmt.Sprintf("SELECT CAST(latency_min_ms AS TEXT) FROM run_stats WHERE scope = %d", set.ID)), 64)
		hi, _ := strconv.ParseFloat(rawQuery(t, driver, dsn, fmt.Sprintf("SELECT CAST(latency_max_ms AS TEXT) FROM run_stats WHERE scope = %d", set.ID)), 64)
		if lo > 10 || lo < 10/1.1 || hi < 250 || hi > 250*1.1 {
			t.Errorf("range filled as [%v, %v], want the edges of the buckets of 10 and 250 ms", lo, hi)
		}
	})
}
