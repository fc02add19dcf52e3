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
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// TestReliability_SIGTERM stops the real binary with SIGTERM while requests
// are in flight. Within SHUTDOWN_GRACE they finish and are recorded; past it
// they are cut and recorded INTERRUPTED. Either way nothing is claimed after
// the signal and the process exits 0.
func TestReliability_SIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary")
	}
	bin := buildBinary(t)
	cases := []struct {
		name      string
		grace     time.Duration
		handler   time.Duration
		want      string // status of the runs in flight
		exitUnder time.Duration
	}{
		{"requests finish within the grace", 5 * time.Second, 2 * time.Second, "SUCCESS", 5*time.Second + 5*time.Second},
		{"grace elapses", time.Second, 10 * time.Second, "INTERRUPTED", time.Second + 6*time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var arrived, cancelled, completed int64
			var mu sync.Mutex
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				arrived++
				mu.Unlock()
				select {
				case <-time.After(c.handler):
					mu.Lock()
					completed++
					mu.Unlock()
					_, _ = w.Write([]byte("done"))
				case <-r.Context().Done():
					mu.Lock()
					cancelled++
					mu.Unlock()
				}
			}))
			t.Cleanup(slow.Close)
			var lastHit time.Time
			fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				lastHit = time.Now()
				mu.Unlock()
				_, _ = w.Write([]byte("ok"))
			}))
			t.Cleanup(fast.Close)

			db := t.TempDir() + "/term.db"
			cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=" + c.grace.String()}, "--port", "0", "--database-url", "sqlite:///"+db)
			s := &server{url: url}
			ft := createTarget(t, s, map[string]any{"name": "fast", "url": fast.URL})
			every := createSchedule(t, s, map[string]any{"name": "every-second", "target_id": ft, "schedule_type": "INTERVAL", "interval_seconds": 1})
			st := createTarget(t, s, map[string]any{"name": "slow", "url": slow.URL, "timeout_seconds": 30})
			const inFlight = 5
			for i := range inFlight {
				createSchedule(t, s, map[string]any{"name": fmt.Sprintf("slow-%d", i), "target_id": st, "schedule_type": "INTERVAL", "interval_seconds": 3600})
			}
			waitFor(t, 10*time.Second, "the slow requests to reach the target", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return arrived == inFlight
			})

			signalled := time.Now()
			took, err := stopProcess(t, cmd, syscall.SIGTERM, c.exitUnder+10*time.Second)
			if err != nil {
				t.Errorf("exit after SIGTERM: %v, want status 0", err)
			}
			if took > c.exitUnder {
				t.Errorf("exit took %v after SIGTERM, want under %v (grace %v)", took.Round(time.Millisecond), c.exitUnder, c.grace)
			}

			ro := openReadOnly(t, db)
			defer ro.Close()
			f := checkDatabase(t, ro, 1<<62, noRebind)
			requireSound(t, "after SIGTERM", f)
			rows, err := ro.Query(`SELECT schedule_id, status, error_type, finished_at FROM runs WHERE schedule_id <> ?`, every)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var id, finishedAt int64
				var status, errType string
				if err := rows.Scan(&id, &status, &errType, &finishedAt); err != nil {
					t.Fatal(err)
				}
				got = append(got, status)
				if status != c.want {
					t.Errorf("run of schedule %d: %s %q, want %s", id, status, errType, c.want)
				}
				if c.want == "INTERRUPTED" && errType != "interrupted" {
					t.Errorf("run of schedule %d: error_type %q, want interrupted", id, errType)
				}
			}
			rows.Close()
			if len(got) != inFlight {
				t.Errorf("%d runs of the slow schedules, want %d", len(got), inFlight)
			}
			// Nothing claimed after the signal: an occurrence is claimed at
			// most 50 ms ahead, so none may be due later than that (plus
			// room for a step already under way when the signal came).
			var late int64
			if err := ro.QueryRow(`SELECT COUNT(*) FROM runs WHERE schedule_id = ? AND scheduled_at > ?`, every, signalled.Add(500*time.Millisecond).UnixMilli()).Scan(&late); err != nil {
				t.Fatal(err)
			}
			if late > 0 {
				t.Errorf("%d occurrences claimed after SIGTERM", late)
			}
			mu.Lock()
			if !lastHit.IsZero() && lastHit.After(signalled.Add(time.Second)) {
				t.Errorf("the every-second target was called %v after SIGTERM", lastHit.Sub(signalled).Round(time.Millisecond))
			}
			t.Logf("grace %v, handler %v: exit status 0 after %v; runs in flight %v; target saw %d completed, %d cancelled; runs by status %v",
				c.grace, c.handler, took.Round(time.Millisecond), got, completed, cancelled, f.byStatus)
			mu.Unlock()
		})
	}
}

