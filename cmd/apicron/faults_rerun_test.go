package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
)

// rerunSink is a target whose first request of each run hangs until the
// sender goes away, and whose request of a run sent again answers at once.
type rerunSink struct {
	mu   sync.Mutex
	reqs []rerunRequest
	log  *histcheck.Log
	srv  *httptest.Server
}

type rerunRequest struct {
	schedule, run, key, rerun, attempt string
}

func newRerunSink(t *testing.T) *rerunSink {
	s := &rerunSink{log: histcheck.NewLog(nil)}
	s.srv = httptest.NewServer(histcheck.Record(s.log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := rerunRequest{schedule: r.Header.Get("X-Apicron-Schedule-Id"), run: r.Header.Get("X-Apicron-Run-Id"),
			key: r.Header.Get("Idempotency-Key"), rerun: r.Header.Get("X-Apicron-Rerun"), attempt: r.Header.Get("X-Apicron-Attempt")}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		if req.rerun == "" {
			<-r.Context().Done() // the node sending it is killed mid-request
			return
		}
		_, _ = w.Write([]byte("ok"))
	})))
	t.Cleanup(s.srv.Close)
	return s
}

// of returns the requests of a schedule's occurrences, in arrival order.
func (s *rerunSink) of(schedule int64) []rerunRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []rerunRequest
	for _, r := range s.reqs {
		if r.schedule == fmt.Sprint(schedule) {
			out = append(out, r)
		}
	}
	return out
}

// requireRerun checks what the sink and the API say of the schedule with
// retry_interrupted once the process that sent its first request was killed
// mid-request: it was sent once more, by the same run, with the same
// Idempotency-Key and X-Apicron-Rerun 1, and succeeded with reruns 1 and
// its reason.
func requireRerun(t *testing.T, sink *rerunSink, api string, again int64, reason string) {
	t.Helper()
	waitFor(t, 30*time.Second, "the interrupted run sent again", func() bool { return len(sink.of(again)) >= 2 })
	var run struct {
		ID          int64   `json:"id"`
		Status      string  `json:"status"`
		Reruns      int     `json:"reruns"`
		RerunReason *string `json:"rerun_reason"`
	}
	waitFor(t, 10*time.Second, "the run sent again recorded", func() bool {
		runs := runsOf(t, api, again)
		if len(runs) != 1 || runs[0].Status == "RUNNING" {
			return false
		}
		call(t, "GET", fmt.Sprintf("%s/runs/%d", api, runs[0].ID), nil, &run)
		return true
	})
	got := sink.of(again)
	if len(got) != 2 {
		t.Fatalf("retry_interrupted schedule: %d requests, want 2: %+v", len(got), got)
	}
	first, second := got[0], got[1]
	if first.rerun != "" || second.rerun != "1" || first.key == "" || second.key != first.key || second.run != first.run ||
		second.run != fmt.Sprint(run.ID) {
		t.Fatalf("requests of the run sent again: %+v then %+v (run %d)", first, second, run.ID)
	}
	if run.Status != "SUCCESS" || run.Reruns != 1 || run.RerunReason == nil || *run.RerunReason != reason {
		t.Fatalf("run sent again: %s, reruns %d, reason %v; want SUCCESS, 1, %q", run.Status, run.Reruns, deref(run.RerunReason), reason)
	}
	t.Logf("run %d sent again with Idempotency-Key %s, X-Apicron-Rerun %s: %s, reason %q", run.ID, second.key, second.rerun,
		run.Status, *run.RerunReason)
}

// requirePlainOnce checks, once apicron has stopped, the schedule without
// retry_interrupted: sent once, its one run INTERRUPTED.
func requirePlainOnce(t *testing.T, sink *rerunSink, db *sql.DB, rebind func(string) string, plain int64) {
	t.Helper()
	var status string
	var n int
	if err := db.QueryRow(rebind("SELECT MIN(status), COUNT(*) FROM runs WHERE schedule_id = ?"), plain).Scan(&status, &n); err != nil {
		t.Fatal(err)
	}
	if reqs := sink.of(plain); len(reqs) != 1 || n != 1 || status != "INTERRUPTED" {
		t.Fatalf("schedule without retry_interrupted: %d requests, %d runs, %s; want 1, 1 INTERRUPTED", len(reqs), n, status)
	}
}

