package store_test

import (
	"context"
	"database/sql"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// A run's only attempt, when the run's columns hold it exactly, is stored
// without an attempts row and read back as attempt 1, equal to what was
// written; retried runs, and a single attempt that differs from its run,
// keep their rows.
func TestStore_SingleAttemptKeptInRun(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Clock: clock})
		tg := mustCreateTarget(t, db)
		var jobs []*apicron.Job
		for _, name := range []string{"single", "retried", "odd"} {
			s := mustCreateSchedule(t, db, &apicron.Schedule{Name: name, TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
			jobs = append(jobs, mustClaim(t, db, t0, s.ID).Job)
		}
		at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
		f := func(v float64) *float64 { return &v }
		code200, code503, size := 200, 503, int64(2)
		one := apicron.Attempt{Number: 1, StartedAt: at(1), FinishedAt: at(13), Outcome: apicron.Outcome{Status: apicron.Success,
			LatencyMs: f(12.25), StatusCode: &code200, ResponseSize: &size, Timings: apicron.Timings{DNSMs: f(0.5), ConnectMs: f(1), FirstByteMs: f(11)}}}
		failed := apicron.Attempt{Number: 1, StartedAt: at(1), FinishedAt: at(5), Outcome: apicron.Outcome{Status: apicron.Failed,
			LatencyMs: f(4), StatusCode: &code503, ErrorType: "http_5xx", ErrorMessage: "HTTP 503"}}
		retry := one
		retry.Number, retry.StartedAt, retry.FinishedAt = 2, at(20), at(32)
		fromLast := func(job *apicron.Job, last apicron.Attempt, attempts ...apicron.Attempt) apicron.RunResult {
			return apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: attempts[0].StartedAt,
				FinishedAt: last.FinishedAt, Outcome: last.Outcome, Attempts: attempts}
		}
		odd := fromLast(jobs[2], one, one)
		odd.Attempts = []apicron.Attempt{one}
		odd.Attempts[0].ErrorMessage = "differs from the run"
		results := []apicron.RunResult{fromLast(jobs[0], one, one), fromLast(jobs[1], retry, failed, retry), odd}
		if err := db.Finish(ctx, results); err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]apicron.Attempt{{one}, {failed, retry}, odd.Attempts} {
			run, err := db.FindRunByID(ctx, jobs[i].RunID)
			if err != nil {
				t.Fatal(err)
			}
			want = slices.Clone(want)
			for k := range want {
				want[k].RunID = jobs[i].RunID // the store tells each attempt its run
			}
			if !reflect.DeepEqual(run.Attempts, want) {
				t.Errorf("run %d attempts:\n got %+v\nwant %+v", i, run.Attempts, want)
			}
		}
		raw, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[driver], dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var rows int
		if err := raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM attempts").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 3 {
			t.Errorf("%d attempts rows, want 3 (2 of the retried run, 1 of the odd one, none of the single)", rows)
		}
	})
}
