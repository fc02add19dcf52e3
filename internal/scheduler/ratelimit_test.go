package scheduler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// arrivals is a real HTTP target that notes when each request came, and
// answers with status (200 when zero).
type arrivals struct {
	*httptest.Server
	mu     sync.Mutex
	at     []time.Time
	status int
}

func newArrivals(t testing.TB, status int) *arrivals {
	a := &arrivals{status: status}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.at = append(a.at, time.Now())
		a.mu.Unlock()
		if a.status != 0 {
			w.WriteHeader(a.status)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

// times returns the arrival times so far, in order.
func (a *arrivals) times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(a.at)
	slices.SortFunc(out, func(x, y time.Time) int { return x.Compare(y) })
	return out
}

// rateSchedule creates s on a new target that calls url under limit (none when nil).
func rateSchedule(t testing.TB, db *store.DB, url string, limit *apicron.RateLimit, s *apicron.Schedule) *apicron.Schedule {
	t.Helper()
	tg := &apicron.Target{Name: "t", URL: url, RateLimit: limit}
	if err := db.CreateTarget(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	s.TargetID, s.Name = tg.ID, "s"
	if err := db.CreateSchedule(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// rateHarness is an engine on the fake clock at t0 with the real executor.
func rateHarness(t *testing.T, driver string) (*store.DB, *storetest.Clock, *scheduler.Scheduler) {
	t.Helper()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, driver, clock)
	e := executor.New(executor.Config{Now: clock.Now})
	t.Cleanup(e.CloseIdleConnections)
	s := scheduler.New(scheduler.Config{Store: db, Executor: e, Clock: clock, MaxConcurrent: 20})
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, clock, s
}

// step claims and runs what is due at t0+d and waits for the results.
func step(t *testing.T, clock *storetest.Clock, s *scheduler.Scheduler, d time.Duration) {
	t.Helper()
	clock.Set(t0.Add(d))
	s.Step(context.Background(), t0.Add(d))
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func waitedOf(runs []*apicron.Run) []time.Duration {
	var out []time.Duration
	for _, r := range runs {
		out = append(out, r.Waited)
	}
	slices.Sort(out)
	return out
}

// TestScheduler_RateLimitSpreadsHost: four schedules due at once on four
// targets of one host limited to 2 requests/s, burst 1, share its bucket:
// their requests reach the host 500 ms apart, and each run records the
// exact wait (the limiter keeps the engine's clock, here a fake one that
// stands still while the real timers run). Another host's runs neither
// wait nor are delayed.
func TestScheduler_RateLimitSpreadsHost(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		db, clock, s := rateHarness(t, driver)
		limited, free := newArrivals(t, 0), newArrivals(t, 0)
		limit := &apicron.RateLimit{PerSecond: 2, Burst: 1}
		var slow, fast []int64
		for range 4 {
			slow = append(slow, rateSchedule(t, db, limited.URL+"/a", limit, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60}).ID)
		}
		for range 2 {
			fast = append(fast, rateSchedule(t, db, free.URL+"/b", nil, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60}).ID)
		}
		for _, id := range append(slices.Clone(slow), fast...) {
			s.Changed(id)
		}
		start := time.Now()
		step(t, clock, s, 0)

		var runs []*apicron.Run
		for _, id := range slow {
			runs = append(runs, runsOf(t, db, id)...)
		}
		for _, r := range runs {
			if r.Status != apicron.Success {
				t.Errorf("run %d: %s %s %q, want SUCCESS", r.ID, r.Status, r.ErrorType, r.ErrorMessage)
			}
		}
		want := []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
		if got := waitedOf(runs); !slices.Equal(got, want) {
			t.Errorf("the limited host's runs waited %v, want %v", got, want)
		}
		at := limited.times()
		if len(at) != 4 {
			t.Fatalf("the limited host got %d requests, want 4", len(at))
		}
		// Counted at the server: at most burst + rate*elapsed requests by
		// any moment, so consecutive ones at least about 500 ms apart.
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 400*time.Millisecond {
				t.Errorf("requests %d and %d reached the limited host %s apart, want about 500 ms", i, i+1, gap)
			}
		}
		if first := at[0].Sub(start); first > 300*time.Millisecond {
			t.Errorf("the first request left %s after the step, want at once (burst 1)", first)
		}
		var other []*apicron.Run
		for _, id := range fast {
			other = append(other, runsOf(t, db, id)...)
		}
		if got := waitedOf(other); !slices.Equal(got, []time.Duration{0, 0}) {
			t.Errorf("the other host's runs waited %v, want nothing", got)
		}
		for _, a := range free.times() {
			if d := a.Sub(start); d > 300*time.Millisecond {
				t.Errorf("a request to the other host left %s after the step: the limit delayed it", d)
			}
		}
	})
}

