package main

// Stopping and killing the real binary: SIGTERM with requests in flight,
// SIGKILL over and over under load.

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
)

// TestReliability_SIGTERM stops the real binary with SIGTERM while requests
// are in flight. Within SHUTDOWN_GRACE they finish and are recorded; past it
// they are cut and recorded INTERRUPTED. Either way nothing is claimed after
// the signal and the process exits 0.
func TestReliability_SIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary: long end-to-end test; run without -short")
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
			sinkLog := histcheck.NewLog(nil)
			slow := httptest.NewServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			})))
			t.Cleanup(slow.Close)
			var lastHit time.Time
			fast := httptest.NewServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				lastHit = time.Now()
				mu.Unlock()
				_, _ = w.Write([]byte("ok"))
			})))
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
			requireHistory(t, ro, "sqlite", sinkLog)
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
		t.Skip("kills the real binary for about a minute: long end-to-end test; run without -short")
	}
	// APICRON_TEST_KILLS and APICRON_TEST_KILL_SCHEDULES make the loop
	// longer (the documented run: 100 kills, 200 schedules).
	schedules, minKills := envInt(t, "APICRON_TEST_KILL_SCHEDULES", 50), envInt(t, "APICRON_TEST_KILLS", 20)
	maxKills := minKills * 3 / 2
	softLimit := time.Duration(minKills) * 2250 * time.Millisecond // no kill starts after this once minKills are done
	hardLimit := time.Duration(minKills) * 4250 * time.Millisecond // no kill starts after this at all
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
	// Every request the target saw is a run in the database, none sent
	// twice (at-most-once holds in both directions: nothing sent without
	// its run row).
	final, total := requireCleanStop(t, ro, noRebind, seen, "after the clean stop", "")
	// Every occurrence of each schedule's grid ran or was counted:
	// coalesced after a kill (missed) or skipped because its previous run
	// was still in flight.
	grid := checkGrid(t, ro, noRebind, 0)

	sort.Slice(restartTimes, func(i, j int) bool { return restartTimes[i] < restartTimes[j] })
	t.Logf("%d SIGKILLs in %v (down %v in all); runs %d %v; occurrences at the target %d; runs left RUNNING by the kills %d (per kill %v), all INTERRUPTED before the API answered; missed (coalesced) %d, skipped (overlap) %d, unaccounted %d; duplicates %d; restart to listening median %v, max %v",
		kills, time.Since(began).Round(time.Second), downtime.Round(100*time.Millisecond), final.runs, final.byStatus, total, checkedRunning, leftRunning,
		grid.missed, grid.skipped, grid.unaccounted, final.duplicates, restartTimes[len(restartTimes)/2].Round(time.Millisecond), restartTimes[len(restartTimes)-1].Round(time.Millisecond))
}
