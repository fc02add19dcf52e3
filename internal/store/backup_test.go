package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestBackup_WhileWriting backs up a SQLite database three times while
// runs are claimed and finished in it, and opens each copy as apicron
// would: every copy has the target, the schedule and runs, and its
// counters agree with its runs, as they do in any one snapshot.
func TestBackup_WhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDSN(t, "sqlite")
	clock := storetest.NewClock(t0)
	db := storetest.OpenDSN(t, "sqlite", dsn, store.Config{Clock: clock})
	tg := mustCreateTarget(t, db)
	s := mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})

	// The writer claims and finishes one occurrence after another, each in
	// its own transactions, until the backups are done (or 2,000 runs).
	stop := make(chan struct{})
	written := make(chan int, 1)
	firstRun := make(chan struct{})
	werr := make(chan error, 1)
	go func() {
		n := 0
		defer func() { written <- n }()
		for at := t0; n < 2000; at = at.Add(time.Minute) {
			select {
			case <-stop:
				return
			default:
			}
			res, err := db.Claim(ctx, at, at, []int64{s.ID}, nil)
			if err != nil || len(res) != 1 || res[0].Job == nil {
				werr <- errors.Join(err, errors.New("claim fired nothing"))
				return
			}
			latency, code := 10.0, 200
			done := at.Add(time.Second)
			if err := db.Finish(ctx, []apicron.RunResult{{
				RunID: res[0].Job.RunID, ScheduleID: s.ID, StartedAt: at, FinishedAt: done,
				Outcome:  apicron.Outcome{Status: apicron.Success, LatencyMs: &latency, StatusCode: &code},
				Attempts: []apicron.Attempt{{Number: 1, StartedAt: at, FinishedAt: done, Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &latency}}},
			}}); err != nil {
				werr <- err
				return
			}
			if n++; n == 1 {
				close(firstRun)
			}
		}
	}()
	select {
	case <-firstRun:
	case err := <-werr:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("no run written in 30 s")
	}

	dir := t.TempDir()
	var copies []string
	for i := range 3 {
		to := filepath.Join(dir, "backup-"+string(rune('a'+i))+".db")
		if err := store.Backup(ctx, store.Config{Driver: "sqlite", DSN: dsn}, to); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		copies = append(copies, to)
	}
	close(stop)
	n := <-written
	select {
	case err := <-werr:
		t.Fatal(err)
	default:
	}
	t.Logf("%d runs written during the backups", n)

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	for _, c := range copies {
		b, err := store.Open(ctx, store.Config{Driver: "sqlite", DSN: c})
		if err != nil {
			t.Fatalf("open backup %s: %v", c, err)
		}
		if _, err := b.FindTargetByID(ctx, tg.ID); err != nil {
			t.Errorf("%s: target: %v", c, err)
		}
		if _, err := b.FindScheduleByID(ctx, s.ID); err != nil {
			t.Errorf("%s: schedule: %v", c, err)
		}
		success := apicron.Success
		_, total, err := b.FindRuns(ctx, apicron.RunFilter{ScheduleID: &s.ID, Status: &success, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		ms, _, err := b.ScheduleMetrics(ctx, apicron.Page{Limit: 10})
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: metrics %v, %v", c, ms, err)
		}
		if total < 1 || ms[0].SuccessfulRuns != int64(total) {
			t.Errorf("%s: %d SUCCESS runs, counters say %d: not one snapshot", c, total, ms[0].SuccessfulRuns)
		}
		b.Close()
	}
}

// TestBackup_Refused: an existing file is never overwritten (ECONFLICT, the
// file unchanged), a database that does not exist is ENOTFOUND, and
// PostgreSQL is EINVALID with a pointer to pg_dump.
func TestBackup_Refused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDSN(t, "sqlite")
	storetest.OpenDSN(t, "sqlite", dsn, store.Config{})
	to := filepath.Join(t.TempDir(), "exists.db")
	if err := os.WriteFile(to, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := store.Backup(ctx, store.Config{Driver: "sqlite", DSN: dsn}, to)
	if apicron.ErrorCode(err) != apicron.ECONFLICT || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over a file: %v, want a conflict", err)
	}
	if b, _ := os.ReadFile(to); string(b) != "keep me" {
		t.Errorf("the existing file now holds %q", b)
	}
	if err := store.Backup(ctx, store.Config{Driver: "sqlite", DSN: dsn}, dsn); apicron.ErrorCode(err) != apicron.ECONFLICT {
		t.Errorf("backup onto the database itself: %v, want a conflict", err)
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	err = store.Backup(ctx, store.Config{Driver: "sqlite", DSN: missing}, filepath.Join(t.TempDir(), "b.db"))
	if apicron.ErrorCode(err) != apicron.ENOTFOUND {
		t.Errorf("backup of a missing database: %v, want not found", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup created the missing database: %v", err)
	}
	err = store.Backup(ctx, store.Config{Driver: "postgres", DSN: "postgres://x@127.0.0.1/x"}, filepath.Join(t.TempDir(), "b.db"))
	if apicron.ErrorCode(err) != apicron.EINVALID || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup of PostgreSQL: %v, want a pointer to pg_dump", err)
	}
}

// TestBackup_Closed backs up a database no process has open.
func TestBackup_Closed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDSN(t, "sqlite")
	db := storetest.OpenDSN(t, "sqlite", dsn, store.Config{})
	tg := mustCreateTarget(t, db)
	db.Close()
	to := filepath.Join(t.TempDir(), "b.db")
	if err := store.Backup(ctx, store.Config{Driver: "sqlite", DSN: dsn}, to); err != nil {
		t.Fatal(err)
	}
	b := storetest.OpenDSN(t, "sqlite", to, store.Config{})
	if _, err := b.FindTargetByID(ctx, tg.ID); err != nil {
		t.Errorf("target: %v", err)
	}
}
