package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
)

// TestReliability_LeaderKillLoop runs three real apicron processes on one
// PostgreSQL database under 50 schedules every second and kills the leader
// with SIGKILL over and over (3 times in CI, APICRON_TEST_FAILOVERS for the
// long run), restarting it each time once another node leads. The history
// checker then proves the whole history: no occurrence sent twice, every
// request its run, every answered run received, every grid slot a run, a
// counted miss or a counted skip, counters equal to rows.
func TestReliability_LeaderKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the leader of three processes over and over: long end-to-end test; run without -short")
	}
	url, db := pgSchemaURL(t)
	bin := buildBinary(t)
	failovers := envInt(t, "APICRON_TEST_FAILOVERS", 3)

	sinkLog := histcheck.NewLog(nil)
	sink := httptest.NewServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond) // runs in flight on every node when one dies
		_, _ = w.Write([]byte("ok"))
	})))
	defer sink.Close()

	type node struct {
		id  string
		cmd *exec.Cmd
		url string
	}
	start := func(id string) *node {
		cmd, u := startBinary(t, bin, []string{"DATABASE_URL=" + url, "NODE_ID=" + id, "SHUTDOWN_GRACE=3s"}, "--port", "0")
		return &node{id: id, cmd: cmd, url: u}
	}
	nodes := []*node{start("node-1"), start("node-2"), start("node-3")}
	leader := func(except *node) *node {
		for _, n := range nodes {
			var h struct {
				Role string `json:"role"`
			}
			if n != except && call(t, "GET", n.url+"/health", nil, &h) == 200 && h.Role == "leader" {
				return n
			}
		}
		return nil
	}
	waitFor(t, 10*time.Second, "a leader", func() bool { return leader(nil) != nil })
	api := &server{url: nodes[0].url}
	tid := createTarget(t, api, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range 50 {
		createSchedule(t, api, map[string]any{"name": fmt.Sprint("s", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	began := time.Now()
	var takeovers []time.Duration
	for range failovers {
		time.Sleep(time.Second + time.Duration(rng.Int64N(int64(2*time.Second))))
		dead := leader(nil)
		if dead == nil {
			waitFor(t, 15*time.Second, "a leader", func() bool { return leader(nil) != nil })
			dead = leader(nil)
		}
		killed := time.Now()
		_ = dead.cmd.Process.Signal(syscall.SIGKILL)
		_ = dead.cmd.Wait()
		waitFor(t, 15*time.Second, "another node to lead", func() bool { return leader(dead) != nil })
		takeovers = append(takeovers, time.Since(killed))
		i := slices.Index(nodes, dead)
		nodes[i] = start(dead.id)
		if t.Failed() {
			break
		}
	}
	time.Sleep(3 * time.Second)
	for _, n := range nodes {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		if err := n.cmd.Wait(); err != nil {
			t.Errorf("%s did not exit cleanly: %v", n.id, err)
		}
	}

	var dupes, running int
	if err := db.QueryRow(`SELECT COUNT(*) FROM (SELECT schedule_id, scheduled_at FROM runs GROUP BY 1, 2 HAVING COUNT(*) > 1) d`).Scan(&dupes); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM runs WHERE status = 'RUNNING'").Scan(&running); err != nil {
		t.Fatal(err)
	}
	if dupes != 0 || running != 0 {
		t.Errorf("%d duplicate (schedule_id, scheduled_at) in runs, %d runs left RUNNING", dupes, running)
	}
	rep := requireHistory(t, db, "pgx", sinkLog)
	slices.Sort(takeovers)
	t.Logf("leader kill loop: %d SIGKILLs of the leader in %v; another node led %v (median) to %v (max) after each kill; %d runs, %d requests, %d interrupted (%d of them received); grid %d slots: %d ran, %d missed, %d skipped; %d violations",
		len(takeovers), time.Since(began).Round(time.Second), takeovers[len(takeovers)/2].Round(100*time.Millisecond),
		takeovers[len(takeovers)-1].Round(100*time.Millisecond), rep.Facts.Runs, rep.Facts.Requests,
		rep.Facts.InterruptedReceived+rep.Facts.InterruptedUnreceived, rep.Facts.InterruptedReceived,
		rep.Facts.Occurrences, rep.Facts.Ran, rep.Facts.Missed, rep.Facts.Skipped, len(rep.Violations))
}
