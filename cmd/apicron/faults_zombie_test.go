package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
)

// zombieArrival is one request the sink of the zombie test received.
type zombieArrival struct {
	run, attempt int64
	occurrence   string // schedule id and scheduled time
	at           time.Time
}

// TestReliability_ZombieLeader runs two real apicron processes on one
// PostgreSQL database and stops the leader with SIGSTOP for 8 s, past its
// 5 s lease, while it holds runs it took: some waiting to retry after a
// failed first attempt, some due in the next instants. The other node takes
// the lease over and the reaper marks the stopped node's runs INTERRUPTED.
// Then SIGCONT: the old leader sends no request for a run it took before the
// stop (no retry, no late first attempt), claims nothing under its old
// lease, steps down, and works on as a follower.
func TestReliability_ZombieLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a node for 8 s: long end-to-end test; run without -short")
	}
	url, db := pgSchemaURL(t)
	bin := buildBinary(t)

	var mu sync.Mutex
	var arrivals []zombieArrival
	record := func(r *http.Request) int64 {
		attempt, _ := strconv.ParseInt(r.Header.Get("X-Apicron-Attempt"), 10, 64)
		run, _ := strconv.ParseInt(r.Header.Get("X-Apicron-Run-Id"), 10, 64)
		mu.Lock()
		arrivals = append(arrivals, zombieArrival{run: run, attempt: attempt, at: time.Now(),
			occurrence: r.Header.Get("X-Apicron-Schedule-Id") + "@" + r.Header.Get("X-Apicron-Scheduled-At")})
		mu.Unlock()
		return attempt
	}
	sinkLog := histcheck.NewLog(nil)
	steady := httptest.NewServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		_, _ = w.Write([]byte("ok"))
	})))
	defer steady.Close()
	// The first attempt fails with a 503: each run then waits 3 to 6 s to
	// retry, held by the node that took it.
	flaky := httptest.NewServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if record(r) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})))
	defer flaky.Close()

	type node struct {
		id   string
		pid  int
		url  string
		cmd  interface{ Wait() error }
		logs *logWatcher
	}
	var nodes []*node
	for i := 1; i <= 2; i++ {
		id := fmt.Sprintf("node-%d", i)
		cmd, u, logs := startBinaryLogs(t, bin, []string{"DATABASE_URL=" + url, "NODE_ID=" + id, "LEASE_TTL=5s", "SHUTDOWN_GRACE=2s"}, "--port", "0")
		nodes = append(nodes, &node{id: id, pid: cmd.Process.Pid, url: u, cmd: cmd, logs: logs})
	}
	type health struct {
		Role   string `json:"role"`
		Engine struct {
			LeaseEpoch int64 `json:"lease_epoch"`
		} `json:"engine"`
	}
	healthOfNode := func(n *node) health {
		var h health
		call(t, "GET", n.url+"/health", nil, &h)
		return h
	}
	var leader, other *node
	waitFor(t, 10*time.Second, "a leader", func() bool {
		for i, n := range nodes {
			if healthOfNode(n).Role == "leader" {
				leader, other = n, nodes[1-i]
				return true
			}
		}
		return false
	})

	api := &server{url: leader.url}
	steadyTarget := createTarget(t, api, map[string]any{"name": "steady", "url": steady.URL, "timeout_seconds": 5})
	flakyTarget := createTarget(t, api, map[string]any{"name": "flaky", "url": flaky.URL, "timeout_seconds": 5, "max_retries": 1,
		"retry_backoff_ms": 6000, "retry_max_backoff_ms": 6000})
	for i := range 20 {
		createSchedule(t, api, map[string]any{"name": fmt.Sprint("steady-", i), "target_id": steadyTarget, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	for i := range 12 {
		createSchedule(t, api, map[string]any{"name": fmt.Sprint("flaky-", i), "target_id": flakyTarget, "schedule_type": "INTERVAL", "interval_seconds": 10})
	}
	// The flaky schedules fire together, every 10 s: stop the leader 1 s
	// after they fire (their runs wait to retry), at least 4 s from now.
	var phase int64
	if err := db.QueryRow("SELECT MIN(next_run_at) FROM schedules WHERE name LIKE 'flaky-%'").Scan(&phase); err != nil {
		t.Fatal(err)
	}
	stopAt := time.UnixMilli(phase).Add(time.Second)
	for time.Until(stopAt) < 4*time.Second {
		stopAt = stopAt.Add(10 * time.Second)
	}
	// Whichever node takes first takes the flaky schedules' runs of one
	// claim, all or most of them: the leader is stopped after a round in
	// which it holds some (up to five rounds).
	for round := 1; ; round++ {
		time.Sleep(time.Until(stopAt))
		var held int
		if err := db.QueryRow(`SELECT COUNT(*) FROM runs r JOIN schedules s ON s.id = r.schedule_id
			WHERE s.name LIKE 'flaky-%' AND r.status = 'RUNNING' AND r.node_id = $1`, leader.id).Scan(&held); err != nil {
			t.Fatal(err)
		}
		if held > 0 || round == 5 {
			t.Logf("round %d: the leader holds %d runs of the flaky schedules", round, held)
			break
		}
		stopAt = stopAt.Add(10 * time.Second)
	}
	oldEpoch := healthOfNode(leader).Engine.LeaseEpoch
	if err := syscall.Kill(leader.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	resumed := false
	defer func() {
		if !resumed {
			_ = syscall.Kill(leader.pid, syscall.SIGCONT)
		}
	}()
	var takeover time.Duration
	waitFor(t, 8*time.Second, "the other node to take the lease over", func() bool {
		takeover = time.Since(stoppedAt)
		return healthOfNode(other).Role == "leader"
	})
	time.Sleep(time.Until(stoppedAt.Add(8 * time.Second)))
	if err := syscall.Kill(leader.pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed = true
	resumedAt := time.Now()
	var steppedDown time.Duration
	waitFor(t, 5*time.Second, "the old leader to step down", func() bool {
		steppedDown = time.Since(resumedAt)
		return healthOfNode(leader).Role == "follower"
	})
	time.Sleep(5 * time.Second)
	if h := healthOfNode(leader); h.Role != "follower" {
		t.Errorf("old leader's role 5 s after it resumed: %q, want follower", h.Role)
	}
	newEpoch := healthOfNode(other).Engine.LeaseEpoch
	for _, n := range nodes {
		_ = syscall.Kill(n.pid, syscall.SIGTERM)
		if err := n.cmd.Wait(); err != nil {
			t.Errorf("%s did not exit cleanly: %v", n.id, err)
		}
	}

	// The runs the old leader held when it stopped: RUNNING with its node
	// id then, INTERRUPTED by the reaper since (none is left RUNNING).
	type runRow struct {
		node, status, flaky string
		scheduledAt         int64
		epoch               int64
	}
	runs := map[int64]runRow{}
	rows, err := db.Query(`SELECT r.id, r.node_id, r.status, r.scheduled_at, r.lease_epoch, CASE WHEN s.name LIKE 'flaky-%' THEN 'flaky' ELSE '' END
		FROM runs r JOIN schedules s ON s.id = r.schedule_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var r runRow
		if err := rows.Scan(&id, &r.node, &r.status, &r.scheduledAt, &r.epoch, &r.flaky); err != nil {
			t.Fatal(err)
		}
		runs[id] = r
	}
	rows.Close()

	mu.Lock()
	defer mu.Unlock()
	sentTwice := map[string]int{}
	var lateSends, heldInBackoff, heldFirst int
	reaped := map[int64]bool{}
	for id, r := range runs {
		if r.node == leader.id && r.status == "INTERRUPTED" {
			reaped[id] = true
		}
		if r.status == "RUNNING" {
			t.Errorf("run %d left RUNNING on %q", id, r.node)
		}
	}
	firstAttempt := map[int64]bool{}
	for _, a := range arrivals {
		sentTwice[fmt.Sprint(a.occurrence, "#", a.attempt)]++
		r := runs[a.run]
		if a.at.After(resumedAt) && r.node == leader.id && r.scheduledAt < stoppedAt.UnixMilli() {
			lateSends++
			t.Errorf("the old leader sent attempt %d of run %d (%s, %s) %v after it resumed, a run it took before the stop",
				a.attempt, a.run, a.occurrence, r.status, a.at.Sub(resumedAt).Round(time.Millisecond))
		}
		if a.attempt == 1 && a.at.Before(stoppedAt) {
			firstAttempt[a.run] = true
		}
	}
	for key, n := range sentTwice {
		if n > 1 {
			t.Errorf("occurrence and attempt %s arrived %d times", key, n)
		}
	}
	for id := range reaped {
		if runs[id].flaky != "" && firstAttempt[id] {
			heldInBackoff++
		} else if !firstAttempt[id] {
			heldFirst++
		}
	}
	if heldInBackoff == 0 {
		t.Errorf("the old leader held no run waiting to retry at the stop: the test provoked nothing (reaped: %d)", len(reaped))
	}

	// Claims: none under the old lease after the stop; the new leader's
	// epoch is higher, and its claims carry it.
	var lastOld, newClaims int64
	var lastOldAt int64
	for _, r := range runs {
		if r.epoch == oldEpoch {
			lastOldAt = max(lastOldAt, r.scheduledAt)
			lastOld++
		}
		if r.epoch == newEpoch {
			newClaims++
		}
	}
	if newEpoch <= oldEpoch || newClaims == 0 {
		t.Errorf("the new leader's epoch %d (%d runs) after the old one's %d", newEpoch, newClaims, oldEpoch)
	}
	if bound := stoppedAt.Add(time.Second).UnixMilli(); lastOldAt > bound {
		t.Errorf("an occurrence %d ms after the stop was claimed under the old lease (epoch %d)", lastOldAt-stoppedAt.UnixMilli(), oldEpoch)
	}
	// Awake, the old leader works on as a follower: it takes new runs.
	var afterWake int
	for _, r := range runs {
		if r.node == leader.id && r.scheduledAt > resumedAt.Add(time.Second).UnixMilli() && r.status == "SUCCESS" {
			afterWake++
		}
	}
	if afterWake == 0 {
		t.Errorf("the old leader ran nothing as a follower after it resumed")
	}
	requireHistory(t, db, "pgx", sinkLog)
	if !strings.Contains(leader.logs.String(), "request not sent") {
		t.Errorf("the old leader's log says nothing of the runs it did not send")
	}
	t.Logf("zombie leader: %s stopped %.1fs; %s took over after %.1fs (epoch %d -> %d); %d runs of the old leader reaped (%d waiting to retry, %d before their first attempt), %d of them sent after it resumed; %d runs claimed under the old epoch, the last %+d ms from the stop; stepped down %.2fs after it resumed; %d runs as a follower after; %d arrivals in all",
		leader.id, 8.0, other.id, takeover.Seconds(), oldEpoch, newEpoch, len(reaped), heldInBackoff, heldFirst, lateSends, lastOld,
		lastOldAt-stoppedAt.UnixMilli(), steppedDown.Seconds(), afterWake, len(arrivals))
}
