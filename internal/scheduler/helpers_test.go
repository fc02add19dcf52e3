package scheduler_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// execFunc is an executor made of a function; the engine's tests control
// when and how a run ends.
type execFunc func(ctx context.Context, job *apicron.Job) apicron.RunResult

func (f execFunc) Execute(ctx context.Context, job *apicron.Job) apicron.RunResult {
	return f(ctx, job)
}

func succeed(clock apicron.Clock) execFunc {
	return func(ctx context.Context, job *apicron.Job) apicron.RunResult {
		lat := 1.0
		now := clock.Now()
		out := apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}
		return apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now, FinishedAt: now, Outcome: out,
			Attempts: []apicron.Attempt{{RunID: job.RunID, Number: 1, StartedAt: now, FinishedAt: now, Outcome: out}}}
	}
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	db    *store.DB
	clock *storetest.Clock
	s     *scheduler.Scheduler
	ctx   context.Context
}

func newHarness(t *testing.T, driver string, exec apicron.Executor, maxConcurrent int) *harness {
	t.Helper()
	clock := storetest.NewClock(t0)
	db := storetest.Open(t, driver, clock)
	if exec == nil {
		exec = succeed(clock)
	}
	s := scheduler.New(scheduler.Config{Store: db, Executor: exec, Clock: clock, MaxConcurrent: maxConcurrent})
	h := &harness{t: t, db: db, clock: clock, s: s, ctx: context.Background()}
	if err := s.Load(h.ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

// schedule creates s, on a target of its own, and tells the engine.
func (h *harness) schedule(s *apicron.Schedule) *apicron.Schedule {
	h.t.Helper()
	mustSchedule(h.t, h.db, "http://127.0.0.1:9/", s)
	h.s.Changed(s.ID)
	return s
}

// mustSchedule creates s (named "s" unless named) on a new target that
// calls url, and returns it.
func mustSchedule(t testing.TB, db *store.DB, url string, s *apicron.Schedule) *apicron.Schedule {
	t.Helper()
	tg := &apicron.Target{Name: "t", URL: url}
	if err := db.CreateTarget(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	s.TargetID = tg.ID
	if s.Name == "" {
		s.Name = "s"
	}
	if err := db.CreateSchedule(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// at steps the engine at t0+d and waits for what it dispatched.
func (h *harness) at(d time.Duration) time.Duration {
	h.t.Helper()
	h.clock.Set(t0.Add(d))
	wait := h.s.Step(h.ctx, t0.Add(d))
	if err := h.s.Wait(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	return wait
}

func (h *harness) runs(id int64) []*apicron.Run {
	h.t.Helper()
	runs, _, err := h.db.FindRuns(h.ctx, apicron.RunFilter{ScheduleID: &id, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	// oldest first
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

func scheduledOffsets(runs []*apicron.Run) []time.Duration {
	var out []time.Duration
	for _, r := range runs {
		out = append(out, r.ScheduledAt.Sub(t0))
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// statuses lists the runs' statuses, for failure messages.
func statuses(runs []*apicron.Run) []apicron.RunStatus {
	var out []apicron.RunStatus
	for _, r := range runs {
		out = append(out, r.Status)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// refusingEngine is the real store whose claims or result writes fail on
// demand, as they do when the disk is full or the database is locked.
type refusingEngine struct {
	*store.DB
	claims, finishes atomic.Bool
}

var errRefused = apicron.Errorf(apicron.EUNAVAILABLE, "database unavailable: the database or disk is full (SQLITE_FULL)")

func (e *refusingEngine) Claim(ctx context.Context, now, until time.Time, ids []int64, busy func(int64) bool) ([]apicron.ClaimResult, error) {
	if e.claims.Load() {
		return nil, errRefused
	}
	return e.DB.Claim(ctx, now, until, ids, busy)
}

func (e *refusingEngine) Finish(ctx context.Context, results []apicron.RunResult) error {
	if e.finishes.Load() {
		return errRefused
	}
	return e.DB.Finish(ctx, results)
}

// stallingEngine is the real store whose first result write hangs until
// its context ends, as a write does behind a lock or on a database that
// stopped answering; entered is closed when it starts hanging.
type stallingEngine struct {
	*store.DB
	stalled atomic.Bool
	entered chan struct{}
}

func newStallingEngine(db *store.DB) *stallingEngine {
	return &stallingEngine{DB: db, entered: make(chan struct{})}
}

func (e *stallingEngine) Finish(ctx context.Context, results []apicron.RunResult) error {
	if e.stalled.CompareAndSwap(false, true) {
		close(e.entered)
		<-ctx.Done()
		return ctx.Err()
	}
	return e.DB.Finish(ctx, results)
}

// startRun runs s in a goroutine until the returned stop is called; stop
// cancels Run's context and waits, at most 20 s, for Run to return.
func startRun(t *testing.T, s *scheduler.Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		t.Helper()
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return within 20 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor fails the test unless ch is closed within 10 s.
func waitFor(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
