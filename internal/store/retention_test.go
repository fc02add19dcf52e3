package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// runIDs returns the ids of a schedule's runs, oldest first.
func runIDs(t *testing.T, db *store.DB, id int64) []int64 {
	t.Helper()
	runs, _, err := db.FindRuns(context.Background(), apicron.RunFilter{ScheduleID: &id, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	slices.Reverse(ids)
	return ids
}

// totals returns the finished runs the counters report, service-wide and per schedule id.
func totals(t *testing.T, db *store.DB) (int64, map[int64]int64) {
	t.Helper()
	ctx := context.Background()
	m, err := db.SystemMetrics(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	sm, _, err := db.ScheduleMetrics(ctx, apicron.Page{})
	if err != nil {
		t.Fatal(err)
	}
	per := map[int64]int64{}
	for _, s := range sm {
		per[s.ScheduleID] = s.TotalRuns
	}
	return m.TotalRuns, per
}

func isInvalidField(err error, field string) bool {
	var e *apicron.Error
	return errors.As(err, &e) && e.Code == apicron.EINVALID && e.Field == field
}

// TestStore_KeepRunsField: keep_runs is stored on create, read by every
// query, set and cleared by an update, validated, and kept by the writes
// that do not set it (pause, resume, a claim that stops a window).
func TestStore_KeepRunsField(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval,
			IntervalSeconds: 10, KeepRuns: ptr(25)})
		plain := mustCreateSchedule(t, db, &apicron.Schedule{Name: "p", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})

		got, err := db.FindScheduleByID(ctx, s.ID)
		if err != nil || got.KeepRuns == nil || *got.KeepRuns != 25 {
			t.Fatalf("FindScheduleByID: %+v %v, want keep_runs 25", got, err)
		}
		list, _, err := db.FindSchedules(ctx, apicron.ScheduleFilter{})
		if err != nil || len(list) != 2 || list[0].KeepRuns == nil || *list[0].KeepRuns != 25 || list[1].KeepRuns != nil {
			t.Fatalf("FindSchedules: %+v %v", list, err)
		}

		if got, err = db.UpdateSchedule(ctx, s.ID, apicron.ScheduleUpdate{KeepRuns: ptr(ptr(7))}); err != nil || *got.KeepRuns != 7 {
			t.Fatalf("update keep_runs to 7: %+v %v", got, err)
		}
		if got, err = db.UpdateSchedule(ctx, s.ID, apicron.ScheduleUpdate{Name: ptr("renamed")}); err != nil || *got.KeepRuns != 7 {
			t.Fatalf("update of another field: %+v %v, want keep_runs 7 kept", got, err)
		}
		if _, err := db.PauseSchedule(ctx, s.ID, apicron.PauseRequest{}); err != nil {
			t.Fatal(err)
		}
		if got, err = db.ResumeSchedule(ctx, s.ID); err != nil || got.KeepRuns == nil || *got.KeepRuns != 7 {
			t.Fatalf("after pause and resume: %+v %v", got, err)
		}
		if got, _ = db.FindScheduleByID(ctx, s.ID); got.KeepRuns == nil || *got.KeepRuns != 7 {
			t.Fatalf("stored after pause and resume: %+v", got.KeepRuns)
		}

		for _, bad := range []int{0, -1, apicron.MaxKeepRuns + 1} {
			if _, err := db.UpdateSchedule(ctx, s.ID, apicron.ScheduleUpdate{KeepRuns: ptr(ptr(bad))}); !isInvalidField(err, "keep_runs") {
				t.Errorf("update keep_runs %d: %v, want EINVALID on keep_runs", bad, err)
			}
			err := db.CreateSchedule(ctx, &apicron.Schedule{Name: "x", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1, KeepRuns: &bad})
			if !isInvalidField(err, "keep_runs") {
				t.Errorf("create with keep_runs %d: %v, want EINVALID on keep_runs", bad, err)
			}
		}
		if got, _ = db.FindScheduleByID(ctx, s.ID); *got.KeepRuns != 7 {
			t.Fatalf("a refused update changed keep_runs to %d", *got.KeepRuns)
		}

		var none *int
		if got, err = db.UpdateSchedule(ctx, s.ID, apicron.ScheduleUpdate{KeepRuns: &none}); err != nil || got.KeepRuns != nil {
			t.Fatalf("clear keep_runs: %+v %v", got, err)
		}
		if got, _ = db.FindScheduleByID(ctx, s.ID); got.KeepRuns != nil {
			t.Fatalf("stored keep_runs %d after clearing", *got.KeepRuns)
		}
		if got, err = db.UpdateSchedule(ctx, plain.ID, apicron.ScheduleUpdate{KeepRuns: ptr(ptr(apicron.MaxKeepRuns))}); err != nil ||
			*got.KeepRuns != apicron.MaxKeepRuns {
			t.Fatalf("keep_runs %d: %+v %v", apicron.MaxKeepRuns, got, err)
		}

		// A claim reads schedules without keep_runs; stopping a window must not clear it.
		w := mustCreateSchedule(t, db, &apicron.Schedule{Name: "w", TargetID: tg.ID, Type: apicron.Window,
			IntervalSeconds: 10, DurationSeconds: ptr(10), KeepRuns: ptr(3)})
		mustRunAt(t, db, w, t0)
		if res := mustClaim(t, db, t0.Add(time.Minute), w.ID); res.Job != nil {
			t.Fatalf("window fired after its end: %+v", res)
		}
		if got, _ = db.FindScheduleByID(ctx, w.ID); got.Status != apicron.Stopped || got.KeepRuns == nil || *got.KeepRuns != 3 {
			t.Fatalf("stopped window: status %s, keep_runs %v; want STOPPED with keep_runs 3", got.Status, got.KeepRuns)
		}
	})
}

