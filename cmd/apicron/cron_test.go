package main

import (
	"fmt"
	"path/filepath"
	"sort"
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
