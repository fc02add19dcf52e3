package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestServe_CronEverySecond runs a 6-field cron expression that matches
// every second on the real clock: each second fires once, on the second,
// none twice and none skipped.
func TestServe_CronEverySecond(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cron schedule for 5 s: long end-to-end test; run without -short")
	}
	t.Parallel()
	ts, hits := okTarget(t)
	s := startServer(t, filepath.Join(t.TempDir(), "c.db"), map[string]string{"SCHEDULER_TIMEZONE": "Asia/Kathmandu"})
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	sid := createSchedule(t, s, map[string]any{"name": "every-second", "target_id": tid, "schedule_type": "CRON",
		"cron_expression": "* * * * * *"})
	time.Sleep(5500 * time.Millisecond)
	if code := call(t, "POST", fmt.Sprintf("%s/schedules/%d/pause", s.url, sid), nil, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	time.Sleep(500 * time.Millisecond) // the last run finishes
	runs := finished(runsOf(t, s.url, sid))
	if n := len(runs); n < 5 || n > 7 {
		t.Fatalf("%d runs in 5.5 s, want 5 to 7", n)
	}
	var at []time.Time
	for _, r := range runs {
		v, err := time.Parse(time.RFC3339, r.ScheduledAt)
		if err != nil {
			t.Fatal(err)
		}
		if v.Nanosecond() != 0 {
			t.Errorf("run scheduled at %s, not on a whole second", r.ScheduledAt)
		}
		if r.Status != "SUCCESS" || r.Missed != 0 {
			t.Errorf("run %+v", r)
		}
		at = append(at, v)
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	for i := 1; i < len(at); i++ {
		if d := at[i].Sub(at[i-1]); d != time.Second {
			t.Fatalf("runs at %v: %s between two, want each second once", at, d)
		}
	}
	if h := hits.Load(); h != int64(len(runs)) {
		t.Fatalf("target hit %d times for %d runs", h, len(runs))
	}
}

// TestServe_OnceAndManual: a ONCE schedule fires once, at its run_at, and
// stops with ran_once; POST /schedules/{id}/trigger runs an hourly schedule
// now (trigger manual) and POST /targets/{id}/test sends one request,
// storing nothing, on the real clock and the real executor.
func TestServe_OnceAndManual(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a ONCE schedule 1.5 s ahead: long end-to-end test; run without -short")
	}
	t.Parallel()
	ts, hits := okTarget(t)
	s := startServer(t, filepath.Join(t.TempDir(), "o.db"), nil)
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	runAt := time.Now().Add(1500 * time.Millisecond).UTC().Truncate(time.Millisecond)
	oid := createSchedule(t, s, map[string]any{"name": "once", "target_id": tid, "schedule_type": "ONCE",
		"run_at": runAt.Format(time.RFC3339Nano)})
	waitFor(t, 10*time.Second, "the ONCE schedule to stop", func() bool {
		var sc struct {
			Status        string  `json:"status"`
			StoppedReason *string `json:"stopped_reason"`
		}
		call(t, "GET", fmt.Sprintf("%s/schedules/%d", s.url, oid), nil, &sc)
		return sc.Status == "STOPPED" && sc.StoppedReason != nil && *sc.StoppedReason == "ran_once"
	})
	waitFor(t, 5*time.Second, "its run to finish", func() bool { return len(finished(runsOf(t, s.url, oid))) == 1 })
	time.Sleep(time.Second) // nothing more comes
	runs := runsOf(t, s.url, oid)
	if len(runs) != 1 || runs[0].Status != "SUCCESS" || runs[0].Trigger != "schedule" {
		t.Fatalf("ONCE runs %+v, want one SUCCESS", runs)
	}
	if at, _ := time.Parse(time.RFC3339, runs[0].ScheduledAt); !at.Equal(runAt) {
		t.Errorf("scheduled at %s, want run_at %s", runs[0].ScheduledAt, runAt)
	}

	hid := createSchedule(t, s, map[string]any{"name": "hourly", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	waitFor(t, 5*time.Second, "the hourly schedule's first run", func() bool { return len(finished(runsOf(t, s.url, hid))) == 1 })
	var tr struct {
		RunID int64 `json:"run_id"`
	}
	if code := call(t, "POST", fmt.Sprintf("%s/schedules/%d/trigger", s.url, hid), nil, &tr); code != 202 {
		t.Fatalf("trigger: %d", code)
	}
	waitFor(t, 5*time.Second, "the manual run to finish", func() bool { return len(finished(runsOf(t, s.url, hid))) == 2 })
	hr := runsOf(t, s.url, hid)
	if hr[0].ID != tr.RunID || hr[0].Trigger != "manual" || hr[0].Status != "SUCCESS" {
		t.Errorf("newest run %+v, want the manual run %d, SUCCESS", hr[0], tr.RunID)
	}
	before := hits.Load()
	var res struct {
		Status     string `json:"status"`
		StatusCode int    `json:"status_code"`
	}
	if code := call(t, "POST", fmt.Sprintf("%s/targets/%d/test", s.url, tid), nil, &res); code != 200 || res.Status != "SUCCESS" || res.StatusCode != 200 {
		t.Fatalf("target test: %d %+v", code, res)
	}
	if hits.Load() != before+1 || len(runsOf(t, s.url, hid))+len(runsOf(t, s.url, oid)) != 3 {
		t.Errorf("target test: %d requests, runs stored", hits.Load()-before)
	}
}

// TestServe_BackfillTwice: a backfill of the 60 past occurrences of a
// paused every-second cron schedule, asked for twice at the same time, runs
// each occurrence once, on the real clock and the real executor.
func TestServe_BackfillTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 60-occurrence backfill: long end-to-end test; run without -short")
	}
	t.Parallel()
	ts, hits := okTarget(t)
	s := startServer(t, filepath.Join(t.TempDir(), "b.db"), nil)
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	sid := createSchedule(t, s, map[string]any{"name": "every-second", "target_id": tid, "schedule_type": "CRON",
		"cron_expression": "* * * * * *"})
	if code := call(t, "POST", fmt.Sprintf("%s/schedules/%d/pause", s.url, sid), nil, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	time.Sleep(300 * time.Millisecond) // a run claimed before the pause finishes
	base := len(runsOf(t, s.url, sid))
	baseHits := hits.Load()
	until := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	body := map[string]any{"since": until.Add(-60 * time.Second).Format(time.RFC3339), "until": until.Format(time.RFC3339), "rate_per_second": 100}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() { codes[i] = call(t, "POST", fmt.Sprintf("%s/schedules/%d/backfill", s.url, sid), body, nil) })
	}
	wg.Wait()
	if codes[0] != 202 || codes[1] != 202 {
		t.Fatalf("backfills answered %v, want 202 twice", codes)
	}
	type backfill struct {
		Status      string `json:"status"`
		Occurrences int64  `json:"occurrences"`
		Started     int64  `json:"started"`
		AlreadyRun  int64  `json:"already_run"`
	}
	var list []backfill
	waitFor(t, 20*time.Second, "both backfills to be done", func() bool {
		call(t, "GET", fmt.Sprintf("%s/schedules/%d/backfills", s.url, sid), nil, &list)
		return len(list) == 2 && list[0].Status == "DONE" && list[1].Status == "DONE"
	})
	if list[0].Occurrences != 60 || list[0].Started+list[1].Started != 60 || list[0].AlreadyRun+list[1].AlreadyRun != 60 {
		t.Errorf("backfills %+v, want 60 occurrences each, 60 runs started between them", list)
	}
	waitFor(t, 10*time.Second, "the backfill runs to finish", func() bool { return len(finished(runsOf(t, s.url, sid))) == base+60 })
	seen := map[string]bool{}
	for _, r := range runsOf(t, s.url, sid) {
		if r.Trigger != "backfill" {
			continue
		}
		if seen[r.ScheduledAt] || r.Status != "SUCCESS" {
			t.Errorf("backfill run %+v: twice, or not SUCCESS", r)
		}
		seen[r.ScheduledAt] = true
	}
	if len(seen) != 60 || hits.Load()-baseHits != 60 {
		t.Errorf("%d occurrences backfilled with %d requests, want 60 and 60", len(seen), hits.Load()-baseHits)
	}
}