// rerunSchedules creates, on one target of the sink, a schedule with
// retry_interrupted and one without; each fires at once, then hourly.
func rerunSchedules(t *testing.T, api *server, sink *rerunSink) (again, plain int64) {
	t.Helper()
	tg := createTarget(t, api, map[string]any{"name": "hangs", "url": sink.srv.URL, "timeout_seconds": 60, "max_retries": 0})
	again = createSchedule(t, api, map[string]any{"name": "again", "target_id": tg, "schedule_type": "INTERVAL", "interval_seconds": 3600,
		"retry_interrupted": true})
	plain = createSchedule(t, api, map[string]any{"name": "plain", "target_id": tg, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	var s struct {
		RetryInterrupted bool `json:"retry_interrupted"`
	}
	call(t, "GET", fmt.Sprintf("%s/schedules/%d", api.url, again), nil, &s)
	if !s.RetryInterrupted {
		t.Fatal("retry_interrupted not read back")
	}
	waitFor(t, 10*time.Second, "both first requests in flight", func() bool { return len(sink.of(again)) == 1 && len(sink.of(plain)) == 1 })
	return again, plain
}

// TestReliability_RetryInterrupted SIGKILLs apicron while two requests are
// in flight, one of a schedule with retry_interrupted: on SQLite the next
// start sends it again; on PostgreSQL, with two nodes, the other node does
// once the reaper finds the killed one dead. The history checker holds the
// rest: the schedule without it was sent once and is INTERRUPTED.
func TestReliability_RetryInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary: long end-to-end test; run without -short")
	}
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "rerun.db")
		sink := newRerunSink(t)
		start := func() (interface{ Wait() error }, *server, int) {
			cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=1s"}, "--port", "0", "--database-url", "sqlite:///"+path)
			return cmd, &server{url: url}, cmd.Process.Pid
		}
		cmd, api, pid := start()
		again, plain := rerunSchedules(t, api, sink)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cmd, api, pid = start()
		requireRerun(t, sink, api.url, again, "apicron stopped before the run finished")
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		db := openReadOnly(t, path)
		defer db.Close()
		requirePlainOnce(t, sink, db, noRebind, plain)
		requireHistory(t, db, "sqlite", sink.log)
	})
	t.Run("postgres", func(t *testing.T) {
		url, db := pgSchemaURL(t)
		sink := newRerunSink(t)
		type node struct {
			id  string
			api *server
			cmd interface{ Wait() error }
			pid int
		}
		nodes := map[string]*node{}
		for i := 1; i <= 2; i++ {
			id := fmt.Sprintf("node-%d", i)
			cmd, u := startBinary(t, bin, []string{"DATABASE_URL=" + url, "NODE_ID=" + id, "LEASE_TTL=2s", "SHUTDOWN_GRACE=1s"}, "--port", "0")
			nodes[id] = &node{id: id, api: &server{url: u}, cmd: cmd, pid: cmd.Process.Pid}
		}
		again, plain := rerunSchedules(t, nodes["node-1"].api, sink)
		var holder string
		if err := db.QueryRow(pgRebind("SELECT node_id FROM runs WHERE schedule_id = ?"), again).Scan(&holder); err != nil {
			t.Fatal(err)
		}
		victim := nodes[holder]
		if victim == nil {
			t.Fatalf("the run is held by %q, not a node of the test", holder)
		}
		var survivor *node
		for id, n := range nodes {
			if id != holder {
				survivor = n
			}
		}
		if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = victim.cmd.Wait()
		killed := time.Now()
		requireRerun(t, sink, survivor.api.url, again, "the node running it stopped (no heartbeat for 2s)")
		t.Logf("%s killed; %s sent its run again within %.1f s", holder, survivor.id, time.Since(killed).Seconds())
		// The plain run was the killed node's (reaped) or the survivor's
		// (cut by its shutdown): INTERRUPTED either way, sent once.
		if err := syscall.Kill(survivor.pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = survivor.cmd.Wait()
		requirePlainOnce(t, sink, db, pgRebind, plain)
		requireHistory(t, db, "pgx", sink.log)
	})
}
