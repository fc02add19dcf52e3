package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
)

// envInt is the positive number the environment variable name holds, or
// def when it is unset: a long variant of a fault test runs with more.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// TestReliability_RollingRestart runs three real apicron processes on one
// PostgreSQL database with schedules every second, and restarts them one at
// a time, as an upgrade would: SIGTERM, wait for the exit, start the same
// node again, wait until it answers healthy, let it work a few seconds, then
// the next. No occurrence runs twice, no schedule goes longer than the lease
// without a run, and every slot of each schedule's grid is a run, a counted
// miss or a counted overlap skip.
func TestReliability_RollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts three processes under load: long end-to-end test; run without -short")
	}
	url, db := pgSchemaURL(t)
	bin := buildBinary(t)
	n := envInt(t, "APICRON_TEST_ROLLING_SCHEDULES", 200) // the full test: 1000

	var mu sync.Mutex
	arrivals := map[occurrence]int{}
	var requests atomic.Int64
	sinkLog := histcheck.NewLog(nil)
	sink := httptest.NewServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		mu.Lock()
		arrivals[occurrence{r.Header.Get("X-Apicron-Schedule-Id"), r.Header.Get("X-Apicron-Scheduled-At")}]++
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	})))
	defer sink.Close()

	type node struct {
		id   string
		cmd  *exec.Cmd
		url  string
		logs *logWatcher
	}
	start := func(id string) *node {
		cmd, u, logs := startBinaryLogs(t, bin, []string{"DATABASE_URL=" + url, "NODE_ID=" + id, "SHUTDOWN_GRACE=5s"}, "--port", "0")
		return &node{id: id, cmd: cmd, url: u, logs: logs}
	}
	var nodes []*node
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, start(fmt.Sprintf("node-%d", i)))
	}
	role := func(nd *node) string {
		var h struct {
			Role string `json:"role"`
		}
		if call(t, "GET", nd.url+"/health", nil, &h) != 200 {
			return ""
		}
		return h.Role
	}
	waitFor(t, 10*time.Second, "a leader", func() bool {
		for _, nd := range nodes {
			if role(nd) == "leader" {
				return true
			}
		}
		return false
	})
	api := &server{url: nodes[0].url}
	tid := createTarget(t, api, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range n {
		createSchedule(t, api, map[string]any{"name": fmt.Sprint("s", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	time.Sleep(5 * time.Second)

	type restart struct {
		node           string
		wasLeader      bool
		exit, healthy  time.Duration
		stoppedAt      time.Time
		nextLeaderTook time.Duration
	}
	var restarts []restart
	for i, nd := range nodes {
		r := restart{node: nd.id, wasLeader: role(nd) == "leader"}
		r.stoppedAt = time.Now()
		if err := nd.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := nd.cmd.Wait(); err != nil {
			t.Errorf("%s did not exit cleanly: %v", nd.id, err)
		}
		r.exit = time.Since(r.stoppedAt)
		if r.wasLeader {
			waitFor(t, 10*time.Second, "another node to lead", func() bool {
				for _, o := range nodes {
					if o != nd && role(o) == "leader" {
						r.nextLeaderTook = time.Since(r.stoppedAt)
						return true
					}
				}
				return false
			})
		}
		nodes[i] = start(nd.id)
		waitFor(t, 15*time.Second, nd.id+" healthy again", func() bool { return role(nodes[i]) != "" })
		r.healthy = time.Since(r.stoppedAt)
		restarts = append(restarts, r)
		time.Sleep(4 * time.Second)
	}
	for _, nd := range nodes {
		_ = nd.cmd.Process.Signal(syscall.SIGTERM)
		if err := nd.cmd.Wait(); err != nil {
			t.Errorf("%s did not exit cleanly: %v", nd.id, err)
		}
	}

	// No occurrence twice, in the database or at the target.
	facts := checkDatabase(t, db, -1, pgRebind)
	dupes, running := facts.duplicates, facts.byStatus["RUNNING"]
	if dupes != 0 {
		t.Errorf("%d duplicate (schedule_id, scheduled_at) in runs", dupes)
	}
	mu.Lock()
	twice := 0
	for o, c := range arrivals {
		if c > 1 {
			twice++
			if twice <= 10 {
				t.Errorf("occurrence %v arrived %d times", o, c)
			}
		}
	}
	mu.Unlock()
	if running != 0 {
		t.Errorf("%d runs left RUNNING", running)
	}
	// The longest gap between two runs of one schedule: at most the lease.
	var worstGap int64
	var worstSchedule int64
	rows, err := db.Query(`SELECT schedule_id, MAX(gap) FROM (
		SELECT schedule_id, scheduled_at - LAG(scheduled_at) OVER (PARTITION BY schedule_id ORDER BY scheduled_at) AS gap FROM runs) g
		GROUP BY schedule_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var gap *int64
		if err := rows.Scan(&id, &gap); err != nil {
			t.Fatal(err)
		}
		if gap != nil && *gap > worstGap {
			worstGap, worstSchedule = *gap, id
		}
	}
	rows.Close()
	if time.Duration(worstGap)*time.Millisecond > leaseTTL {
		t.Errorf("schedule %d went %d ms without a run, longer than the lease (%v)", worstSchedule, worstGap, leaseTTL)
	}
	grid := checkGrid(t, db, pgRebind, 1)
	requireHistory(t, db, "pgx", sinkLog)
	perNode := map[string]int{}
	rows, err = db.Query("SELECT node_id, COUNT(*) FROM runs GROUP BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		perNode[id] = c
	}
	rows.Close()
	for _, r := range restarts {
		t.Logf("restart of %s (leader: %v): exited %.1fs after SIGTERM, healthy again %.1fs after; another node led %.1fs after",
			r.node, r.wasLeader, r.exit.Seconds(), r.healthy.Seconds(), r.nextLeaderTook.Seconds())
	}
	t.Logf("rolling restart of 3 nodes, %d schedules at 1 s: %d requests, %d occurrences on the grid, %d runs, %d missed, %d skipped; runs by status %v, per node %v; 0 RUNNING left: %v; duplicates in db %d, at the target %d; longest gap on a schedule %d ms",
		n, requests.Load(), grid.occurrences, grid.runs, grid.missed, grid.skipped, facts.byStatus, perNode, running == 0, dupes, twice, worstGap)
}