// TestStore_PruneKeptRuns: a schedule over its cap keeps its newest finished
// runs, a run not finished stays whatever its age, schedules without a cap
// keep everything unless a default applies, batches respect the limit, and
// the counters do not move.
func TestStore_PruneKeptRuns(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: storetest.NewClock(t0)})
		tg := mustCreateTarget(t, db)
		capped := mustCreateSchedule(t, db, &apicron.Schedule{Name: "capped", TargetID: tg.ID, Type: apicron.Interval,
			IntervalSeconds: 10, KeepRuns: ptr(3)})
		uncapped := mustCreateSchedule(t, db, &apicron.Schedule{Name: "uncapped", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 10})
		roomy := mustCreateSchedule(t, db, &apicron.Schedule{Name: "roomy", TargetID: tg.ID, Type: apicron.Interval,
			IntervalSeconds: 10, KeepRuns: ptr(5)})
		var cappedRuns, uncappedRuns, roomyRuns []int64
		for k := range 8 {
			at := t0.Add(time.Duration(k) * 10 * time.Second)
			cappedRuns = append(cappedRuns, mustRunAt(t, db, capped, at))
			uncappedRuns = append(uncappedRuns, mustRunAt(t, db, uncapped, at))
			if k < 2 {
				roomyRuns = append(roomyRuns, mustRunAt(t, db, roomy, at))
			}
		}
		// Nothing to do without runs past a cap.
		if n, err := db.PruneKeptRuns(ctx, 0, 0); n != 0 || err != nil {
			t.Fatalf("limit 0: %d %v", n, err)
		}

		// An old run of capped is still RUNNING (as if its result never came):
		// it is neither deleted nor counted among the runs kept.
		db.Close()
		rawExec(t, driver, dsn, fmt.Sprintf("UPDATE runs SET status = 'RUNNING', finished_at = NULL WHERE id = %d", cappedRuns[1]))
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: storetest.NewClock(t0)})
		total, per := totals(t, db)

		mustPruneKept(t, db, 0, 1000, 4)
		if got, want := runIDs(t, db, capped.ID), []int64{cappedRuns[1], cappedRuns[5], cappedRuns[6], cappedRuns[7]}; !slices.Equal(got, want) {
			t.Fatalf("capped keeps runs %v, want %v: the running one and the newest 3 finished", got, want)
		}
		if got := runIDs(t, db, uncapped.ID); !slices.Equal(got, uncappedRuns) {
			t.Fatalf("uncapped keeps %v, want all of %v", got, uncappedRuns)
		}
		if got := runIDs(t, db, roomy.ID); !slices.Equal(got, roomyRuns) {
			t.Fatalf("roomy (2 runs, cap 5) keeps %v, want %v", got, roomyRuns)
		}
		if _, err := db.FindRunByID(ctx, cappedRuns[0]); apicron.ErrorCode(err) != apicron.ENOTFOUND {
			t.Fatalf("pruned run: %v, want ENOTFOUND", err)
		}
		if r, err := db.FindRunByID(ctx, cappedRuns[7]); err != nil || len(r.Attempts) != 1 {
			t.Fatalf("kept run: %+v %v, want it with its attempt", r, err)
		}
		mustPruneKept(t, db, 0, 1000, 0) // within their caps now

		// The default applies to schedules without keep_runs, in batches of limit.
		mustPruneKept(t, db, 5, 2, 2)
		mustPruneKept(t, db, 5, 2, 1)
		mustPruneKept(t, db, 5, 2, 0)
		if got := runIDs(t, db, uncapped.ID); !slices.Equal(got, uncappedRuns[3:]) {
			t.Fatalf("uncapped with a default of 5 keeps %v, want %v", got, uncappedRuns[3:])
		}
		if got := runIDs(t, db, capped.ID); len(got) != 4 {
			t.Fatalf("capped keeps %v: its own keep_runs wins over the default", got)
		}

		// New runs past the cap are pruned on the next pass.
		db.Close()
		rawExec(t, driver, dsn, fmt.Sprintf("UPDATE runs SET status = 'INTERRUPTED', finished_at = 1 WHERE id = %d", cappedRuns[1]))
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: storetest.NewClock(t0)})
		for k := 8; k < 10; k++ {
			cappedRuns = append(cappedRuns, mustRunAt(t, db, capped, t0.Add(time.Duration(k)*10*time.Second)))
		}
		mustPruneKept(t, db, 0, 1000, 3)
		if got, want := runIDs(t, db, capped.ID), cappedRuns[7:]; !slices.Equal(got, want) {
			t.Fatalf("capped keeps %v, want the newest 3 %v", got, want)
		}

		// Clearing keep_runs lifts the cap.
		var none *int
		if _, err := db.UpdateSchedule(ctx, capped.ID, apicron.ScheduleUpdate{KeepRuns: &none}); err != nil {
			t.Fatal(err)
		}
		mustRunAt(t, db, capped, t0.Add(100*time.Second))
		mustPruneKept(t, db, 0, 1000, 0)
		if got := runIDs(t, db, capped.ID); len(got) != 4 {
			t.Fatalf("capped keeps %v after clearing keep_runs, want 4 runs", got)
		}

		// Pruning never changes the counters: the 2 runs added since count, nothing pruned is subtracted.
		total2, per2 := totals(t, db)
		if total2 != total+3 || per2[capped.ID] != per[capped.ID]+3 || per2[uncapped.ID] != per[uncapped.ID] || per2[roomy.ID] != 2 {
			t.Fatalf("counters after pruning: total %d (was %d), per schedule %v (was %v)", total2, total, per2, per)
		}
	})
}

