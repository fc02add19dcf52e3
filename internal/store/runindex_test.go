package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestStore_ScheduleRunsAcrossIndex holds a schedule's reads to the runs
// the schedule has, wherever they are: on SQLite in run_index (indexed in
// bulk, or at once when written outside the tail) or in the tail of
// runs_occurrence, before, between and after passes of IndexRuns. Each read
// is compared with the list of every run, filtered by schedule here.
func TestStore_ScheduleRunsAcrossIndex(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		tg := mustCreateTarget(t, db)
		a := mustCreateSchedule(t, db, &apicron.Schedule{Name: "a", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		b := mustCreateSchedule(t, db, &apicron.Schedule{Name: "b", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		c := mustCreateSchedule(t, db, &apicron.Schedule{Name: "c", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})

		check := func(when string) {
			t.Helper()
			all := allRuns(t, db)
			for _, s := range []*apicron.Schedule{a, b, c} {
				var want []*apicron.Run
				for _, r := range all {
					if r.ScheduleID == s.ID {
						want = append(want, r)
					}
				}
				slices.SortFunc(want, func(x, y *apicron.Run) int { return y.ScheduledAt.Compare(x.ScheduledAt) })
				compareRuns(t, when+": newest first, by cursor", pageBySchedule(t, db, apicron.RunFilter{ScheduleID: &s.ID, Limit: 7}), want)
				failed := slices.DeleteFunc(slices.Clone(want), func(r *apicron.Run) bool { return r.Status != apicron.Failed })
				compareRuns(t, when+": FAILED", pageBySchedule(t, db, apicron.RunFilter{ScheduleID: &s.ID, Status: ptr(apicron.Failed), Limit: 4}), failed)
				since, until := t0.Add(30*time.Second), t0.Add(75*time.Second)
				var inRange []*apicron.Run
				for _, r := range want {
					if !r.ScheduledAt.Before(since) && r.ScheduledAt.Before(until) {
						inRange = append(inRange, r)
					}
				}
				compareRuns(t, when+": since/until", pageBySchedule(t, db, apicron.RunFilter{ScheduleID: &s.ID, Since: &since, Until: &until, Limit: 10}), inRange)
				got, total, err := db.FindRuns(ctx, apicron.RunFilter{ScheduleID: &s.ID, Limit: 5, Offset: 3, CountLimit: 10000})
				if err != nil || total != len(want) {
					t.Fatalf("%s: offset page: total %d, want %d (%v)", when, total, len(want), err)
				}
				compareRuns(t, when+": offset 3", got, want[min(3, len(want)):min(8, len(want))])
				recent, err := db.RecentOutcomes(ctx, []int64{s.ID}, 6)
				if err != nil {
					t.Fatal(err)
				}
				var wantRecent []apicron.RunStatus
				for _, r := range want[:min(6, len(want))] {
					wantRecent = append(wantRecent, r.Status)
				}
				if !slices.Equal(recent[s.ID], wantRecent) {
					t.Fatalf("%s: recent outcomes %v, want %v", when, recent[s.ID], wantRecent)
				}
				_, entries, _, err := db.Ledger(ctx, s.ID, since, until, clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				var ledgerRuns []int64
				for _, e := range entries {
					// Not the run a coalesced occurrence points at.
					if e.Run != nil && e.Run.ScheduledAt.Equal(e.At) {
						ledgerRuns = append(ledgerRuns, e.Run.ID)
					}
				}
				var wantLedger []int64
				for _, r := range slices.Backward(inRange) {
					wantLedger = append(wantLedger, r.ID)
				}
				if !slices.Equal(ledgerRuns, wantLedger) {
					t.Fatalf("%s: ledger runs %v, want %v", when, ledgerRuns, wantLedger)
				}
			}
		}

		run := func(from, to int) {
			for i := from; i < to; i++ {
				at := t0.Add(time.Duration(i) * time.Second)
				clock.Set(at)
				for _, s := range []*apicron.Schedule{a, b} {
					res := mustClaim(t, db, at, s.ID)
					if res.Job == nil {
						t.Fatalf("schedule %d fired nothing at %d s", s.ID, i)
					}
					status := apicron.Success
					if (i+int(s.ID))%3 == 0 {
						status = apicron.Failed
					}
					finish(t, db, res.Job, status, 10, at.Add(time.Millisecond))
				}
			}
		}
		run(0, 40)
		check("all in the tail")
		clock.Set(t0.Add(40 * time.Second))
		if _, err := db.IndexRuns(ctx); err != nil {
			t.Fatal(err)
		}
		check("the first 35 s indexed")
		run(40, 90)
		// A run written between the pass's read and its writes, inside the
		// span it indexes (c's first, claimed late at 80 s), is indexed by
		// its last piece.
		late := false
		lateClaim := func() {
			late = true
			if res := mustClaim(t, db, t0.Add(80*time.Second), c.ID); res.Job == nil || !res.Job.ScheduledAt.Equal(t0.Add(80*time.Second)) {
				t.Fatalf("c's late claim: %+v", res)
			}
		}
		db.SetIndexRunsAfterRead(lateClaim)
		if _, err := db.IndexRuns(ctx); err != nil {
			t.Fatal(err)
		}
		db.SetIndexRunsAfterRead(nil)
		if !late { // PostgreSQL: IndexRuns has nothing to do
			lateClaim()
		}
		clock.Set(t0.Add(100 * time.Second))
		if _, err := db.IndexRuns(ctx); err != nil {
			t.Fatal(err)
		}
		check("indexed again")
		// A run written more than the tail's span after upto is indexed at
		// once: b's next occurrence, claimed 20 minutes on (its misses coalesced).
		far := t0.Add(20 * time.Minute)
		clock.Set(far)
		if res := mustClaim(t, db, far, b.ID); res.Job == nil {
			t.Fatal("b fired nothing 20 minutes on")
		} else {
			finish(t, db, res.Job, apicron.Success, 10, far)
		}
		check("one run past the tail")
		if _, err := db.IndexRuns(ctx); err != nil {
			t.Fatal(err)
		}
		check("upto moved past the tail's span")
		clock.Set(far.Add(time.Hour))
		if _, err := db.IndexRuns(ctx); err != nil {
			t.Fatal(err)
		}
		check("everything indexed")

		// Runs deleted beyond keep_runs leave no index rows behind, and the
		// schedule's reads see what is kept.
		mustPruneKept(t, db, 10, 1000, int64(len(allRuns(t, db))-21))
		check("after keep_runs")
		if driver == "sqlite" {
			if n := rawQuery(t, driver, dsn, "SELECT COUNT(*) FROM run_index WHERE run NOT IN (SELECT id FROM runs)"); n != "0" {
				t.Fatalf("%s run_index rows of deleted runs", n)
			}
		}
	})
}

// allRuns lists every run, by id.
func allRuns(t *testing.T, db *store.DB) []*apicron.Run {
	t.Helper()
	var all []*apicron.Run
	f := apicron.RunFilter{Limit: 100}
	for {
		page, _, err := db.FindRuns(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
		f.BeforeID = page[len(page)-1].ID
	}
}

// pageBySchedule reads f's whole list a page at a time by its cursor.
func pageBySchedule(t *testing.T, db *store.DB, f apicron.RunFilter) []*apicron.Run {
	t.Helper()
	var all []*apicron.Run
	for {
		page, _, err := db.FindRuns(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			return all
		}
		f.BeforeScheduledAt = &page[len(page)-1].ScheduledAt
	}
}

func compareRuns(t *testing.T, what string, got, want []*apicron.Run) {
	t.Helper()
	ids := func(rs []*apicron.Run) []int64 {
		out := make([]int64, len(rs))
		for i, r := range rs {
			out[i] = r.ID
		}
		return out
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("%s: runs %v, want %v", what, ids(got), ids(want))
	}
}

// TestMigrate_RunsTimeKey applies migration 0030 to a SQLite database as
// 0029 left it: the runs table is rebuilt with every run, its attempts and
// the id counter (a deleted run's id is not given again), run_index holds
// every run, and foreign keys are on again afterwards (deleting a run
// deletes its attempts).
func TestMigrate_RunsTimeKey(t *testing.T) {
	t.Parallel()
	const driver = "sqlite"
	dsn := storetest.NewDSN(t, driver)
	exec := migrateRawBelow(t, dsn, 30)
	at := t0.UnixMilli()
	exec(fmt.Sprintf(`INSERT INTO runs (schedule_id, target_id, status, scheduled_at, started_at, finished_at) VALUES
		(1, 1, 'SUCCESS', %d, %d, %d), (2, 1, 'FAILED', %d, %d, %d), (1, 1, 'SUCCESS', %d, %d, %d)`,
		at, at, at, at, at, at, at+1000, at+1000, at+1000))
	exec(fmt.Sprintf("INSERT INTO attempts (run_id, attempt_number, status, started_at, finished_at) VALUES (1, 1, 'SUCCESS', %d, %d), (2, 1, 'FAILED', %d, %d)", at, at, at, at))
	exec("DELETE FROM runs WHERE id = 3")
	exec("")

	clock := storetest.NewClock(t0.Add(time.Hour))
	db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
	if got := rawQuery(t, driver, dsn, "SELECT group_concat(id || ':' || schedule_id || ':' || status, ' ') FROM runs"); got != "1:1:SUCCESS 2:2:FAILED" {
		t.Fatalf("runs after the rebuild: %s", got)
	}
	if got := rawQuery(t, driver, dsn, "SELECT COUNT(*) FROM attempts"); got != "2" {
		t.Fatalf("%s attempts after the rebuild, want 2", got)
	}
	if got := rawQuery(t, driver, dsn, "SELECT group_concat(schedule || ':' || run, ' ') FROM run_index"); got != "1:1 2:2" {
		t.Fatalf("run_index after the migration: %s", got)
	}
	tg := mustCreateTarget(t, db)
	s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
	if id := mustRunAt(t, db, s, clock.Now()); id != 4 {
		t.Fatalf("the first run after the rebuild has id %d, want 4 (3 was given before)", id)
	}
	if _, err := db.PruneRuns(context.Background(), t0.Add(time.Minute), 10); err != nil {
		t.Fatal(err)
	}
	if got := rawQuery(t, driver, dsn, "SELECT COUNT(*) FROM attempts WHERE run_id IN (1, 2)"); got != "0" {
		t.Fatalf("%s attempts of the pruned runs are left: foreign keys are off", got)
	}
	if got := rawQuery(t, driver, dsn, "SELECT COUNT(*) FROM run_index WHERE run IN (1, 2)"); got != "0" {
		t.Fatalf("%s run_index rows of the pruned runs are left", got)
	}
}

// migrateRawBelow applies SQLite's migrations numbered below version to the
// file at dsn by hand, as a build of that time left it, and returns a
// function that runs one statement on it. The connection is closed when the
// test ends, or earlier: the returned function with "" closes it.
func migrateRawBelow(t *testing.T, dsn string, version int) func(q string) {
	t.Helper()
	raw, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	exec := func(q string) {
		t.Helper()
		if q == "" {
			raw.Close()
			return
		}
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	exec("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
	files, err := filepath.Glob(filepath.Join("migrations", "sqlite", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	for _, f := range files {
		v, _ := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if v >= version {
			break
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(fmt.Sprintf("INSERT INTO schema_migrations VALUES (%d, 0)", v))
	}
	return exec
}

// A schedule's runs filtered by status or target are read from the
// schedule's keys on SQLite, never through runs_status or runs_target: those
// lead to every run of that status or target in the table, sorted after.
func TestStore_ScheduleRunsPlan(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, "sqlite", storetest.NewClock(t0))
	for _, c := range []struct {
		name  string
		cond  []string
		args  []any
		order string
		limit int
	}{
		{"status page", []string{"status = ?"}, []any{"SUCCESS"}, "DESC", 50},
		{"target page", []string{"target_id = ?"}, []any{1}, "DESC", 50},
		{"status count", []string{"status = ?", "{at} >= ?"}, []any{"FAILED", 0}, "", 1000},
	} {
		q, args := db.ScheduleRunsQuery("id, scheduled_at", 1, c.cond, c.args, c.order, c.limit, 0)
		rows, err := db.Readers().Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		if strings.Contains(all, "runs_status") || strings.Contains(all, "runs_target") || !strings.Contains(all, "runs_occurrence") ||
			!strings.Contains(all, "run_index USING PRIMARY KEY") || !strings.Contains(all, "SEARCH runs USING INTEGER PRIMARY KEY") ||
			strings.Contains(all, "SCAN runs") {
			t.Errorf("%s: plan\n%s", c.name, all)
		}
	}
}

// A claim names the conflict it leaves alone, one run per schedule and
// time: a run whose id clashes with a stored one (PostgreSQL's identity
// sequence set back, as an import can leave it) fails the claim, which
// changes nothing, instead of dropping the occurrence in silence. (SQLite's
// AUTOINCREMENT never gives an id in use.)
func TestClaim_IDClashIsAnError(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		if driver != "postgres" {
			t.Skip("SQLite never gives a run an id in use")
		}
		ctx := context.Background()
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: storetest.NewClock(t0)})
		tg := mustCreateTarget(t, db)
		s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1})
		first := mustRunAt(t, db, s, t0)
		rawExec(t, driver, dsn, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('runs', 'id'), %d, false)", first))
		before, err := db.FindScheduleByID(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Second)
		if res, err := db.Claim(ctx, at, at, []int64{s.ID}, nil); err == nil {
			t.Fatalf("a claim whose run's id is taken = %+v, want an error", res)
		}
		after, err := db.FindScheduleByID(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !after.NextRunAt.Equal(*before.NextRunAt) || after.RunCount != before.RunCount {
			t.Fatalf("the failed claim moved the schedule: next %s -> %s, runs %d -> %d", before.NextRunAt, after.NextRunAt, before.RunCount, after.RunCount)
		}
	})
}