// TestReliability_KillLoop runs the real binary under load (50 schedules
// every second against a target answering in 0 to 300 ms) and kills it with
// SIGKILL at random moments, at least 20 times, restarting it each time.
// After every kill and every restart the database file must hold no
// occurrence twice, no ACTIVE schedule without a next run, no run of a dead
// process still RUNNING once the new one answers, and counters equal to the
// run rows; the target must never see an occurrence twice.
func TestReliability_KillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary for about a minute")
	}
	const (
		schedules = 50
		minKills  = 20
		maxKills  = 30
		softLimit = 45 * time.Second // no kill starts after this once minKills are done
		hardLimit = 85 * time.Second // no kill starts after this at all
	)
	// APICRON_TEST_SEED replays a run's random delays (the moments still
	// depend on how fast the machine is).
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("APICRON_TEST_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("APICRON_TEST_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	var rngMu sync.Mutex
	randDuration := func(lo, hi time.Duration) time.Duration {
		rngMu.Lock()
		defer rngMu.Unlock()
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	t.Logf("seed %d", seed)

	seen := newArrivals()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		select {
		case <-time.After(randDuration(0, 300*time.Millisecond)):
			_, _ = w.Write([]byte(`{"ok":true}`))
		case <-r.Context().Done():
		}
	}))
	defer sink.Close()

	bin := buildBinary(t)
	db := t.TempDir() + "/kill.db"
	start := func() (*exec.Cmd, string) {
		return startBinary(t, bin, []string{"SHUTDOWN_GRACE=3s"}, "--port", "0", "--database-url", "sqlite:///"+db)
	}
	cmd, url := start()
	tid := createTarget(t, &server{url: url}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range schedules {
		createSchedule(t, &server{url: url}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}

	began := time.Now()
	var (
		kills          int
		leftRunning    []int64 // runs left RUNNING by each kill
		restartTimes   []time.Duration
		downtime       time.Duration
		checkedRunning int64
		checkedUpTo    int64 // runs up to this id were checked for duplicates
	)
	for kills < maxKills {
		elapsed := time.Since(began)
		if (kills >= minKills && elapsed > softLimit) || elapsed > hardLimit {
			break
		}
		time.Sleep(randDuration(300*time.Millisecond, 2*time.Second))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++

		// What the dead process left on disk: where its runs end, and
		// how many it left RUNNING.
		ro := openReadOnly(t, db)
		var deadMax, deadRunning int64
		if err := ro.QueryRow(`SELECT COALESCE(MAX(id), 0), (SELECT COUNT(*) FROM runs WHERE status = 'RUNNING') FROM runs`).Scan(&deadMax, &deadRunning); err != nil {
			t.Fatal(err)
		}
		ro.Close()
		leftRunning = append(leftRunning, deadRunning)

		// Stay down a while after every other kill, so that occurrences
		// fall due while nothing runs and the restart must coalesce them
		// (not when running late: the kills matter more).
		var down time.Duration
		if kills%2 == 1 && time.Since(began) < softLimit {
			down = randDuration(0, 1500*time.Millisecond)
		}
		time.Sleep(down)
		downtime += down
		restarted := time.Now()
		cmd, _ = start()
		restartTimes = append(restartTimes, time.Since(restarted))
		// The new process answers: the dead one's runs are finished by now.
		ro = openReadOnly(t, db)
		live := checkDatabaseSince(t, ro, deadMax, checkedUpTo, noRebind)
		ro.Close()
		requireSound(t, fmt.Sprintf("after restart %d", kills), live)
		checkedRunning += deadRunning
		checkedUpTo = deadMax
		if t.Failed() {
			break
		}
	}
	if kills < minKills {
		t.Errorf("only %d kills in %v, want at least %d", kills, time.Since(began).Round(time.Second), minKills)
	}

	// Let the last process run a little, then stop it cleanly.
	time.Sleep(2 * time.Second)
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 20*time.Second); err != nil {
		t.Errorf("clean stop after the kill loop: %v", err)
	}
	ro := openReadOnly(t, db)
	defer ro.Close()
	final := checkDatabase(t, ro, 1<<62, noRebind)
	requireSound(t, "after the clean stop", final)
	if final.byStatus["RUNNING"] != 0 {
		t.Errorf("%d runs RUNNING after a clean stop", final.byStatus["RUNNING"])
	}
	total, twice := seen.counts()
	if twice != 0 {
		t.Errorf("%d occurrences reached the target more than once", twice)
	}

	// Every request the target saw is a run in the database (at-most-once
	// holds in both directions: nothing sent without its run row).
	var missing int
	for o := range seen.snapshot() {
		sid, _ := strconv.ParseInt(o.schedule, 10, 64)
		at, err := time.Parse(time.RFC3339Nano, o.scheduledAt)
		if err != nil {
			t.Fatalf("X-Apicron-Scheduled-At %q: %v", o.scheduledAt, err)
		}
		var n int
		if err := ro.QueryRow(`SELECT COUNT(*) FROM runs WHERE schedule_id = ? AND scheduled_at = ?`, sid, at.UnixMilli()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d occurrences reached the target without a run row", missing)
	}

	// Every occurrence on each schedule's grid between its first and last
	// run either ran or was counted: coalesced after a kill (missed) or
	// skipped because its previous run was still in flight.
	accounted := map[int64]int64{}
	rows, err := ro.Query(`SELECT scope, missed + skipped_overlap FROM run_stats WHERE scope > 0`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		accounted[id] = n
	}
	rows.Close()
	rows, err = ro.Query(`SELECT schedule_id, COUNT(*), MIN(scheduled_at), MAX(scheduled_at) FROM runs GROUP BY schedule_id`)
	if err != nil {
		t.Fatal(err)
	}
	var unaccounted int64
	for rows.Next() {
		var id, n, first, last int64
		if err := rows.Scan(&id, &n, &first, &last); err != nil {
			t.Fatal(err)
		}
		grid := (last-first)/1000 + 1
		if n+accounted[id] != grid {
			unaccounted += grid - n - accounted[id]
			t.Errorf("schedule %d: %d runs + %d missed or skipped, its grid has %d occurrences", id, n, accounted[id], grid)
		}
	}
	rows.Close()
	var missed, skipped int64
	if err := ro.QueryRow(`SELECT missed, skipped_overlap FROM run_stats WHERE scope = 0`).Scan(&missed, &skipped); err != nil {
		t.Fatal(err)
	}

	sort.Slice(restartTimes, func(i, j int) bool { return restartTimes[i] < restartTimes[j] })
	t.Logf("%d SIGKILLs in %v (down %v in all); runs %d %v; occurrences at the target %d, twice 0=%v; runs left RUNNING by the kills %d (per kill %v), all INTERRUPTED before the API answered; missed (coalesced) %d, skipped (overlap) %d, unaccounted %d; duplicates %d; restart to listening median %v, max %v",
		kills, time.Since(began).Round(time.Second), downtime.Round(100*time.Millisecond), final.runs, final.byStatus, total, twice == 0, checkedRunning, leftRunning,
		missed, skipped, unaccounted, final.duplicates, restartTimes[len(restartTimes)/2].Round(time.Millisecond), restartTimes[len(restartTimes)-1].Round(time.Millisecond))
}

// mountSmallFS mounts a tmpfs of size bytes on a new directory and returns
// it; it is unmounted when the test ends. Without the right to mount (not
// root, or no CAP_SYS_ADMIN) the test skips.
func mountSmallFS(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir() + "/small"
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes to path until the filesystem is full and returns how
// many bytes it wrote.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// TestReliability_SQLiteDiskFull fills the filesystem that holds the SQLite
// database while the service fires 20 schedules every second, keeps it full
// for a while, then frees it. While writes fail the process stays up, /health
// answers 503 and says why, and the results of requests already sent wait in
// memory; once there is room again it recovers by itself and writes them:
// every request the target saw ends as a recorded run.
func TestReliability_SQLiteDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary on a filesystem it fills")
	}
	dir := mountSmallFS(t, 32<<20)
	seen := newArrivals()
	body := strings.Repeat("0123456789abcdef", 256) // 4 KiB per run, so the database grows
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		time.Sleep(100 * time.Millisecond)
		_, _ = w.Write([]byte(body))
	}))
	defer sink.Close()

	bin := buildBinary(t)
	db := dir + "/full.db"
	cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=5s"}, "--port", "0", "--database-url", "sqlite:///"+db)
	tid := createTarget(t, &server{url: url}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range 20 {
		createSchedule(t, &server{url: url}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	time.Sleep(3 * time.Second)
	if code, h := healthOf(url); code != 200 {
		t.Fatalf("health before the disk fills: %d %v", code, h)
	}

	filler := dir + "/filler"
	filled := time.Now()
	wrote := fillDisk(t, filler)
	var (
		unhealthy  time.Duration
		reason     string
		maxPending float64
	)
	waitFor(t, 30*time.Second, "/health to report the failing writes", func() bool {
		code, h := healthOf(url)
		if code == 503 {
			unhealthy = time.Since(filled)
			reason, _ = h["error"].(string)
			return true
		}
		return false
	})
	// Stay full for a while: the process must stay up and keep saying so.
	stillDown := 0
	for range 10 {
		time.Sleep(500 * time.Millisecond)
		code, h := healthOf(url)
		if code == 503 {
			stillDown++
		}
		if e, ok := h["engine"].(map[string]any); ok {
			if p, ok := e["pending_results"].(float64); ok {
				maxPending = max(maxPending, p)
			}
		}
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process died while the disk was full: %v", err)
	}
	if !strings.Contains(reason, "SQLITE_FULL") {
		t.Errorf("/health does not say the disk is full: %q", reason)
	}
	if stillDown < 8 {
		t.Errorf("/health answered 503 %d times of 10 while the disk stayed full", stillDown)
	}

	freed := time.Now()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var recovered time.Duration
	waitFor(t, 30*time.Second, "/health to recover", func() bool {
		code, _ := healthOf(url)
		if code == 200 {
			recovered = time.Since(freed)
			return true
		}
		return false
	})
	// Runs resume: occurrences are claimed again after the disk was freed.
	time.Sleep(3 * time.Second)
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}

	ro := openReadOnly(t, db)
	defer ro.Close()
	f := checkDatabase(t, ro, 1<<62, noRebind)
	requireSound(t, "after the disk was full", f)
	var after int64
	if err := ro.QueryRow(`SELECT COUNT(*) FROM runs WHERE scheduled_at > ?`, freed.UnixMilli()).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after == 0 {
		t.Errorf("no run after the disk was freed")
	}
	// Every request the target saw is a finished, successful run: no result
	// was dropped while the database could not take it.
	var lost int
	for o := range seen.snapshot() {
		sid, _ := strconv.ParseInt(o.schedule, 10, 64)
		at, _ := time.Parse(time.RFC3339Nano, o.scheduledAt)
		var status string
		if err := ro.QueryRow(`SELECT status FROM runs WHERE schedule_id = ? AND scheduled_at = ?`, sid, at.UnixMilli()).Scan(&status); err != nil || status != "SUCCESS" {
			lost++
			if lost < 5 {
				t.Errorf("occurrence %v reached the target; its run is %q (%v)", o, status, err)
			}
		}
	}
	total, twice := seen.counts()
	if lost > 0 || twice > 0 {
		t.Errorf("%d of %d requests sent have no SUCCESS run; %d sent twice", lost, total, twice)
	}
	t.Logf("disk filled (%d KiB written) -> /health 503 after %v: %q; results waiting in memory up to %.0f; freed -> /health 200 after %v; runs %v; requests sent %d, all recorded",
		wrote>>10, unhealthy.Round(time.Millisecond), reason, maxPending, recovered.Round(time.Millisecond), f.byStatus, total)
}

// TestReliability_SQLiteWriteLocked holds SQLite's write lock from another
// connection (as a backup tool or a forgotten sqlite3 shell with an open
// transaction would) for longer than the service's busy timeout. The
// service's writes wait, then fail; /health says so within a few seconds
// and recovers once the lock is released, and every request sent is recorded.
func TestReliability_SQLiteWriteLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("holds the database's write lock for 14 s")
	}
	seen := newArrivals()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		time.Sleep(50 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	}))
	defer sink.Close()
	bin := buildBinary(t)
	db := t.TempDir() + "/locked.db"
	cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=5s"}, "--port", "0", "--database-url", "sqlite:///"+db)
	tid := createTarget(t, &server{url: url}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range 10 {
		createSchedule(t, &server{url: url}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	time.Sleep(2 * time.Second)

	other, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	locked := time.Now()
	var (
		unhealthy      time.Duration
		reasons        []string
		sawBusy        bool
		sentDuringLock int
	)
	before, _ := seen.counts()
	for time.Since(locked) < lockHeld {
		time.Sleep(250 * time.Millisecond)
		code, h := healthOf(url)
		if code == 503 {
			if unhealthy == 0 {
				unhealthy = time.Since(locked)
			}
			reason, _ := h["error"].(string)
			if len(reasons) == 0 || reasons[len(reasons)-1] != reason {
				reasons = append(reasons, reason)
			}
			sawBusy = sawBusy || strings.Contains(reason, "SQLITE_BUSY")
		}
	}
	during, _ := seen.counts()
	sentDuringLock = during - before
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	conn.Close()
	other.Close()
	var recovered time.Duration
	waitFor(t, 30*time.Second, "/health to recover", func() bool {
		if code, _ := healthOf(url); code == 200 {
			recovered = time.Since(released)
			return true
		}
		return false
	})
	if unhealthy == 0 || unhealthy > 9*time.Second {
		t.Errorf("/health reported the blocked writes after %v, want within about %v", unhealthy, stuckWriteBound)
	}
	if !sawBusy {
		t.Errorf("/health never said the database was locked: %q", reasons)
	}
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process died: %v", err)
	}
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}
	ro := openReadOnly(t, db)
	defer ro.Close()
	f := checkDatabase(t, ro, 1<<62, noRebind)
	requireSound(t, "after the write lock", f)
	lost := 0
	for o := range seen.snapshot() {
		sid, _ := strconv.ParseInt(o.schedule, 10, 64)
		at, _ := time.Parse(time.RFC3339Nano, o.scheduledAt)
		var status string
		if err := ro.QueryRow(`SELECT status FROM runs WHERE schedule_id = ? AND scheduled_at = ?`, sid, at.UnixMilli()).Scan(&status); err != nil || status != "SUCCESS" {
			lost++
		}
	}
	total, twice := seen.counts()
	if lost > 0 || twice > 0 {
		t.Errorf("%d of %d requests sent have no SUCCESS run; %d sent twice", lost, total, twice)
	}
	var after int64
	if err := ro.QueryRow(`SELECT COUNT(*) FROM runs WHERE scheduled_at > ?`, released.UnixMilli()).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after == 0 {
		t.Errorf("no run after the lock was released")
	}
	busy := ""
	for _, r := range reasons {
		if strings.Contains(r, "SQLITE_BUSY") {
			busy = r
			break
		}
	}
	t.Logf("write lock held %v -> /health 503 after %v, saying %q, then %q; requests sent while locked %d; released -> /health 200 after %v; runs %v; requests sent %d, all recorded",
		lockHeld, unhealthy.Round(time.Millisecond), reasons[0], busy, sentDuringLock, recovered.Round(time.Millisecond), f.byStatus, total)
}

