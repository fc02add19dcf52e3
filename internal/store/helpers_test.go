package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func mustCreateTarget(t *testing.T, db *store.DB) *apicron.Target {
	t.Helper()
	tg := &apicron.Target{Name: "t", URL: "http://127.0.0.1:9/x", Headers: map[string]string{"X-A": "1"}}
	if err := db.CreateTarget(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	return tg
}

func mustCreateSchedule(t *testing.T, db *store.DB, s *apicron.Schedule) *apicron.Schedule {
	t.Helper()
	if err := db.CreateSchedule(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustClaim(t *testing.T, db *store.DB, now time.Time, id int64) apicron.ClaimResult {
	t.Helper()
	res, err := db.Claim(context.Background(), now, now, []int64{id}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("claim returned %d results", len(res))
	}
	return res[0]
}

func finish(t *testing.T, db *store.DB, job *apicron.Job, status apicron.RunStatus, latency float64, at time.Time) {
	t.Helper()
	code := 200
	err := db.Finish(context.Background(), []apicron.RunResult{{
		RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: at, FinishedAt: at,
		Outcome:  apicron.Outcome{Status: status, LatencyMs: &latency, StatusCode: &code},
		Attempts: []apicron.Attempt{{Number: 1, StartedAt: at, FinishedAt: at, Outcome: apicron.Outcome{Status: status, LatencyMs: &latency}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// mustRunAt claims the occurrence of s due at at and finishes it SUCCESS a
// second later; it returns the run's id.
func mustRunAt(t *testing.T, db *store.DB, s *apicron.Schedule, at time.Time) int64 {
	t.Helper()
	res := mustClaim(t, db, at, s.ID)
	if res.Job == nil {
		t.Fatalf("claim of schedule %d at %s fired nothing", s.ID, at)
	}
	finish(t, db, res.Job, apicron.Success, 10, at.Add(time.Second))
	return res.Job.RunID
}

func mustPruneKept(t *testing.T, db *store.DB, keepDefault, limit int, want int64) {
	t.Helper()
	n, err := db.PruneKeptRuns(context.Background(), keepDefault, limit)
	if err != nil || n != want {
		t.Fatalf("PruneKeptRuns(%d, %d) = %d, %v; want %d", keepDefault, limit, n, err, want)
	}
}

// mustCreateSecretTarget creates a target with two secret headers (one by
// default, one named in SecretHeaders) and one that is not secret.
func mustCreateSecretTarget(t *testing.T, db *store.DB) *apicron.Target {
	t.Helper()
	tg := &apicron.Target{Name: "secret", URL: "http://127.0.0.1:9/x", SecretHeaders: []string{"X-Sig"},
		Headers: map[string]string{"Authorization": secretToken, "X-Sig": secretSig, "X-Plain": plainValue}}
	if err := db.CreateTarget(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	return tg
}

// rawQuery returns the single text value q selects, read with plain SQL
// beside the store.
func rawQuery(t *testing.T, driver, dsn, q string) string {
	t.Helper()
	name := map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[driver]
	raw, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v sql.NullString
	if err := raw.QueryRowContext(context.Background(), q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

// rawExec runs a statement with plain SQL; on SQLite, close the store first.
func rawExec(t *testing.T, driver, dsn, q string) {
	t.Helper()
	name := map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[driver]
	raw, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
