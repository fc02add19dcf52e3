package scheduler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// The engine's cluster behaviour on PostgreSQL in the shared mode production
// runs, with the real clock (leases use the database's) and LeaseTTL 1 s:
// heartbeats every 200 ms.

// TestScheduler_RoleFromStore: the store's mode alone decides the role: an
// engine on a store that is not shared is single (SQLite, and PostgreSQL
// too); one on a shared store is a follower until it holds the lease, then
// the leader, never single.
func TestScheduler_RoleFromStore(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		clock := storetest.NewClock(t0)
		s := scheduler.New(scheduler.Config{Store: storetest.Open(t, driver, clock), Executor: succeed(clock)})
		if h, err := s.Health(t.Context()); err != nil || h.Role != apicron.RoleSingle {
			t.Fatalf("role on an unshared %s store: %q (%v), want single", driver, h.Role, err)
		}
	})
	t.Run("shared", func(t *testing.T) {
		t.Parallel()
		db, _ := storetest.OpenShared(t, "a", apicron.SystemClock{})
		s := scheduler.New(scheduler.Config{Store: db, Executor: httpExecutor{node: "a"}, LeaseTTL: time.Second})
		if h, _ := s.Health(t.Context()); h.Role != apicron.RoleFollower || h.LeaseEpoch != 0 {
			t.Fatalf("role on a shared store before Run: %q epoch %d, want follower and 0", h.Role, h.LeaseEpoch)
		}
		startRun(t, s)
		n := &node{id: "a", db: db, s: s}
		eventually(t, "the only node to lead", func() bool { r, _ := n.role(t); return r == apicron.RoleLeader })
		if _, epoch := n.role(t); epoch <= 0 {
			t.Fatalf("leader's epoch %d, want > 0", epoch)
		}
	})
}

// TestScheduler_ClusterFollowerRunsClaims: with two engines on one shared
// database exactly one leads; the follower takes the runs the leader claims
// and runs them, each occurrence exactly once. The leader here takes none
// itself (as when its slots are all busy), so every request is the
// follower's.
func TestScheduler_ClusterFollowerRunsClaims(t *testing.T) {
	t.Parallel()
	dbA, dsn := storetest.OpenShared(t, "a", apicron.SystemClock{})
	dbB := storetest.OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: "b"})
	target := newCountingTarget(t)

	// A lease of 5 s: a counts b alive for 5 s after each of b's heartbeats
	// (every second); a alone would take its runs in the claim.
	a := startNodeTTL(t, "a", dbA, idleTaker{dbA}, 5*time.Second)
	eventually(t, "a to lead", func() bool { r, _ := a.role(t); return r == apicron.RoleLeader })
	engB := newAnnouncingStore(dbB)
	b := startNodeTTL(t, "b", dbB, engB, 5*time.Second)
	waitFor(t, engB.listening, "b's listener")
	eventually(t, "a to see b alive", func() bool { return dbA.LiveNodeCount() == 2 })
	for range 3 {
		s := mustSchedule(t, dbA, target.URL, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		a.s.Changed(s.ID)
	}

	oneLeader := func() {
		t.Helper()
		ra, _ := a.role(t)
		rb, _ := b.role(t)
		if ra != apicron.RoleLeader || rb != apicron.RoleFollower {
			t.Fatalf("roles a %q, b %q; want a leader and b follower", ra, rb)
		}
	}
	eventually(t, "b to run two rounds of the three schedules", func() bool {
		oneLeader()
		return target.requests("b") >= 6
	})
	oneLeader()
	a.run.stop()
	b.run.stop()
	if n := target.requests("a"); n != 0 {
		t.Errorf("a, which takes no runs, sent %d requests", n)
	}
	target.exactlyOnce(t, dbA)
}

