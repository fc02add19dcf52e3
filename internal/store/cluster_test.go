package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// openNodes opens n nodes of one fresh shared PostgreSQL database, as
// production runs them, named node-a, node-b...; it returns them and the
// database's DSN.
func openNodes(t *testing.T, clock apicron.Clock, n int) ([]*store.DB, string) {
	t.Helper()
	first, dsn := storetest.OpenShared(t, "node-a", clock)
	nodes := []*store.DB{first}
	for i := 1; i < n; i++ {
		nodes = append(nodes, storetest.OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: fmt.Sprintf("node-%c", 'a'+i), Clock: clock}))
	}
	return nodes, dsn
}

func mustHeartbeat(t *testing.T, db *store.DB, ttl time.Duration, holder string, epoch int64) {
	t.Helper()
	h, e, err := db.Heartbeat(context.Background(), ttl)
	if err != nil || h != holder || e != epoch {
		t.Fatalf("%s heartbeat: holder %q epoch %d (err %v), want %q %d", db.NodeID(), h, e, err, holder, epoch)
	}
}

// heartbeatAll beats every node's heartbeat, twice, so that each counts
// the others alive (LiveNodeCount), as it does from its next heartbeat on:
// the first node's runs then wait for any node to take them.
func heartbeatAll(t *testing.T, nodes []*store.DB, ttl time.Duration) {
	t.Helper()
	for range 2 {
		for _, n := range nodes {
			if _, _, err := n.Heartbeat(context.Background(), ttl); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The dispatcher lease: the first heartbeat takes it at epoch 1, its
// holder renews it at the same epoch, no other node takes it before it
// expires, another takes it after at a higher epoch, and Resign frees it at
// once. Expiry is the database's clock, as the nodes' clocks may disagree.
func TestCluster_Lease(t *testing.T) {
	t.Parallel()
	nodes, _ := openNodes(t, storetest.NewClock(t0), 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	mustHeartbeat(t, a, time.Hour, "node-a", 1)
	mustHeartbeat(t, a, time.Hour, "node-a", 1)
	mustHeartbeat(t, b, time.Hour, "node-a", 1)
	// A renewal for 1 ms: the lease expires, and another node takes it.
	mustHeartbeat(t, a, time.Millisecond, "node-a", 1)
	time.Sleep(20 * time.Millisecond)
	mustHeartbeat(t, b, time.Hour, "node-b", 2)
	mustHeartbeat(t, a, time.Hour, "node-b", 2)
	if err := a.Resign(ctx); err != nil { // not the holder: changes nothing
		t.Fatal(err)
	}
	mustHeartbeat(t, a, time.Hour, "node-b", 2)
	if err := b.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	mustHeartbeat(t, a, time.Hour, "node-a", 3)
}

// mustClaimQueued creates n INTERVAL schedules and claims their first
// occurrences on leader, at the clock's time; on a shared database the runs
// wait for a node. It returns the run ids.
func mustClaimQueued(t *testing.T, leader *store.DB, clock *storetest.Clock, n int) []int64 {
	t.Helper()
	tg := mustCreateTarget(t, leader)
	var ids []int64
	for i := range n {
		s := mustCreateSchedule(t, leader, &apicron.Schedule{Name: fmt.Sprint("s", i), TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 3600})
		ids = append(ids, s.ID)
	}
	res, err := leader.Claim(context.Background(), clock.Now(), clock.Now(), ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	var runs []int64
	for _, r := range res {
		if r.Job == nil {
			t.Fatalf("schedule %d: nothing claimed", r.ScheduleID)
		}
		runs = append(runs, r.Job.RunID)
	}
	return runs
}

// Two nodes taking claimed runs at once get each run exactly once, and a
// run one node holds locked is skipped by the other, not waited for (SKIP
// LOCKED).
func TestCluster_TakeRuns(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	nodes, dsn := openNodes(t, clock, 2)
	ctx := context.Background()
	runs := mustClaimQueued(t, nodes[0], clock, 40)

	// A run locked by another transaction is skipped, at once.
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	lock, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback() // before raw.Close, which waits for it
	if _, err := lock.ExecContext(ctx, "SELECT id FROM runs WHERE id = $1 FOR UPDATE", runs[0]); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	jobs, err := nodes[1].TakeRuns(tctx, len(runs), 0)
	cancel()
	if err != nil {
		t.Fatalf("take beside a locked run: %v", err)
	}
	if len(jobs) != len(runs)-1 || slices.ContainsFunc(jobs, func(j *apicron.Job) bool { return j.RunID == runs[0] }) {
		t.Fatalf("took %d runs beside the locked one, want the %d others", len(jobs), len(runs)-1)
	}
	if err := lock.Commit(); err != nil {
		t.Fatal(err)
	}
	taken := map[int64]string{}
	for _, j := range jobs {
		taken[j.RunID] = "node-b"
	}
	if jobs, err = nodes[0].TakeRuns(ctx, len(runs), 0); err != nil || len(jobs) != 1 || jobs[0].RunID != runs[0] {
		t.Fatalf("take after the lock: %d jobs, %v", len(jobs), err)
	}
	taken[runs[0]] = "node-a"

	// Both nodes at once, a few runs at a time.
	clock.Add(time.Hour)
	runs = mustClaimQueued(t, nodes[0], clock, 40)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := n.TakeRuns(ctx, 3, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					if prev, ok := taken[j.RunID]; ok {
						t.Errorf("run %d taken by %s and by %s", j.RunID, prev, n.NodeID())
					}
					taken[j.RunID] = n.NodeID()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, id := range runs {
		node, ok := taken[id]
		if !ok {
			t.Errorf("run %d taken by no node", id)
			continue
		}
		if r, err := nodes[0].FindRunByID(ctx, id); err != nil || r.NodeID != node {
			t.Errorf("run %d: recorded on %q (err %v), taken by %s", id, r.NodeID, err, node)
		}
	}
}

func mustRunStatus(t *testing.T, db *store.DB, id int64, status apicron.RunStatus, msg string) {
	t.Helper()
	r, err := db.FindRunByID(context.Background(), id)
	if err != nil || r.Status != status || r.ErrorMessage != msg {
		t.Fatalf("run %d: %s %q (err %v), want %s %q", id, r.Status, r.ErrorMessage, err, status, msg)
	}
}

// ReapDeadNodes interrupts the runs of a node whose heartbeat is older
// than the TTL and the claimed runs no node took within the TTL of their
// time, and leaves a live node's runs and a run not yet due; a node whose
// run was reaped, or a node finishing a run another node took, writes and
// counts nothing.
func TestCluster_ReapAndFence(t *testing.T) {
	t.Parallel()
	// The engine's clock stands a minute behind the database's, so the
	// runs it claims are a minute old by the database's clock.
	clock := storetest.NewClock(time.Now().Add(-time.Minute))
	nodes, dsn := openNodes(t, clock, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()
	const ttl = 10 * time.Second
	heartbeatAll(t, nodes, ttl)
	runs := mustClaimQueued(t, a, clock, 3)
	take := func(n *store.DB) int64 {
		t.Helper()
		jobs, err := n.TakeRuns(ctx, 1, 0)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("%s took %d runs (err %v)", n.NodeID(), len(jobs), err)
		}
		return jobs[0].RunID
	}
	ofB, ofC := take(b), take(c)
	untaken := runs[slices.IndexFunc(runs, func(id int64) bool { return id != ofB && id != ofC })]
	clock.Add(2 * time.Hour) // a run claimed now is due an hour ahead of the database's clock
	future := mustClaimQueued(t, a, clock, 1)[0]
	// node-b stopped a minute ago: its last heartbeat is that old.
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE node_id = 'node-b'")

	n, err := a.ReapDeadNodes(ctx, clock.Now(), ttl)
	if err != nil || n != 2 {
		t.Fatalf("reaped %d runs (err %v), want 2", n, err)
	}
	mustRunStatus(t, a, ofB, apicron.Interrupted, "the node running it stopped (no heartbeat for 10s)")
	mustRunStatus(t, a, untaken, apicron.Interrupted, "no node took the run within 10s of its time")
	mustRunStatus(t, a, ofC, apicron.Running, "")
	mustRunStatus(t, a, future, apicron.Running, "")

	// node-b comes back and reports its run; node-b reports node-c's.
	at := clock.Now()
	lat := 5.0
	for _, id := range []int64{ofB, ofC} {
		r, err := a.FindRunByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Finish(ctx, []apicron.RunResult{{RunID: id, ScheduleID: r.ScheduleID, StartedAt: at, FinishedAt: at,
			Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}); err != nil {
			t.Fatal(err)
		}
	}
	mustRunStatus(t, a, ofB, apicron.Interrupted, "the node running it stopped (no heartbeat for 10s)")
	mustRunStatus(t, a, ofC, apicron.Running, "")
	m, err := a.SystemMetrics(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalRuns != 2 || m.RunsByStatus[apicron.Interrupted] != 2 || m.RunsByStatus[apicron.Success] != 0 || m.RunsLastHour != 2 {
		t.Fatalf("fenced results were counted: %+v", m)
	}
	// The node that took it finishes it, counted once.
	r, _ := a.FindRunByID(ctx, ofC)
	if err := c.Finish(ctx, []apicron.RunResult{{RunID: ofC, ScheduleID: r.ScheduleID, StartedAt: at, FinishedAt: at,
		Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}); err != nil {
		t.Fatal(err)
	}
	mustRunStatus(t, a, ofC, apicron.Success, "")
	if m, err = a.SystemMetrics(ctx, at); err != nil || m.TotalRuns != 3 || m.RunsByStatus[apicron.Success] != 1 {
		t.Fatalf("after node-c's result: %+v %v", m, err)
	}
}

// LiveNodes counts the nodes whose heartbeat is within the ttl: none before
// any heartbeat, each node once it beats, and a node silent for longer than
// the ttl no more. A store alone on its database is one node.
func TestCluster_LiveNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		db := storetest.Open(t, "sqlite", storetest.NewClock(t0))
		if n, err := db.LiveNodes(ctx, time.Second); err != nil || n != 1 {
			t.Fatalf("LiveNodes = %d, %v; want 1", n, err)
		}
	})
	t.Run("shared", func(t *testing.T) {
		t.Parallel()
		nodes, _ := openNodes(t, storetest.NewClock(t0), 2)
		a, b := nodes[0], nodes[1]
		want := func(ttl time.Duration, n int) {
			t.Helper()
			if got, err := a.LiveNodes(ctx, ttl); err != nil || got != n {
				t.Fatalf("LiveNodes(%s) = %d, %v; want %d", ttl, got, err, n)
			}
		}
		// LiveNodeCount is what a node's own last heartbeat found, itself included.
		counted := func(db *store.DB, n int) {
			t.Helper()
			if got := db.LiveNodeCount(); got != n {
				t.Fatalf("LiveNodeCount = %d; want %d", got, n)
			}
		}
		want(time.Hour, 0)
		counted(a, 1) // before any heartbeat
		mustHeartbeat(t, a, time.Hour, "node-a", 1)
		want(time.Hour, 1)
		counted(a, 1)
		mustHeartbeat(t, b, time.Hour, "node-a", 1)
		want(time.Hour, 2)
		counted(b, 2)
		counted(a, 1)           // a has not beaten since b came
		time.Sleep(time.Second) // both heartbeats are now older than 500 ms
		mustHeartbeat(t, b, 500*time.Millisecond, "node-a", 1)
		want(500*time.Millisecond, 1)
		counted(b, 1)
	})
}

// The dispatcher lease fences claims. A node whose lease another node took
// over claims nothing (apicron.ErrLeaseLost) and changes nothing, before its
// own heartbeat has seen the takeover as after; the holder's runs record its
// epoch; a node that takes the lease again claims at the new epoch, and one
// that resigned claims no more.
func TestCluster_ClaimFencedByLease(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	nodes, dsn := openNodes(t, clock, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	tg := mustCreateTarget(t, a)
	s := mustCreateSchedule(t, a, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60,
		OverlapPolicy: apicron.OverlapAllow, MaxParallel: ptr(10)})
	refused := func(n *store.DB, when string) {
		t.Helper()
		before := rawQuery(t, "postgres", dsn, "SELECT COUNT(*) || ' runs, next ' || MAX(s.next_run_at) FROM schedules s LEFT JOIN runs r ON r.schedule_id = s.id")
		if _, err := n.Claim(ctx, clock.Now(), clock.Now(), []int64{s.ID}, nil); !errors.Is(err, apicron.ErrLeaseLost) {
			t.Fatalf("%s: %s claimed: err %v, want ErrLeaseLost", when, n.NodeID(), err)
		}
		if after := rawQuery(t, "postgres", dsn, "SELECT COUNT(*) || ' runs, next ' || MAX(s.next_run_at) FROM schedules s LEFT JOIN runs r ON r.schedule_id = s.id"); after != before {
			t.Fatalf("%s: a refused claim changed the database: %s, then %s", when, before, after)
		}
	}
	claimed := func(n *store.DB, epoch string) {
		t.Helper()
		res := mustClaim(t, n, clock.Now(), s.ID)
		if res.Job == nil {
			t.Fatalf("%s claimed nothing", n.NodeID())
		}
		if got := rawQuery(t, "postgres", dsn, fmt.Sprint("SELECT lease_epoch FROM runs WHERE id = ", res.Job.RunID)); got != epoch {
			t.Fatalf("run claimed by %s: lease_epoch %s, want %s", n.NodeID(), got, epoch)
		}
		clock.Add(time.Minute)
	}

	mustHeartbeat(t, a, time.Hour, "node-a", 1)
	claimed(a, "1")
	// node-a's lease runs out (a pause longer than the lease) and node-b
	// takes over; node-a has not heard from the database since.
	mustHeartbeat(t, a, time.Millisecond, "node-a", 1)
	time.Sleep(20 * time.Millisecond)
	mustHeartbeat(t, b, time.Hour, "node-b", 2)
	refused(a, "before node-a's heartbeat")
	claimed(b, "2")
	mustHeartbeat(t, a, time.Hour, "node-b", 2)
	refused(a, "after node-a's heartbeat")
	if err := b.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	refused(b, "after node-b resigned")
	mustHeartbeat(t, a, time.Hour, "node-a", 3)
	claimed(a, "3")
	if a.LeaseEpoch() != 3 || b.LeaseEpoch() != -1 {
		t.Fatalf("lease epochs as the nodes saw them: %d, %d; want 3, -1", a.LeaseEpoch(), b.LeaseEpoch())
	}
}

// A node takes runs only while its heartbeat is younger than fresh, and
// ConfirmRun tells a run still its own and a live node from a run the
// reaper took while the node was silent.
func TestCluster_TakeAndConfirmFencedByHeartbeat(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Now())
	nodes, dsn := openNodes(t, clock, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	const ttl = 10 * time.Second
	heartbeatAll(t, nodes, ttl)
	runs := mustClaimQueued(t, a, clock, 2)
	jobs, err := b.TakeRuns(ctx, 1, ttl/2)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("a live node took %d runs (err %v), want 1", len(jobs), err)
	}
	ofB := jobs[0].RunID
	confirm := func(n *store.DB, id int64, wantMine, wantLive bool, when string) {
		t.Helper()
		mine, live, err := n.ConfirmRun(ctx, id, 0, ttl/2)
		if err != nil || mine != wantMine || live != wantLive {
			t.Fatalf("%s: %s ConfirmRun(%d) = mine %v, live %v (err %v); want %v, %v", when, n.NodeID(), id, mine, live, err, wantMine, wantLive)
		}
	}
	confirm(b, ofB, true, true, "just taken")
	confirm(a, ofB, false, false, "another node's run")

	// node-b falls silent for 6 s: past fresh (5 s), within the lease.
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 6000 WHERE node_id = 'node-b'")
	if jobs, err := b.TakeRuns(ctx, 1, ttl/2); err != nil || len(jobs) != 0 {
		t.Fatalf("a silent node took %d runs (err %v), want none", len(jobs), err)
	}
	confirm(b, ofB, true, false, "silent")
	// Past the lease: the reaper takes its run, which is no longer node-b's.
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 6000 WHERE node_id = 'node-b'")
	if n, err := a.ReapDeadNodes(ctx, clock.Now(), ttl); err != nil || n != 1 {
		t.Fatalf("reaped %d runs (err %v), want node-b's one", n, err)
	}
	if _, _, err := b.Heartbeat(ctx, ttl); err != nil { // node-b wakes up
		t.Fatal(err)
	}
	confirm(b, ofB, false, false, "reaped while silent")
	// Awake again, it takes the other run as any live node does.
	if jobs, err := b.TakeRuns(ctx, 1, ttl/2); err != nil || len(jobs) != 1 || jobs[0].RunID == ofB || !slices.Contains(runs, jobs[0].RunID) {
		t.Fatalf("node-b awake took %v (err %v), want the other run", jobs, err)
	}
}

// A lease row locked by a transaction that does not end (the claim of a
// node frozen mid-transaction holds it FOR SHARE) holds no node's heartbeat
// back: the node's own heartbeat is written first, and the lease's upsert
// gives up after its lock wait instead of blocking the heartbeat loop. Once
// the lock is gone, the heartbeat takes or renews the lease again.
func TestCluster_HeartbeatBesideALockedLease(t *testing.T) {
	t.Parallel()
	nodes, dsn := openNodes(t, storetest.NewClock(t0), 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	mustHeartbeat(t, a, time.Hour, "node-a", 1)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	frozen, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer frozen.Rollback()
	if _, err := frozen.ExecContext(ctx, "SELECT 1 FROM leases WHERE name = 'dispatcher' FOR SHARE"); err != nil {
		t.Fatal(err)
	}
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE node_id = 'node-b'")
	start := time.Now()
	if _, _, err := b.Heartbeat(ctx, time.Hour); err == nil {
		t.Fatal("a heartbeat beside a locked lease row renewed the lease")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the heartbeat waited %v for the locked lease row", took)
	}
	fresh := "SELECT (heartbeat_at >= CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) - 5000)::text FROM nodes WHERE node_id = 'node-b'"
	if got := rawQuery(t, "postgres", dsn, fresh); got != "true" {
		t.Fatalf("node-b's heartbeat fresh beside the locked lease: %s, want true", got)
	}
	if err := frozen.Rollback(); err != nil {
		t.Fatal(err)
	}
	mustHeartbeat(t, b, time.Hour, "node-a", 1)
	mustHeartbeat(t, a, time.Hour, "node-a", 1)
}

// The store's PostgreSQL sessions end a transaction left idle longer than
// Config.IdleInTransaction, so a node frozen mid-transaction frees its
// locks; a URL that sets the setting itself keeps its own value.
func TestStore_IdleInTransactionTimeout(t *testing.T) {
	t.Parallel()
	_, dsn := storetest.OpenShared(t, "node-a", storetest.NewClock(t0))
	ctx := context.Background()
	setting := func(db *store.DB) (*sql.Tx, string) {
		t.Helper()
		tx, err := db.Writer().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if err := tx.QueryRowContext(ctx, "SELECT current_setting('idle_in_transaction_session_timeout')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return tx, v
	}
	db := storetest.OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: "node-b", IdleInTransaction: 300 * time.Millisecond})
	tx, v := setting(db)
	defer tx.Rollback()
	if v != "300ms" {
		t.Fatalf("idle_in_transaction_session_timeout %q on the store's session, want 300ms", v)
	}
	time.Sleep(time.Second)
	if _, err := tx.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Fatal("a transaction idle for 1 s outlived an idle_in_transaction_session_timeout of 300 ms")
	}
	own := storetest.OpenDSN(t, "postgres", dsn+"&idle_in_transaction_session_timeout=7000", store.Config{Shared: true, NodeID: "node-c", IdleInTransaction: 300 * time.Millisecond})
	tx2, v := setting(own)
	defer tx2.Rollback()
	if v != "7s" {
		t.Fatalf("idle_in_transaction_session_timeout %q with the URL's own 7000, want 7s", v)
	}
}

// Heartbeats record each node's LEASE_TTL; a node that finds a live node
// with another one names it, and the disagreement ends once they agree or
// the other node's heartbeat is older than the TTL.
func TestCluster_LeaseTTLDisagreement(t *testing.T) {
	t.Parallel()
	nodes, dsn := openNodes(t, storetest.NewClock(t0), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()
	beat := func(n *store.DB, ttl time.Duration) {
		t.Helper()
		if _, _, err := n.Heartbeat(ctx, ttl); err != nil {
			t.Fatal(err)
		}
	}
	if d := a.LeaseTTLDisagreement(); d != "" {
		t.Fatalf("before a heartbeat: %q", d)
	}
	beat(a, 5*time.Second)
	beat(b, 5*time.Second)
	beat(a, 5*time.Second)
	if d := a.LeaseTTLDisagreement(); d != "" {
		t.Fatalf("same TTL: %q", d)
	}
	beat(c, 10*time.Second)
	beat(a, 5*time.Second)
	want := "node-c runs with LEASE_TTL 10s; this node with 5s: fencing needs the same LEASE_TTL on every node"
	if d := a.LeaseTTLDisagreement(); d != want {
		t.Fatalf("node-a: %q, want %q", d, want)
	}
	beat(c, 10*time.Second)
	if d := c.LeaseTTLDisagreement(); d != "node-a runs with LEASE_TTL 5s, node-b runs with LEASE_TTL 5s; this node with 10s: fencing needs the same LEASE_TTL on every node" {
		t.Fatalf("node-c: %q", d)
	}
	// node-c stopped a minute ago: no longer live, no longer a disagreement.
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE node_id = 'node-c'")
	beat(a, 5*time.Second)
	if d := a.LeaseTTLDisagreement(); d != "" {
		t.Fatalf("node-c gone: %q", d)
	}
}

// A node alone among the live ones (its last heartbeat counted no other)
// takes the runs it claims in the claim itself: they are its own at once,
// marked with a take token, no other node can take them, and its result
// is recorded. Once its heartbeat counts another node, or its own
// heartbeat is older than half the lease, its claimed runs wait for any
// node to take them.
func TestCluster_ClaimAloneTakesItsRuns(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	nodes, dsn := openNodes(t, clock, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	tg := mustCreateTarget(t, a)
	s := mustCreateSchedule(t, a, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 3600})
	claim := func() *apicron.Job {
		t.Helper()
		clock.Add(time.Hour)
		res, err := a.Claim(ctx, clock.Now(), clock.Now(), []int64{s.ID}, nil)
		if err != nil || len(res) != 1 || res[0].Job == nil {
			t.Fatalf("claim: %+v, %v", res, err)
		}
		return res[0].Job
	}
	lat := 1.0
	finish := func(n *store.DB, j *apicron.Job) {
		t.Helper()
		if err := n.Finish(ctx, []apicron.RunResult{{RunID: j.RunID, ScheduleID: s.ID, StartedAt: clock.Now(), FinishedAt: clock.Now(),
			TakeToken: j.TakeToken, Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}); err != nil {
			t.Fatal(err)
		}
		mustRunStatus(t, a, j.RunID, apicron.Success, "")
	}
	owner := func(j *apicron.Job) string {
		t.Helper()
		r, err := a.FindRunByID(ctx, j.RunID)
		if err != nil {
			t.Fatal(err)
		}
		return r.NodeID
	}

	mustHeartbeat(t, a, time.Hour, "node-a", 1)
	j := claim()
	if j.TakeToken == 0 || owner(j) != "node-a" {
		t.Fatalf("alone: take token %d, run on %q; want a token and node-a", j.TakeToken, owner(j))
	}
	if jobs, err := b.TakeRuns(ctx, 10, 0); err != nil || len(jobs) != 0 {
		t.Fatalf("b took %d runs of a's claim (err %v)", len(jobs), err)
	}
	finish(a, j)

	mustHeartbeat(t, b, time.Hour, "node-a", 1)
	mustHeartbeat(t, a, time.Hour, "node-a", 1) // now counts b
	j = claim()
	if j.TakeToken != 0 || owner(j) != "" {
		t.Fatalf("beside b: take token %d, run on %q; want it queued", j.TakeToken, owner(j))
	}
	jobs, err := b.TakeRuns(ctx, 10, 0)
	if err != nil || len(jobs) != 1 || jobs[0].RunID != j.RunID {
		t.Fatalf("b took %d runs (err %v), want the queued one", len(jobs), err)
	}
	finish(b, jobs[0])

	// Alone again (b's heartbeat older than a's ttl), then a's own
	// heartbeat older than half of it: the heartbeats are aged in the
	// database, whose clock they are read by.
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 7200000 WHERE node_id = 'node-b'")
	mustHeartbeat(t, a, time.Hour, "node-a", 1)
	if a.LiveNodeCount() != 1 {
		t.Fatalf("a counts %d live nodes, want 1", a.LiveNodeCount())
	}
	if j = claim(); j.TakeToken == 0 {
		t.Fatal("alone again: the run was queued")
	}
	finish(a, j)
	rawExec(t, "postgres", dsn, "UPDATE nodes SET heartbeat_at = heartbeat_at - 1860000 WHERE node_id = 'node-a'")
	if j = claim(); j.TakeToken != 0 || owner(j) != "" {
		t.Fatalf("with a heartbeat 31 min old (ttl 1 h): take token %d, run on %q; want it queued", j.TakeToken, owner(j))
	}
}