// TestScheduler_RateLimitStarved: three schedules every second on a host
// limited to 1 request/s: at each occurrence one run goes and the others,
// whose turn would come at or after their next occurrence, are recorded
// FAILED rate_limit at once and never sent, their turns left to the next
// occurrence (which again sends one).
func TestScheduler_RateLimitStarved(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		db, clock, s := rateHarness(t, driver)
		target := newArrivals(t, 0)
		limit := &apicron.RateLimit{PerSecond: 1, Burst: 1}
		var ids []int64
		for range 3 {
			sc := rateSchedule(t, db, target.URL+"/c", limit, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
			ids = append(ids, sc.ID)
			s.Changed(sc.ID)
		}
		step(t, clock, s, 0)
		step(t, clock, s, time.Second)

		if n := len(target.times()); n != 2 {
			t.Errorf("the host got %d requests in two occurrences, want 2 (one a second)", n)
		}
		sent, limited := 0, 0
		for _, id := range ids {
			for _, r := range runsOf(t, db, id) {
				switch {
				case r.Status == apicron.Success:
					sent++
				case r.Status == apicron.Failed && r.ErrorType == apicron.ErrRateLimit:
					limited++
					if !strings.Contains(r.ErrorMessage, "not sent") || !strings.Contains(r.ErrorMessage, "1 requests/s, burst 1") ||
						!strings.Contains(r.ErrorMessage, "waited 0s") {
						t.Errorf("rate_limit message %q, want it to say not sent, the limit and the wait", r.ErrorMessage)
					}
					if r.Waited != 0 || r.StatusCode != nil || r.LatencyMs != nil {
						t.Errorf("starved run %+v, want no wait and no response", r)
					}
				default:
					t.Errorf("run %d: %s %s %q", r.ID, r.Status, r.ErrorType, r.ErrorMessage)
				}
			}
		}
		if sent != 2 || limited != 4 {
			t.Errorf("%d runs sent and %d rate_limit, want 2 and 4", sent, limited)
		}
	})
}

// TestScheduler_RateLimitRetries: every attempt takes a token, retries
// too: a run retried twice against a host limited to 4 requests/s, burst 1,
// waits 250 ms then 500 ms more (its waited_ms is their sum) and reaches the
// host three times, the retries spread by the limit.
func TestScheduler_RateLimitRetries(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		db, clock, s := rateHarness(t, driver)
		target := newArrivals(t, http.StatusServiceUnavailable)
		tg := &apicron.Target{Name: "t", URL: target.URL + "/r", MaxRetries: ptr(2), RetryBackoffMs: ptr(10), RetryMaxBackoffMs: ptr(10),
			RateLimit: &apicron.RateLimit{PerSecond: 4, Burst: 1}}
		if err := db.CreateTarget(context.Background(), tg); err != nil {
			t.Fatal(err)
		}
		sc := &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60}
		if err := db.CreateSchedule(context.Background(), sc); err != nil {
			t.Fatal(err)
		}
		s.Changed(sc.ID)
		step(t, clock, s, 0)

		runs := runsOf(t, db, sc.ID)
		if len(runs) != 1 || runs[0].ErrorType != apicron.ErrHTTP5xx || runs[0].Waited != 750*time.Millisecond {
			t.Fatalf("runs %+v, want one http_5xx run that waited 750ms", runs)
		}
		run, err := db.FindRunByID(context.Background(), runs[0].ID)
		if err != nil || len(run.Attempts) != 3 {
			t.Fatalf("run %+v (%v), want 3 attempts", run, err)
		}
		at := target.times()
		if len(at) != 3 {
			t.Fatalf("the host got %d requests, want 3", len(at))
		}
		if gap := at[1].Sub(at[0]); gap < 200*time.Millisecond {
			t.Errorf("the first retry came %s after the first attempt, want about 250 ms", gap)
		}
		if gap := at[2].Sub(at[1]); gap < 200*time.Millisecond {
			t.Errorf("the second retry came %s after the first, want about 250 ms", gap)
		}
	})
}

