package main

// Faults survived: the real binary stopped with SIGTERM, killed with SIGKILL
// over and over under load, starved of its database (a full disk, a write
// lock held by someone else, PostgreSQL connections cut) and pointed at
// targets that misbehave. Each test checks the database afterwards: no
// occurrence twice, no run left RUNNING, counters equal to the rows. The
// figures they log are the ones in docs/reliability.md.
//
// These tests are not parallel: they load the machine on purpose, and the
// package's timing-sensitive end-to-end tests run after them, not beside them.

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to read a PostgreSQL schema
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver, to read the database file read-only
)

// requireHistory runs the history checker on what a fault test's sink
// recorded and on the database (driver "sqlite" or "pgx"), once apicron has
// stopped: no occurrence sent twice, every request its run, every run
// answered received, every grid slot accounted for, counters equal to rows.
// It logs the report and fails the test on a violation.
func requireHistory(t *testing.T, db *sql.DB, driver string, sinkLog *histcheck.Log) *histcheck.Report {
	t.Helper()
	if err := sinkLog.Err(); err != nil {
		t.Fatalf("sink log: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := histcheck.Check(ctx, db, driver, sinkLog.Requests(), histcheck.Options{})
	if err != nil {
		t.Fatalf("history check: %v", err)
	}
	if rep.OK() {
		t.Logf("history check: %s", rep)
	} else {
		t.Errorf("history check: %s", rep)
	}
	return rep
}

// openReadOnly opens a SQLite database file read-only, as an operator's
// tool would, to check what the process left on disk.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// sinkOccurrence is one occurrence as a target sees it.
type sinkOccurrence struct{ schedule, scheduledAt string }

// arrivals counts the requests a target received per occurrence, and logs
// each for the history checker (requireCleanStop runs it).
type arrivals struct {
	mu  sync.Mutex
	m   map[sinkOccurrence]int
	log *histcheck.Log
}

func newArrivals() *arrivals {
	return &arrivals{m: map[sinkOccurrence]int{}, log: histcheck.NewLog(nil)}
}

func (a *arrivals) add(r *http.Request) {
	req, err := histcheck.FromHTTP(r, time.Now())
	if err != nil {
		req = histcheck.Request{ReceivedAt: req.ReceivedAt} // not a run's request: counted, not checked
	}
	_ = a.log.Add(req) // a failed write stays in log.Err, which requireHistory reports
	a.mu.Lock()
	a.m[sinkOccurrence{r.Header.Get("X-Apicron-Schedule-Id"), r.Header.Get("X-Apicron-Scheduled-At")}]++
	a.mu.Unlock()
}

// counts returns how many distinct occurrences arrived and how many arrived more than once.
func (a *arrivals) counts() (total, twice int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.m {
		if n > 1 {
			twice++
		}
	}
	return len(a.m), twice
}

func (a *arrivals) snapshot() map[sinkOccurrence]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[sinkOccurrence]int, len(a.m))
	for k, v := range a.m {
		out[k] = v
	}
	return out
}

// stopProcess sends sig to cmd and waits up to within for it to exit. It
// returns the exit error (nil for exit status 0) and how long the exit took;
// a process still running after within is killed and the test fails.
func stopProcess(t *testing.T, cmd *exec.Cmd, sig os.Signal, within time.Duration) (time.Duration, error) {
	t.Helper()
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return time.Since(sent), err
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-done //nolint:errcheck // killed: its exit status is the kill
		t.Fatalf("process %d did not exit within %v of %v", cmd.Process.Pid, within, sig)
		return 0, nil
	}
}