// stuckWriteBound is when /health should report a write stuck on a lock:
// the engine's threshold (5 s) plus the poll.
const stuckWriteBound = 6 * time.Second

// lockHeld is how long TestReliability_SQLiteWriteLocked holds the write
// lock: past the service's busy timeout (10 s), so that a write fails.
const lockHeld = 14 * time.Second

// TestReliability_PostgresBackendsTerminated runs the real binary on
// PostgreSQL under load (20 schedules every second) and cuts all its
// database connections again and again with pg_terminate_backend, as a
// server restart or a failover would. It must reconnect by itself, record
// every request it sent, and fire no occurrence twice. The PostgreSQL server
// is shared, so only this service's own connections are terminated: they
// carry an application_name of their own.
func TestReliability_PostgresBackendsTerminated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary on PostgreSQL for about 25 s")
	}
	url, db := pgSchemaURL(t)
	appName := fmt.Sprintf("apicron_reliability_%d", time.Now().UnixNano())
	url += "&application_name=" + appName
	rebind := func(q string) string {
		n := 0
		return regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return "$" + strconv.Itoa(n) })
	}

	seen := newArrivals()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		time.Sleep(time.Duration(rand.Int64N(int64(200 * time.Millisecond))))
		_, _ = w.Write([]byte("ok"))
	}))
	defer sink.Close()
	bin := buildBinary(t)
	cmd, u := startBinary(t, bin, []string{"DATABASE_URL=" + url, "NODE_ID=reliability", "SHUTDOWN_GRACE=5s"}, "--port", "0")
	waitFor(t, 15*time.Second, "the node to lead", func() bool {
		code, h := healthOf(u)
		return code == 200 && h["role"] == "leader"
	})
	tid := createTarget(t, &server{url: u}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range 20 {
		createSchedule(t, &server{url: u}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	time.Sleep(2 * time.Second)

	terminate := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`, appName).Scan(&n); err != nil {
			t.Fatalf("terminate the service's connections: %v", err)
		}
		return n
	}
	var (
		cuts       int
		terminated int
		recoveries []time.Duration // from a cut to the next run finished
		worst503   time.Duration   // from a cut to the last 503 of /health after it
	)
	began := time.Now()
	for time.Since(began) < 15*time.Second {
		time.Sleep(time.Duration(1000+rand.Int64N(1500)) * time.Millisecond)
		cut := time.Now()
		terminated += terminate()
		cuts++
		// Recovered: a run claimed after the cut has finished.
		waitFor(t, 20*time.Second, "a run after the connections were cut", func() bool {
			if code, _ := healthOf(u); code != 200 {
				worst503 = max(worst503, time.Since(cut))
			}
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM runs WHERE status = 'SUCCESS' AND started_at > $1`, cut.UnixMilli()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		})
		recoveries = append(recoveries, time.Since(cut))
		waitFor(t, 20*time.Second, "/health to recover", func() bool {
			code, _ := healthOf(u)
			if code != 200 {
				worst503 = max(worst503, time.Since(cut))
			}
			return code == 200
		})
	}
	time.Sleep(3 * time.Second)
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process died: %v", err)
	}
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}

	f := checkDatabase(t, db, 1<<62, rebind)
	requireSound(t, "after the connections were cut", f)
	if f.byStatus["RUNNING"] != 0 {
		t.Errorf("%d runs RUNNING after a clean stop", f.byStatus["RUNNING"])
	}
	lost := 0
	for o := range seen.snapshot() {
		sid, _ := strconv.ParseInt(o.schedule, 10, 64)
		at, _ := time.Parse(time.RFC3339Nano, o.scheduledAt)
		var status string
		if err := db.QueryRow(`SELECT status FROM runs WHERE schedule_id = $1 AND scheduled_at = $2`, sid, at.UnixMilli()).Scan(&status); err != nil || status != "SUCCESS" {
			lost++
			if lost <= 5 {
				t.Errorf("occurrence %v reached the target; its run is %q (%v)", o, status, err)
			}
		}
	}
	total, twice := seen.counts()
	if lost > 0 || twice > 0 {
		t.Errorf("%d of %d requests sent have no SUCCESS run; %d sent twice", lost, total, twice)
	}
	sort.Slice(recoveries, func(i, j int) bool { return recoveries[i] < recoveries[j] })
	t.Logf("%d cuts, %d backends terminated; /health 503 for at most %v after a cut; cut -> next run finished: median %v, max %v; runs %v; requests sent %d, twice %d, unrecorded %d; duplicates %d",
		cuts, terminated, worst503.Round(time.Millisecond), recoveries[len(recoveries)/2].Round(time.Millisecond), recoveries[len(recoveries)-1].Round(time.Millisecond),
		f.byStatus, total, twice, lost, f.duplicates)
}