// TestStore_PruneKeptRunsAfterAgePruning: runs pruned by age lower what a
// schedule keeps; the cap check must notice and, once new runs push it past
// its cap, prune exactly down to it.
func TestStore_PruneKeptRunsAfterAgePruning(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		db := storetest.Open(t, driver, storetest.NewClock(t0))
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval,
			IntervalSeconds: 10, KeepRuns: ptr(5)})
		var ids []int64
		for k := range 8 {
			ids = append(ids, mustRunAt(t, db, s, t0.Add(time.Duration(k)*10*time.Second)))
		}
		// Age pruning takes the 4 oldest (finished at 1, 11, 21, 31 s).
		if n, err := db.PruneRuns(ctx, t0.Add(35*time.Second), 1000); n != 4 || err != nil {
			t.Fatalf("PruneRuns: %d %v", n, err)
		}
		mustPruneKept(t, db, 0, 1000, 0) // 4 left, under 5
		mustPruneKept(t, db, 0, 1000, 0)
		for k := 8; k < 11; k++ {
			ids = append(ids, mustRunAt(t, db, s, t0.Add(time.Duration(k)*10*time.Second)))
		}
		mustPruneKept(t, db, 0, 1000, 2) // 7 left: 2 over
		if got := runIDs(t, db, s.ID); !slices.Equal(got, ids[6:]) {
			t.Fatalf("keeps %v, want the newest 5 %v", got, ids[6:])
		}
		ids = append(ids, mustRunAt(t, db, s, t0.Add(110*time.Second)))
		mustPruneKept(t, db, 0, 1000, 1)
		if got := runIDs(t, db, s.ID); !slices.Equal(got, ids[7:]) {
			t.Fatalf("keeps %v, want the newest 5 %v", got, ids[7:])
		}
		// A lower cap takes effect on the next pass.
		if _, err := db.UpdateSchedule(ctx, s.ID, apicron.ScheduleUpdate{KeepRuns: ptr(ptr(2))}); err != nil {
			t.Fatal(err)
		}
		mustPruneKept(t, db, 0, 1000, 3)
		if got := runIDs(t, db, s.ID); !slices.Equal(got, ids[10:]) {
			t.Fatalf("keeps %v, want the newest 2 %v", got, ids[10:])
		}
	})
}
