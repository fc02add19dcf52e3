package main

// PostgreSQL connections cut under the real binary.

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"syscall"
	"testing"
	"time"
)

// TestReliability_PostgresBackendsTerminated runs the real binary on
// PostgreSQL under load (20 schedules every second) and cuts all its
// database connections again and again with pg_terminate_backend, as a
// server restart or a failover would. It must reconnect by itself, record
// every request it sent, and fire no occurrence twice. The PostgreSQL server
// is shared, so only this service's own connections are terminated: they
// carry an application_name of their own.
func TestReliability_PostgresBackendsTerminated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary on PostgreSQL for about 25 s: long end-to-end test; run without -short")
	}
	url, db := pgSchemaURL(t)
	appName := fmt.Sprintf("apicron_reliability_%d", time.Now().UnixNano())
	url += "&application_name=" + appName

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

	f, total := requireCleanStop(t, db, pgRebind, seen, "after the connections were cut", "SUCCESS")
	sort.Slice(recoveries, func(i, j int) bool { return recoveries[i] < recoveries[j] })
	t.Logf("%d cuts, %d backends terminated; /health 503 for at most %v after a cut; cut -> next run finished: median %v, max %v; runs %v; requests sent %d, each recorded once; duplicates %d",
		cuts, terminated, worst503.Round(time.Millisecond), recoveries[len(recoveries)/2].Round(time.Millisecond), recoveries[len(recoveries)-1].Round(time.Millisecond),
		f.byStatus, total, f.duplicates)
}
