package scheduler_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
)

// TestScheduler_HangingHost: one host that hangs holds at most
// HOST_MAX_CONCURRENCY calls, so the healthy schedules keep their slots
// and stay on time; its own runs that cannot start before their next
// occurrence are recorded host_limit, unsent. Real clock, real HTTP.
func TestScheduler_HangingHost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 30 schedules for 3.5 s on the real clock: long test; run without -short")
	}
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		var hanging, most atomic.Int64
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := hanging.Add(1)
			defer hanging.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}))
		t.Cleanup(hang.Close)
		var (
			mu       sync.Mutex
			lateness []time.Duration
		)
		healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			at, _ := strconv.ParseInt(r.Header.Get("X-Scheduled-At"), 10, 64)
			mu.Lock()
			lateness = append(lateness, time.Since(time.UnixMilli(at)))
			mu.Unlock()
		}))
		t.Cleanup(healthy.Close)
		db := storetest.Open(t, driver, apicron.SystemClock{})
		var stuck []*apicron.Schedule
		for range 10 {
			stuck = append(stuck, mustSchedule(t, db, hang.URL+"/slow", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1}))
		}
		for range 20 {
			mustSchedule(t, db, healthy.URL+"/ok", &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		}
		s := scheduler.New(scheduler.Config{Store: db, Executor: httpExecutor{node: "a"}, MaxConcurrent: 10, HostMaxConcurrent: 3})
		if err := s.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		r := startRun(t, s)
		time.Sleep(3500 * time.Millisecond)
		r.stop()

		mu.Lock()
		got := slices.Clone(lateness)
		mu.Unlock()
		slices.Sort(got)
		if len(got) < 20*3 {
			t.Fatalf("%d healthy requests in 3.5 s of 20 schedules at 1 s, want at least 60", len(got))
		}
		p50, p99 := got[len(got)/2], got[len(got)*99/100]
		t.Logf("%s: healthy lateness p50 %s, p99 %s over %d requests; the hanging host held %d calls at most", driver, p50, p99, len(got), most.Load())
		if p99 > 500*time.Millisecond {
			t.Errorf("healthy p99 lateness %s: the hanging host delayed the others", p99)
		}
		if m := most.Load(); m > 3 {
			t.Errorf("the hanging host had %d calls in flight, want at most HOST_MAX_CONCURRENCY=3", m)
		}
		limited := 0
		for _, sc := range stuck {
			for _, run := range runsOf(t, db, sc.ID) {
				if run.ErrorType == apicron.ErrHostLimit {
					limited++
				}
			}
		}
		if limited == 0 {
			t.Error("no run of the hanging host was recorded host_limit")
		}
	})
}