// TestScheduler_ClusterFailover: when the leader's context ends it resigns
// (and no longer reports itself leader), and the follower takes the lease (a greater epoch) at its next heartbeat
// and carries on: it claims and runs the occurrences that follow, and no
// occurrence runs twice across the two nodes.
func TestScheduler_ClusterFailover(t *testing.T) {
	t.Parallel()
	dbA, dsn := storetest.OpenShared(t, "a", apicron.SystemClock{})
	dbB := storetest.OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: "b"})
	target := newCountingTarget(t)

	engA := newAnnouncingStore(dbA)
	a := startNode(t, "a", dbA, engA)
	eventually(t, "a to lead", func() bool { r, _ := a.role(t); return r == apicron.RoleLeader })
	_, epochA := a.role(t)
	engB := newAnnouncingStore(dbB)
	b := startNode(t, "b", dbB, engB)
	waitFor(t, engB.listening, "b's listener")
	for range 3 {
		s := mustSchedule(t, dbA, target.URL, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		a.s.Changed(s.ID)
	}
	eventually(t, "the first occurrences", func() bool { return target.requests("") >= 3 })
	if rb, _ := b.role(t); rb != apicron.RoleFollower {
		t.Fatalf("b is %q while a leads, want follower", rb)
	}

	a.run.stop()
	stopped := time.Now()
	if !engA.resigned.Load() {
		t.Fatal("a did not resign the lease when its context ended")
	}
	if ra, epoch := a.role(t); ra != apicron.RoleFollower || epoch != 0 {
		t.Errorf("a reports %q epoch %d after resigning, want follower and 0: two nodes would say they lead", ra, epoch)
	}
	eventually(t, "b to take the lease", func() bool { r, _ := b.role(t); return r == apicron.RoleLeader })
	if _, epochB := b.role(t); epochB <= epochA {
		t.Errorf("b's epoch %d, want greater than a's %d", epochB, epochA)
	}
	eventually(t, "b to run an occurrence due after a stopped", func() bool { return target.ranAfter("b", stopped) })
	b.run.stop()
	target.exactlyOnce(t, dbB)
}

// TestScheduler_ClusterJitterAndManual: on a shared database with two
// nodes, a jittered schedule's runs leave at scheduled_at + jitter whichever
// node sends them, max_runs holds across the nodes, and a manual run
// inserted through one node is taken and sent once.
func TestScheduler_ClusterJitterAndManual(t *testing.T) {
	t.Parallel()
	dbA, dsn := storetest.OpenShared(t, "a", apicron.SystemClock{})
	dbB := storetest.OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: "b"})
	target := newCountingTarget(t)
	a := startNode(t, "a", dbA, dbA)
	eventually(t, "a to lead", func() bool { r, _ := a.role(t); return r == apicron.RoleLeader })
	b := startNode(t, "b", dbB, dbB)

	s := mustSchedule(t, dbA, target.URL, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1, JitterSeconds: 1, MaxRuns: ptr(4)})
	a.s.Changed(s.ID)
	eventually(t, "four runs, then max_runs_reached", func() bool {
		got, err := dbA.FindScheduleByID(t.Context(), s.ID)
		return err == nil && got.Status == apicron.Stopped
	})
	m := mustSchedule(t, dbA, target.URL, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 3600})
	b.s.Changed(m.ID)
	eventually(t, "the hourly schedule's first run", func() bool { return len(runsOf(t, dbA, m.ID)) == 1 && runsOf(t, dbA, m.ID)[0].FinishedAt != nil })
	job, err := dbB.TriggerRun(t.Context(), m.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	b.s.Submit(job)
	eventually(t, "the manual run to finish", func() bool {
		r, err := dbA.FindRunByID(t.Context(), job.RunID)
		return err == nil && r.FinishedAt != nil
	})
	a.run.stop()
	b.run.stop()

	runs := runsOf(t, dbA, s.ID)
	if len(runs) != 4 {
		t.Fatalf("%d runs of the max_runs 4 schedule, want 4", len(runs))
	}
	for _, r := range runs {
		want := apicron.Jitter(s.ID, r.ScheduledAt, 1)
		if r.Jitter != want {
			t.Errorf("run at %s: jitter %s, want %s", r.ScheduledAt, r.Jitter, want)
		}
		if r.StartedAt.Before(r.ScheduledAt.Add(want)) {
			t.Errorf("run at %s started %s, before its jittered time", r.ScheduledAt, r.StartedAt)
		}
	}
	if got, _ := dbA.FindScheduleByID(t.Context(), s.ID); got.StoppedReason != apicron.StoppedMaxRuns || got.RunCount != 4 {
		t.Errorf("stopped %q with run_count %d, want max_runs_reached and 4", got.StoppedReason, got.RunCount)
	}
	mr := runsOf(t, dbA, m.ID)
	if len(mr) != 2 || mr[1].Trigger != apicron.TriggerManual || mr[1].Status != apicron.Success {
		t.Errorf("hourly schedule's runs %+v, want its first and a manual SUCCESS", mr)
	}
	target.exactlyOnce(t, dbA)
}