// TestScheduler_RateLimitShutdownWhileWaiting: a run waiting for its turn
// when the engine stops records nothing of its own and is never sent: the
// shutdown marks it INTERRUPTED, as a run waiting for its time.
func TestScheduler_RateLimitShutdownWhileWaiting(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		db, _, s := rateHarness(t, driver)
		target := newArrivals(t, 0)
		limit := &apicron.RateLimit{PerSecond: 0.1, Burst: 1} // the second run waits 10 s
		var ids []int64
		for range 2 {
			ids = append(ids, rateSchedule(t, db, target.URL+"/w", limit, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 60}).ID)
			s.Changed(ids[len(ids)-1])
		}
		r := startRun(t, s)
		eventually(t, "the first request", func() bool { return len(target.times()) == 1 })
		time.Sleep(50 * time.Millisecond) // the second run waits for its turn
		r.stop()

		if n := len(target.times()); n != 1 {
			t.Errorf("the host got %d requests, want 1", n)
		}
		var got []string
		for _, id := range ids {
			for _, run := range runsOf(t, db, id) {
				got = append(got, string(run.Status)+"/"+run.ErrorType+"/"+strconv.FormatInt(run.Waited.Milliseconds(), 10))
			}
		}
		slices.Sort(got)
		if want := []string{"INTERRUPTED/interrupted/0", "SUCCESS//0"}; !slices.Equal(got, want) {
			t.Errorf("runs %v, want %v", got, want)
		}
	})
}

// TestScheduler_RateLimitOverTime: on the real clock, four schedules every
// second on a host limited to 2 requests/s, burst 1, for three seconds:
// the host gets what the limit allows and no more, the runs that could not
// have a turn before their next occurrence are rate_limit and unsent, and
// schedules of another host stay on time.
func TestScheduler_RateLimitOverTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 3 s on the real clock: long test; run without -short")
	}
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		limited := newCountingTarget(t)
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
		limit := &apicron.RateLimit{PerSecond: 2, Burst: 1}
		var slow []*apicron.Schedule
		for range 4 {
			slow = append(slow, rateSchedule(t, db, limited.URL+"/a", limit, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1}))
		}
		for range 4 {
			rateSchedule(t, db, healthy.URL+"/b", nil, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		}
		// The grace lets the runs waiting for their turn at the stop go, so
		// every run requested is recorded as such.
		s := scheduler.New(scheduler.Config{Store: db, Executor: httpExecutor{node: "a"}, MaxConcurrent: 20, ShutdownGrace: 2 * time.Second})
		if err := s.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		r := startRun(t, s)
		start := time.Now()
		time.Sleep(3 * time.Second)
		r.stop()
		elapsed := time.Since(start)

		n := limited.requests("")
		if most := 1 + int(2*elapsed.Seconds()); n > most || n < most-3 {
			t.Errorf("the limited host got %d requests in %s, want about 1 + 2/s (at most %d)", n, elapsed.Round(time.Millisecond), most)
		}
		limitedRuns, waited, succeeded := 0, 0, 0
		limited.mu.Lock()
		for _, sc := range slow {
			for _, run := range runsOf(t, db, sc.ID) {
				sent := limited.byOcc[occurrence(run.ScheduleID, run.ScheduledAt)]
				switch {
				case run.ErrorType == apicron.ErrRateLimit && sent != 0:
					t.Errorf("run %d is rate_limit but was requested %d times", run.ID, sent)
				case run.ErrorType == apicron.ErrRateLimit:
					limitedRuns++
				case run.Status == apicron.Success && sent != 1:
					t.Errorf("run %d is SUCCESS and was requested %d times, want once", run.ID, sent)
				case run.Status == apicron.Success:
					succeeded++
				}
				if run.Waited > 0 {
					waited++
				}
			}
		}
		limited.mu.Unlock()
		if limitedRuns == 0 || waited == 0 || succeeded != n {
			t.Errorf("%d runs rate_limit, %d that waited, %d SUCCESS for %d requests; want some of each, as many SUCCESS as requests",
				limitedRuns, waited, succeeded, n)
		}
		t.Logf("%s: %d requests in %s, %d runs rate_limit, %d waited", driver, n, elapsed.Round(time.Millisecond), limitedRuns, waited)
		mu.Lock()
		got := slices.Clone(lateness)
		mu.Unlock()
		slices.Sort(got)
		if len(got) < 8 {
			t.Fatalf("%d requests to the other host, want at least 8", len(got))
		}
		if p99 := got[len(got)*99/100]; p99 > 300*time.Millisecond {
			t.Errorf("the other host's p99 lateness %s: the limit delayed it", p99)
		}
	})
}
