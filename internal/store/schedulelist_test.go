package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// FindSchedules filters by kind and by a piece of the name, any case, with
// LIKE's wildcards taken literally; the count follows the filters.
func TestStore_FindSchedulesByNameAndType(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		for _, s := range []*apicron.Schedule{
			{Name: "Nightly-Invoices", Type: apicron.Interval, IntervalSeconds: 60},
			{Name: "nightly_report", Type: apicron.Cron, CronExpression: "0 2 * * *", Timezone: "Europe/Paris"},
			{Name: "hourly 100%", Type: apicron.Interval, IntervalSeconds: 3600},
		} {
			s.TargetID = tg.ID
			mustCreateSchedule(t, db, s)
		}
		names := func(f apicron.ScheduleFilter) (string, int) {
			t.Helper()
			list, total, err := db.FindSchedules(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, s := range list {
				out += s.Name + ";"
			}
			return out, total
		}
		cron := apicron.Cron
		for _, c := range []struct {
			f     apicron.ScheduleFilter
			want  string
			total int
		}{
			{apicron.ScheduleFilter{NameContains: "NIGHTLY"}, "Nightly-Invoices;nightly_report;", 2},
			{apicron.ScheduleFilter{NameContains: "y_r"}, "nightly_report;", 1},
			{apicron.ScheduleFilter{NameContains: "_"}, "nightly_report;", 1},
			{apicron.ScheduleFilter{NameContains: "0%"}, "hourly 100%;", 1},
			{apicron.ScheduleFilter{NameContains: "night", Type: &cron}, "nightly_report;", 1},
			{apicron.ScheduleFilter{Type: &cron, Limit: 1}, "nightly_report;", 1},
			{apicron.ScheduleFilter{NameContains: "none"}, "", 0},
		} {
			got, total := names(c.f)
			if got != c.want || total != c.total {
				t.Errorf("%+v: %q (%d), want %q (%d)", c.f, got, total, c.want, c.total)
			}
		}
	})
}

// RecentOutcomes returns each schedule's latest runs, newest first, at
// most n, and nothing for a schedule without runs; on SQLite the same from
// the tail (the runs not yet indexed) and from run_index after a pass.
func TestStore_RecentOutcomes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		clock := storetest.NewClock(t0)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		tg := mustCreateTarget(t, db)
		a := mustCreateSchedule(t, db, &apicron.Schedule{Name: "a", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		b := mustCreateSchedule(t, db, &apicron.Schedule{Name: "b", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		idle := mustCreateSchedule(t, db, &apicron.Schedule{Name: "idle", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		for i := range 4 {
			at := t0.Add(time.Duration(i) * time.Second)
			res := mustClaim(t, db, at, a.ID)
			status := apicron.Success
			if i%2 == 1 {
				status = apicron.Failed
			}
			finish(t, db, res.Job, status, 10, at.Add(time.Millisecond))
		}
		mustRunAt(t, db, b, t0)
		// Newest first: a's runs at 3 s (FAILED), 2 s (SUCCESS), 1 s (FAILED).
		want := map[int64][]apicron.RunStatus{a.ID: {apicron.Failed, apicron.Success, apicron.Failed}, b.ID: {apicron.Success}}
		check := func(where string) {
			t.Helper()
			got, err := db.RecentOutcomes(ctx, []int64{a.ID, b.ID, idle.ID, a.ID}, 3)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: outcomes = %v, want %v", where, got, want)
			}
		}
		indexed := func() string {
			if driver != "sqlite" {
				return "-"
			}
			return rawQuery(t, driver, dsn, "SELECT COUNT(*) FROM run_index")
		}
		if n := indexed(); n != "0" && n != "-" {
			t.Fatalf("%s runs indexed before a pass, want them all in the tail", n)
		}
		check("in the tail")
		clock.Set(t0.Add(time.Minute))
		if _, err := db.IndexRuns(ctx); err != nil {
			t.Fatal(err)
		}
		if n := indexed(); n != "5" && n != "-" {
			t.Fatalf("%s runs indexed after a pass, want 5", n)
		}
		check("indexed")
		if got, err := db.RecentOutcomes(ctx, nil, 50); err != nil || len(got) != 0 {
			t.Errorf("no ids: %v, %v", got, err)
		}

		// As many schedules as one call takes: each one's runs, the last
		// schedules' too.
		ids := []int64{a.ID, b.ID, idle.ID}
		var last *apicron.Schedule
		for i := len(ids); i < apicron.MaxRecentOutcomeSchedules; i++ {
			last = mustCreateSchedule(t, db, &apicron.Schedule{Name: fmt.Sprint("many", i), TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
			ids = append(ids, last.ID)
		}
		mustRunAt(t, db, last, clock.Now())
		mustRunAt(t, db, last, clock.Now().Add(time.Second))
		got, err := db.RecentOutcomes(ctx, ids, 50)
		if err != nil {
			t.Fatalf("RecentOutcomes of %d schedules: %v", len(ids), err)
		}
		if len(got) != 3 || len(got[a.ID]) != 4 || len(got[b.ID]) != 1 || len(got[last.ID]) != 2 {
			t.Fatalf("outcomes of %d schedules = %v", len(ids), got)
		}
	})
}

// RecentOutcomes of a page of 50 schedules among 100,000 runs reads the
// page's runs alone.
func BenchmarkStore_RecentOutcomes(b *testing.B) {
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "bench.db")
	db := storetest.OpenDSN(b, "sqlite", dsn, store.Config{})
	tg := &apicron.Target{Name: "t", URL: "http://127.0.0.1:9/", Method: "GET"}
	if err := db.CreateTarget(ctx, tg); err != nil {
		b.Fatal(err)
	}
	var (
		list []*apicron.Schedule
		ids  []int64
	)
	for i := range 50 {
		s := &apicron.Schedule{Name: fmt.Sprint("s", i), TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1}
		if err := db.CreateSchedule(ctx, s); err != nil {
			b.Fatal(err)
		}
		list, ids = append(list, s), append(ids, s.ID)
	}
	storetest.FillRuns(b, "sqlite", dsn, 100_000, list, t0, time.Second)
	b.ResetTimer()
	for b.Loop() {
		got, err := db.RecentOutcomes(ctx, ids, apicron.MaxRecentOutcomes)
		if err != nil || len(got[ids[0]]) != apicron.MaxRecentOutcomes {
			b.Fatal(len(got[ids[0]]), err)
		}
	}
}

// The name search folds ASCII case only, the same on both databases: a
// name with another letter is found as it is written.
func TestFindSchedules_NameNonASCII(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		mustCreateSchedule(t, db, &apicron.Schedule{Name: "Ökonomie-Report", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
		for q, want := range map[string]int{"Ökonomie": 1, "ÖKONOMIE": 1, "ökonomie": 0, "report": 1} {
			_, n, err := db.FindSchedules(context.Background(), apicron.ScheduleFilter{NameContains: q})
			if err != nil || n != want {
				t.Errorf("search %q: %d, %v; want %d", q, n, err, want)
			}
		}
	})
}