// healthOf returns /health's status code and body.
func healthOf(url string) (int, map[string]any) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url + "/health")
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// rssBytes returns the resident set size of process pid, from /proc.
func rssBytes(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// dbFacts is what checkDatabase found.
type dbFacts struct {
	runs         int64            // all run rows
	byStatus     map[string]int64 // run rows per status
	duplicates   int64            // (schedule_id, scheduled_at) with more than one run
	activeNoNext int64            // ACTIVE schedules without next_run_at
	staleRunning int64            // RUNNING runs with id <= the bound given
	maxRunID     int64
	// badCounters lists the scopes whose run_stats do not equal their finished runs.
	badCounters []string
}

// checkDatabase reads, in one snapshot, the invariants a crash must not
// break. A run with id <= runningBound must not be RUNNING (-1 skips that
// check). rebind turns ? into the database's placeholders.
func checkDatabase(t *testing.T, db *sql.DB, runningBound int64, rebind func(string) string) dbFacts {
	return checkDatabaseSince(t, db, runningBound, -1, rebind)
}

// checkDatabaseSince is checkDatabase looking for duplicates only among the
// runs with id > dupSince (and their twins, whatever their id), so that a
// loop that checks often does not rescan every run each time. -1 scans all.
func checkDatabaseSince(t *testing.T, db *sql.DB, runningBound, dupSince int64, rebind func(string) string) dbFacts {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin read: %v", err)
	}
	defer tx.Rollback()
	one := func(q string, args ...any) int64 {
		t.Helper()
		var n sql.NullInt64
		if err := tx.QueryRowContext(ctx, rebind(q), args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n.Int64
	}
	f := dbFacts{byStatus: map[string]int64{}}
	if dupSince < 0 {
		f.duplicates = one(`SELECT COUNT(*) FROM (SELECT schedule_id, scheduled_at FROM runs GROUP BY schedule_id, scheduled_at HAVING COUNT(*) > 1) d`)
	} else {
		f.duplicates = one(`SELECT COUNT(*) FROM runs r WHERE r.id > ? AND EXISTS (
			SELECT 1 FROM runs o WHERE o.schedule_id = r.schedule_id AND o.scheduled_at = r.scheduled_at AND o.id <> r.id)`, dupSince)
	}
	f.activeNoNext = one(`SELECT COUNT(*) FROM schedules WHERE status = 'ACTIVE' AND next_run_at IS NULL`)
	if runningBound >= 0 {
		f.staleRunning = one(`SELECT COUNT(*) FROM runs WHERE status = 'RUNNING' AND id <= ?`, runningBound)
	}
	f.maxRunID = one(`SELECT MAX(id) FROM runs`)
	rows, err := tx.QueryContext(ctx, `SELECT status, COUNT(*) FROM runs GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		f.byStatus[st] = n
		f.runs += n
	}
	rows.Close()
	finished := map[int64]int64{}
	rows, err = tx.QueryContext(ctx, `SELECT schedule_id, COUNT(*) FROM runs WHERE status <> 'RUNNING' GROUP BY schedule_id`)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		finished[id] = n
		total += n
	}
	rows.Close()
	finished[0] = total
	rows, err = tx.QueryContext(ctx, `SELECT scope, runs_success + runs_failed + runs_timeout + runs_dns_error + runs_connection_error + runs_interrupted FROM run_stats`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for rows.Next() {
		var scope, n int64
		if err := rows.Scan(&scope, &n); err != nil {
			t.Fatal(err)
		}
		seen[scope] = true
		if n != finished[scope] {
			f.badCounters = append(f.badCounters, fmt.Sprintf("scope %d: counters %d, finished runs %d", scope, n, finished[scope]))
		}
	}
	rows.Close()
	for id, n := range finished {
		if !seen[id] && n > 0 {
			f.badCounters = append(f.badCounters, fmt.Sprintf("schedule %d: %d finished runs and no counters", id, n))
		}
	}
	sort.Strings(f.badCounters)
	return f
}

func noRebind(q string) string { return q }

// requireSound fails the test if f breaks an invariant.
func requireSound(t *testing.T, when string, f dbFacts) {
	t.Helper()
	if f.duplicates != 0 {
		t.Errorf("%s: %d occurrences have more than one run", when, f.duplicates)
	}
	if f.activeNoNext != 0 {
		t.Errorf("%s: %d ACTIVE schedules have no next_run_at", when, f.activeNoNext)
	}
	if f.staleRunning != 0 {
		t.Errorf("%s: %d runs of a previous process are still RUNNING", when, f.staleRunning)
	}
	if len(f.badCounters) > 0 {
		t.Errorf("%s: counters differ from the runs: %v", when, f.badCounters)
	}
}

// gridFacts is what checkGrid found, summed over the schedules.
type gridFacts struct {
	occurrences int64 // grid slots from each schedule's first run to its last
	runs        int64
	missed      int64 // coalesced: due while nothing could fire them
	skipped     int64 // due while the schedule's previous run was in flight
	unaccounted int64 // slots that are none of the three
}

// checkGrid holds every schedule to its grid: between its first and its
// last run, each occurrence (first + k*interval) is exactly one of a run,
// a missed count (coalesced after downtime) or an overlap skip; no run is
// off the grid and no occurrence has two runs. afterLast is how many
// misses or skips may be counted past the last run (an occurrence that
// came due while the nodes were stopping). rebind turns ? into the
// database's placeholders.
func checkGrid(t *testing.T, db *sql.DB, rebind func(string) string, afterLast int64) gridFacts {
	t.Helper()
	f, problems := readGrid(t, db, rebind, afterLast)
	for _, p := range problems {
		t.Error(p)
	}
	return f
}

// readGrid is checkGrid's reading: the facts, and what breaks the rule.
func readGrid(t *testing.T, db *sql.DB, rebind func(string) string, afterLast int64) (gridFacts, []string) {
	t.Helper()
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin read: %v", err)
	}
	defer tx.Rollback()
	query := func(q string, args []any, scan func(*sql.Rows) error) {
		t.Helper()
		rows, err := tx.QueryContext(ctx, rebind(q), args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	type counts struct{ missed, skipped, intervalMs int64 }
	per := map[int64]*counts{}
	query(`SELECT s.id, s.interval_seconds, COALESCE(c.missed, 0), COALESCE(c.skipped_overlap, 0)
		FROM schedules s LEFT JOIN run_stats c ON c.scope = s.id`, nil, func(rows *sql.Rows) error {
		var id int64
		c := &counts{}
		if err := rows.Scan(&id, &c.intervalMs, &c.missed, &c.skipped); err != nil {
			return err
		}
		c.intervalMs *= 1000
		per[id] = c
		return nil
	})
	var f gridFacts
	var id, first, prev int64 = -1, 0, 0
	var n int64
	finish := func() {
		if id < 0 {
			return
		}
		c := per[id]
		span := (prev-first)/c.intervalMs + 1
		f.occurrences += span
		f.runs += n
		f.missed += c.missed
		f.skipped += c.skipped
		if accounted := n + c.missed + c.skipped; accounted < span || accounted > span+afterLast {
			f.unaccounted += span - accounted
			problem("schedule %d: %d runs + %d missed + %d skipped, its grid has %d occurrences from the first run to the last",
				id, n, c.missed, c.skipped, span)
		}
	}
	query(`SELECT schedule_id, scheduled_at FROM runs ORDER BY schedule_id, scheduled_at`, nil, func(rows *sql.Rows) error {
		var sid, at int64
		if err := rows.Scan(&sid, &at); err != nil {
			return err
		}
		if sid != id {
			finish()
			if per[sid] == nil {
				t.Fatalf("runs of schedule %d, which has no row", sid)
			}
			id, first, prev, n = sid, at, at, 1
			return nil
		}
		switch iv := per[sid].intervalMs; {
		case at == prev:
			problem("schedule %d: two runs of the occurrence at %d", sid, at)
		case (at-first)%iv != 0:
			problem("schedule %d: a run at %d, off its grid (first run %d, every %d ms)", sid, at, first, iv)
		}
		prev = at
		n++
		return nil
	})
	finish()
	return f, problems
}

// requireCleanStop is what a fault test checks once apicron has stopped
// cleanly: the database is sound (requireSound), no run is left RUNNING,
// every request the target received is a run of its occurrence with
// status want ("" for any), none sent twice, and the history checker finds
// the whole history sound. It returns the database's
// facts and how many requests were sent.
func requireCleanStop(t *testing.T, db *sql.DB, rebind func(string) string, seen *arrivals, when, want string) (dbFacts, int) {
	t.Helper()
	f := checkDatabase(t, db, 1<<62, rebind)
	requireSound(t, when, f)
	if f.byStatus["RUNNING"] != 0 {
		t.Errorf("%s: %d runs RUNNING after a clean stop", when, f.byStatus["RUNNING"])
	}
	lost := checkArrivalsRecorded(t, db, rebind, seen, want)
	total, twice := seen.counts()
	if lost > 0 || twice > 0 {
		t.Errorf("%s: %d of %d requests sent have no %s run; %d sent twice", when, lost, total, cmp.Or(want, "recorded"), twice)
	}
	driver := "pgx"
	if db.QueryRow("SELECT sqlite_version()").Scan(new(string)) == nil {
		driver = "sqlite"
	}
	requireHistory(t, db, driver, seen.log)
	return f, total
}

// checkArrivalsRecorded holds every request a target received to a run
// of its occurrence in the database, with status want ("" for any): no
// result dropped, at most once both ways. It returns how many lack one,
// and reports the first few.
func checkArrivalsRecorded(t *testing.T, db *sql.DB, rebind func(string) string, seen *arrivals, want string) int {
	t.Helper()
	lost := 0
	for o := range seen.snapshot() {
		sid, _ := strconv.ParseInt(o.schedule, 10, 64)
		at, err := time.Parse(time.RFC3339Nano, o.scheduledAt)
		if err != nil {
			t.Fatalf("X-Apicron-Scheduled-At %q: %v", o.scheduledAt, err)
		}
		var status string
		err = db.QueryRow(rebind(`SELECT status FROM runs WHERE schedule_id = ? AND scheduled_at = ?`), sid, at.UnixMilli()).Scan(&status)
		if err == nil && (want == "" || status == want) {
			continue
		}
		lost++
		if lost <= 5 {
			if errors.Is(err, sql.ErrNoRows) {
				t.Errorf("occurrence %v reached the target and has no run row", o)
			} else {
				t.Errorf("occurrence %v reached the target; its run is %q (%v), want %q", o, status, err, want)
			}
		}
	}
	return lost
}

// pgRebind turns ? into PostgreSQL's $1, $2, ...
func pgRebind(q string) string {
	n := 0
	return regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return "$" + strconv.Itoa(n) })
}

// pgSchemaURL makes a fresh schema in the database of APICRON_TEST_POSTGRES_URL
// and returns a URL that uses it, or skips the test without the variable.
func pgSchemaURL(t *testing.T) (string, *sql.DB) {
	t.Helper()
	base := os.Getenv("APICRON_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("APICRON_TEST_POSTGRES_URL is not set; skipping the PostgreSQL cluster test")
	}
	schema := fmt.Sprintf("cluster_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	url := base + sep + "search_path=" + schema
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return url, db
}

// TestCheckGrid holds the grid check to what it must find, on the database
// a real server left: nothing when untouched; a run moved off the grid, a
// run deleted (an occurrence neither run nor counted), a miss counted twice.
func TestCheckGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a schedule for 3 s to check the long tests' grid check: long end-to-end test; run without -short")
	}
	t.Parallel()
	ts, _ := okTarget(t)
	path := filepath.Join(t.TempDir(), "grid.db")
	s := startServer(t, path, nil)
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	sid := createSchedule(t, s, map[string]any{"name": "every-second", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	waitFor(t, 10*time.Second, "four runs", func() bool { return len(finished(runsOf(t, s.url, sid))) >= 4 })
	s.stop()

	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	f, problems := readGrid(t, db, noRebind, 0)
	if len(problems) != 0 || f.runs < 4 || f.occurrences != f.runs+f.missed+f.skipped {
		t.Fatalf("untouched: %+v %q, want every occurrence a run, a miss or a skip", f, problems)
	}
	var second int64
	if err := db.QueryRow(`SELECT scheduled_at FROM runs WHERE schedule_id = ? ORDER BY scheduled_at LIMIT 1 OFFSET 1`, sid).Scan(&second); err != nil {
		t.Fatal(err)
	}
	mustExec(`UPDATE runs SET scheduled_at = scheduled_at + 500 WHERE schedule_id = ? AND scheduled_at = ?`, sid, second)
	if _, problems := readGrid(t, db, noRebind, 0); len(problems) != 1 || !strings.Contains(problems[0], "off its grid") {
		t.Errorf("a run off the grid: %q", problems)
	}
	mustExec(`DELETE FROM runs WHERE schedule_id = ? AND scheduled_at = ?`, sid, second+500)
	if f, problems := readGrid(t, db, noRebind, 0); len(problems) != 1 || !strings.Contains(problems[0], "its grid has") || f.unaccounted != 1 {
		t.Errorf("an occurrence neither run nor counted: %+v %q", f, problems)
	}
	mustExec(`UPDATE run_stats SET missed = missed + 2 WHERE scope = ?`, sid)
	if _, problems := readGrid(t, db, noRebind, 0); len(problems) != 1 || !strings.Contains(problems[0], "its grid has") {
		t.Errorf("one occurrence counted as missed twice: %q", problems)
	}
	if _, problems := readGrid(t, db, noRebind, 1); len(problems) != 0 {
		t.Errorf("one count past the last run, allowed: %q", problems)
	}
}
