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
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to read the database file read-only
)

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

// arrivals counts the requests a target received per occurrence.
type arrivals struct {
	mu sync.Mutex
	m  map[sinkOccurrence]int
}

func newArrivals() *arrivals { return &arrivals{m: map[sinkOccurrence]int{}} }

func (a *arrivals) add(r *http.Request) {
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