// runsOf returns a schedule's runs, oldest first.
func runsOf(t testing.TB, db *store.DB, id int64) []*apicron.Run {
	t.Helper()
	runs, _, err := db.FindRuns(t.Context(), apicron.RunFilter{ScheduleID: &id, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(runs)
	return runs
}

// slowTarget answers after delay, counting the requests in flight (their
// most at once) and those whose client gave up (cancelled).
type slowTarget struct {
	*httptest.Server
	inflight, most, cancelled atomic.Int64
}

func newSlowTarget(t *testing.T, delay time.Duration) *slowTarget {
	st := &slowTarget{}
	st.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := st.inflight.Add(1)
		defer st.inflight.Add(-1)
		for m := st.most.Load(); n > m && !st.most.CompareAndSwap(m, n); m = st.most.Load() {
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			st.cancelled.Add(1)
		}
	}))
	t.Cleanup(st.Close)
	return st
}

// TestScheduler_ClusterOverlapPolicies: on a shared database with two
// nodes, allow's max_parallel and replace hold across the nodes: the
// runs in flight are counted in the database, and a replaced run's request
// is stopped on whichever node sends it.
func TestScheduler_ClusterOverlapPolicies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two nodes for 5 s on the real clock: long test; run without -short")
	}
	t.Parallel()
	dbA, dsn := storetest.OpenShared(t, "a", apicron.SystemClock{})
	dbB := storetest.OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: "b"})
	a := startNode(t, "a", dbA, dbA)
	eventually(t, "a to lead", func() bool { r, _ := a.role(t); return r == apicron.RoleLeader })
	b := startNode(t, "b", dbB, dbB)

	allowed := newSlowTarget(t, 2500*time.Millisecond)
	replaced := newSlowTarget(t, 3*time.Second)
	al := mustSchedule(t, dbA, allowed.URL, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1,
		OverlapPolicy: apicron.OverlapAllow, MaxParallel: ptr(2)})
	rp := mustSchedule(t, dbA, replaced.URL, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1,
		OverlapPolicy: apicron.OverlapReplace})
	a.s.Changed(al.ID)
	a.s.Changed(rp.ID)
	time.Sleep(4500 * time.Millisecond)
	for _, s := range []*apicron.Schedule{al, rp} {
		if _, err := dbA.PauseSchedule(t.Context(), s.ID, apicron.PauseRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	a.run.stop()
	b.run.stop()

	if m := allowed.most.Load(); m != 2 {
		t.Errorf("allow max_parallel 2: %d requests in flight at most, want 2", m)
	}
	if m := scheduleMetrics(t, dbA, al.ID); m.SkippedOverlap < 1 {
		t.Errorf("allow: skipped_overlap %d, want some", m.SkippedOverlap)
	}
	var interrupted int
	for _, r := range runsOf(t, dbA, rp.ID) {
		if r.Status == apicron.Interrupted && r.ErrorMessage == store.ReplacedReason {
			interrupted++
		}
	}
	if interrupted < 3 {
		t.Errorf("replace: %d runs replaced in 4.5 s of a 1 s schedule whose target takes 3 s, want at least 3", interrupted)
	}
	if c := replaced.cancelled.Load(); c < int64(interrupted) {
		t.Errorf("replace: %d requests stopped for %d runs replaced", c, interrupted)
	}
	if m := replaced.most.Load(); m > 2 {
		t.Errorf("replace: %d requests in flight at once, want at most 2 (the new one may start before the old one's cancel lands)", m)
	}
}

// takeRecorder is the real shared store that records the limit of every
// take that returned runs.
type takeRecorder struct {
	*store.DB
	mu     sync.Mutex
	limits []int
	jobs   int
}

func (r *takeRecorder) TakeRuns(ctx context.Context, limit int, fresh time.Duration) ([]*apicron.Job, error) {
	jobs, err := r.DB.TakeRuns(ctx, limit, fresh)
	if len(jobs) > 0 {
		r.mu.Lock()
		r.limits = append(r.limits, limit)
		r.jobs += len(jobs)
		r.mu.Unlock()
	}
	return jobs, err
}

// taken returns the limits recorded since the last call and how many runs
// those takes returned, and forgets them.
func (r *takeRecorder) taken() ([]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, n := r.limits, r.jobs
	r.limits, r.jobs = nil, 0
	return l, n
}

// TestScheduler_ClusterTakeShare: a node alone takes the runs it claims
// in the claim itself, and sends them; with a second node alive its runs
// wait to be taken, and it takes at most its share of its slots
// (MaxConcurrent over the live nodes, at least 16), so that runs claimed
// together spread over the nodes.
func TestScheduler_ClusterTakeShare(t *testing.T) {
	t.Parallel()
	dbA, dsn := storetest.OpenShared(t, "a", apicron.SystemClock{})
	target := newCountingTarget(t)
	rec := &takeRecorder{DB: dbA}
	a := scheduler.New(scheduler.Config{Store: rec, Executor: httpExecutor{node: "a"}, LeaseTTL: 5 * time.Second,
		ShutdownGrace: 5 * time.Second, MaxConcurrent: 100})
	runA := startRun(t, a)
	defer runA.stop()
	for range 3 {
		s := mustSchedule(t, dbA, target.URL, &apicron.Schedule{Type: apicron.Interval, IntervalSeconds: 1})
		a.Changed(s.ID)
	}
	eventually(t, "a to send runs alone", func() bool { return target.requests("a") >= 6 })
	// (A claim is queued if a's own heartbeat is older than 2.5 s, as
	// under load one may be: most runs, not all, are taken in the claims.)
	if limits, n := rec.taken(); 2*n >= target.requests("a") {
		t.Fatalf("a alone took %d runs in %d takes (limits %v) of the %d it sent; want most taken in the claims",
			n, len(limits), limits, target.requests("a"))
	}

	dbB := storetest.OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: "b"})
	b := startNodeTTL(t, "b", dbB, dbB, 5*time.Second)
	defer b.run.stop()
	eventually(t, "a to see b alive", func() bool { return dbA.LiveNodeCount() == 2 })
	rec.taken()
	var shared []int
	eventually(t, "a to take runs beside b", func() bool {
		l, _ := rec.taken()
		shared = append(shared, l...)
		return len(shared) >= 2
	})
	for _, l := range shared {
		if l < 16 || l > 50 {
			t.Fatalf("a beside b took with limits %v; want at most its share, 50", shared)
		}
	}
}

// The store is the engine's cluster on a shared database: the engine finds
// the interface at run time, so a method missing would make it a single
// node in silence.
var _ scheduler.Cluster = (*store.DB)(nil)
