package scheduler_test

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// A run the database assigns to this node that the node never received (a
// take whose answer was lost) is marked INTERRUPTED after two checks; the
// runs the node is executing are left alone, however long they take.
func TestScheduler_ReapsRunsTakenButNeverReceived(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDSN(t, "postgres")
	ctx := context.Background()
	clock := &fakeClock{now: t0}
	db := storetest.OpenDSN(t, "postgres", dsn, store.Config{Clock: clock, Shared: true, NodeID: "n1"})
	release := make(chan struct{})
	var executing atomic.Int32
	blocking := execFunc(func(ctx context.Context, job *apicron.Job) apicron.RunResult {
		executing.Add(1)
		<-release
		return succeed(clock)(ctx, job)
	})
	s := scheduler.New(scheduler.Config{Store: db, Executor: blocking, Clock: clock, Cluster: db, MaxConcurrent: 10})
	tg := &apicron.Target{Name: "t", URL: "http://127.0.0.1:9/"}
	if err := db.CreateTarget(ctx, tg); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, name := range []string{"a", "b"} {
		sc := &apicron.Schedule{Name: name, TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 3600}
		if err := db.CreateSchedule(ctx, sc); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sc.ID)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()
	for deadline := time.Now().Add(20 * time.Second); executing.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 runs executing after 20 s", executing.Load())
		}
	}

	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var lost int64
	if err := raw.QueryRowContext(ctx, `INSERT INTO runs (schedule_id, target_id, status, scheduled_at, started_at, node_id)
		VALUES ($1, $2, 'RUNNING', $3, $3, 'n1') RETURNING id`, ids[1], tg.ID, t0.Add(-time.Hour).UnixMilli()).Scan(&lost); err != nil {
		t.Fatal(err)
	}

	s.ReapOrphans(ctx)
	if r, err := db.FindRunByID(ctx, lost); err != nil || r.Status != apicron.Running {
		t.Fatalf("after one check the lost run is %v (%v), want still RUNNING", r.Status, err)
	}
	s.ReapOrphans(ctx)
	r, err := db.FindRunByID(ctx, lost)
	if err != nil || r.Status != apicron.Interrupted || r.ErrorType != apicron.ErrInterrupted {
		t.Fatalf("after two checks the lost run is %+v (%v), want INTERRUPTED", r, err)
	}
	runs, total, err := db.FindRuns(ctx, apicron.RunFilter{Status: ptr(apicron.Running)})
	if err != nil || total != 2 {
		t.Fatalf("RUNNING runs %d (%v), want the 2 being executed", total, err)
	}
	for _, r := range runs {
		if r.ID == lost {
			t.Fatalf("lost run %d still RUNNING", lost)
		}
	}
	m, err := db.SystemMetrics(ctx, clock.Now())
	if err != nil || m.RunsByStatus[apicron.Interrupted] != 1 {
		t.Fatalf("interrupted counter %d (%v), want 1", m.RunsByStatus[apicron.Interrupted], err)
	}
	close(release)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, n, _ := db.FindRuns(ctx, apicron.RunFilter{Status: ptr(apicron.Success)}); n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the executed runs were not recorded SUCCESS within 20 s")
		}
	}
}
