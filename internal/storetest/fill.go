package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// FillRuns inserts n finished runs into the store's database at dsn with
// one statement of bulk SQL (a recursive CTE on SQLite, generate_series on
// PostgreSQL), as a long-lived service would have recorded them: a million
// rows in seconds, where claiming and finishing them one by one would take
// many minutes. Run i goes to schedules[i%len(schedules)] (and its target),
// scheduled i steps after start, so ids and times rise together as they do
// in practice. Each schedule's runs are SUCCESS but for every 10th (FAILED,
// 500) and every 50th from the 25th on (TIMEOUT). On PostgreSQL the table is
// analyzed afterwards, as autovacuum would do for a table grown this much;
// SQLite keeps no statistics unless asked, and apicron does not ask. It
// returns the first and last ids inserted.
func FillRuns(t testing.TB, driver, dsn string, n int, schedules []*apicron.Schedule, start time.Time, step time.Duration) (first, last int64) {
	t.Helper()
	if n <= 0 || len(schedules) == 0 {
		t.Fatalf("FillRuns: %d runs over %d schedules", n, len(schedules))
	}
	var values []string
	for k, s := range schedules {
		values = append(values, fmt.Sprintf("(%d, %d, %d)", k, s.ID, s.TargetID))
	}
	// The series is called g(i) in both dialects, and the schedules s(k, sid, tid).
	cols := `schedule_id, target_id, status, scheduled_at, started_at, finished_at, latency_ms, status_code,
		response_size, error_type, error_message, request_method, request_url, node_id, attempt_in_run`
	// j is the run's rank among its schedule's.
	j := fmt.Sprintf("(g.i / %d)", len(schedules))
	sel := fmt.Sprintf(`SELECT s.sid, s.tid,
			CASE WHEN %[4]s %% 50 = 25 THEN 'TIMEOUT' WHEN %[4]s %% 10 = 0 THEN 'FAILED' ELSE 'SUCCESS' END,
			%[1]d + g.i * %[2]d, %[1]d + g.i * %[2]d + 5, %[1]d + g.i * %[2]d + 105, 100.0,
			CASE WHEN %[4]s %% 50 = 25 THEN NULL WHEN %[4]s %% 10 = 0 THEN 500 ELSE 200 END,
			CASE WHEN %[4]s %% 50 = 25 THEN NULL ELSE 2 END,
			CASE WHEN %[4]s %% 50 = 25 THEN 'timeout' WHEN %[4]s %% 10 = 0 THEN 'http_5xx' ELSE '' END,
			CASE WHEN %[4]s %% 50 = 25 THEN 'timed out' WHEN %[4]s %% 10 = 0 THEN 'server error' ELSE '' END,
			'GET', 'http://127.0.0.1:9/fill', '%[3]s', 1`, start.UnixMilli(), step.Milliseconds(), NodeID, j)
	schedulesCTE := "s(k, sid, tid) AS (VALUES " + strings.Join(values, ", ") + ")"
	var q, name, source string
	switch driver {
	case "sqlite":
		// The store may have the file open: wait for its writer, not fail.
		name, source = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
		q = fmt.Sprintf(`WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < %d), %s
			INSERT INTO runs (%s) %s FROM g JOIN s ON s.k = g.i %% %d ORDER BY g.i`,
			n-1, schedulesCTE, cols, sel, len(schedules))
	case "postgres":
		name, source = "pgx", dsn
		q = fmt.Sprintf(`WITH %s INSERT INTO runs (%s) %s FROM generate_series(0, %d) AS g(i) JOIN s ON s.k = g.i %% %d ORDER BY g.i`,
			schedulesCTE, cols, sel, n-1, len(schedules))
	default:
		t.Fatalf("storetest: unknown driver %q", driver)
	}
	ctx := context.Background()
	raw, err := sql.Open(name, source)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var before int64
	if err := raw.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM runs").Scan(&before); err != nil {
		t.Fatalf("FillRuns: %v", err)
	}
	if _, err := raw.ExecContext(ctx, q); err != nil {
		t.Fatalf("FillRuns: insert %d runs: %v", n, err)
	}
	if driver == "postgres" {
		if _, err := raw.ExecContext(ctx, "ANALYZE runs"); err != nil {
			t.Fatalf("FillRuns: analyze: %v", err)
		}
	}
	if err := raw.QueryRowContext(ctx, fmt.Sprintf("SELECT MIN(id), MAX(id) FROM runs WHERE id > %d", before)).Scan(&first, &last); err != nil {
		t.Fatalf("FillRuns: %v", err)
	}
	if last-first+1 != int64(n) {
		t.Fatalf("FillRuns: ids %d..%d for %d runs", first, last, n)
	}
	return first, last
}