// rawTarget is a TCP server that reads a request's head and then does
// whatever misbehave does with the connection, which it closes afterwards.
func rawTarget(t *testing.T, misbehave func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				misbehave(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// trickle writes one byte of s every gap until it is written or the peer goes.
func trickle(c net.Conn, s string, gap time.Duration) {
	for i := range len(s) {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(gap)
	}
}

// TestReliability_MisbehavingTargets fires, every second for 15 s, two
// schedules at each kind of target that misbehaves: one that never answers,
// one that trickles its head or its body, endless and gigabyte bodies, a
// redirect loop, a reset in the middle of the body, a close before any
// answer, bytes that are not HTTP, an untrusted certificate, and thousands
// of response headers. Every run must be classified as its kind demands,
// and the process's resident memory must stay under 150 MB and level.
func TestReliability_MisbehavingTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("fires at misbehaving targets for 15 s")
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer halt()
	serve := func(h http.HandlerFunc) string {
		ts := httptest.NewServer(h)
		t.Cleanup(ts.Close)
		t.Cleanup(halt) // runs first: handlers waiting on stop return
		return ts.URL
	}
	hang := serve(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	trickleBody := serve(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-stop:
				return
			}
		}
	})
	chunk := []byte(strings.Repeat("0123456789abcdef", 4096)) // 64 KiB
	endless := serve(func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	gigabyte := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		for n := 0; n < 1<<30; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	var loop string
	loop = serve(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop+"/again", http.StatusFound)
	})
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes apicron refuses
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	trickleHead := rawTarget(t, func(c net.Conn) {
		trickle(c, "HTTP/1.1 200 OK\r\nX-Slow: "+strings.Repeat("z", 100)+"\r\n\r\n", 100*time.Millisecond)
	})
	resetMidBody := rawTarget(t, func(c net.Conn) {
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n"))
		_, _ = c.Write(chunk)
		_ = c.(*net.TCPConn).SetLinger(0) // close with a RST
	})
	closeEarly := rawTarget(t, func(c net.Conn) {})
	// Responses with thousands of headers, built once: the target must not
	// be what slows the rounds down.
	withHeaders := func(n int, value string) string {
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n")
		for i := range n {
			fmt.Fprintf(&b, "X-Header-%d: %s\r\n", i, value)
		}
		b.WriteString("\r\nok")
		return b.String()
	}
	many, tooMany := withHeaders(3000, "value"), withHeaders(20000, "a value that takes some room")
	manyHeaders := rawTarget(t, func(c net.Conn) { _, _ = io.WriteString(c, many) })
	tooManyHeaders := rawTarget(t, func(c net.Conn) { _, _ = io.WriteString(c, tooMany) })
	notHTTP := rawTarget(t, func(c net.Conn) {
		_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 this is not HTTP\r\n\r\n"))
	})

	classes := []struct {
		name              string
		url               string
		timeout           float64
		status, errorType string
	}{
		{"hang", hang, 0.5, "TIMEOUT", "timeout"},
		{"trickled head", trickleHead, 1, "TIMEOUT", "timeout"},
		{"trickled body", trickleBody, 1, "TIMEOUT", "timeout"},
		{"endless body", endless, 5, "FAILED", "body_too_large"},
		{"gigabyte body", gigabyte, 5, "FAILED", "body_too_large"},
		{"redirect loop", loop, 5, "FAILED", "redirect_limit"},
		{"reset mid-body", resetMidBody, 5, "CONNECTION_ERROR", "connection"},
		{"closed before answering", closeEarly, 5, "CONNECTION_ERROR", "connection"},
		{"not HTTP", notHTTP, 5, "FAILED", "other"},
		{"untrusted certificate", tlsSrv.URL, 5, "CONNECTION_ERROR", "tls"},
		{"3000 headers", manyHeaders, 5, "SUCCESS", ""},
		{"headers over 256 KiB", tooManyHeaders, 5, "FAILED", "other"},
	}

	bin := buildBinary(t)
	db := t.TempDir() + "/targets.db"
	cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=10s"}, "--port", "0", "--database-url", "sqlite:///"+db)
	s := &server{url: url}
	class := map[int64]int{} // schedule id -> class
	for i, c := range classes {
		tid := createTarget(t, s, map[string]any{"name": c.name, "url": c.url, "timeout_seconds": c.timeout})
		for k := range 2 {
			id := createSchedule(t, s, map[string]any{"name": fmt.Sprintf("%s %d", c.name, k), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
			class[id] = i
		}
	}

	const rounds = 15 // seconds
	var rss []int64
	for range rounds {
		time.Sleep(time.Second)
		b, err := rssBytes(cmd.Process.Pid)
		if err != nil {
			t.Fatalf("read the process's RSS: %v", err)
		}
		rss = append(rss, b)
	}
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}

	ro := openReadOnly(t, db)
	defer ro.Close()
	f := checkDatabase(t, ro, 1<<62, noRebind)
	requireSound(t, "after the misbehaving targets", f)
	rows, err := ro.Query(`SELECT schedule_id, status, error_type, error_message FROM runs`)
	if err != nil {
		t.Fatal(err)
	}
	per := make([]int, len(classes))
	for rows.Next() {
		var id int64
		var status, errType, msg string
		if err := rows.Scan(&id, &status, &errType, &msg); err != nil {
			t.Fatal(err)
		}
		c := classes[class[id]]
		per[class[id]]++
		if status != c.status || errType != c.errorType {
			t.Errorf("%s: run %s %q (%s), want %s %q", c.name, status, errType, msg, c.status, c.errorType)
		}
	}
	rows.Close()
	var summary []string
	for i, c := range classes {
		if per[i] < rounds/2 {
			t.Errorf("%s: %d runs in %d s from 2 schedules at 1 s", c.name, per[i], rounds)
		}
		summary = append(summary, fmt.Sprintf("%s %d", c.name, per[i]))
	}

	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	peak, early, late := int64(0), int64(0), int64(0)
	for i, b := range rss {
		peak = max(peak, b)
		if i < rounds/3 {
			early = max(early, b)
		}
		if i >= rounds-rounds/3 {
			late = max(late, b)
		}
	}
	const limit = 150 << 20
	if peak > limit {
		t.Errorf("RSS peaked at %.1f MB, want under %.0f MB", mb(peak), mb(limit))
	}
	// Level: the last third of the rounds needs no more memory than the
	// first third did, give or take what a garbage-collected heap floats by.
	if late > early+early/2+(16<<20) {
		t.Errorf("RSS grows: %.1f MB in the first rounds, %.1f MB in the last", mb(early), mb(late))
	}
	var perRound []string
	for _, b := range rss {
		perRound = append(perRound, fmt.Sprintf("%.0f", mb(b)))
	}
	t.Logf("runs per class: %s; all classified as expected; RSS MB per second %s (peak %.1f, first third %.1f, last third %.1f)",
		strings.Join(summary, ", "), strings.Join(perRound, " "), mb(peak), mb(early), mb(late))
}
