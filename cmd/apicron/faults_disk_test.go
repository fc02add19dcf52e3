package main

// SQLite starved of its file: the disk full, the write lock held by
// another process.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountSmallFS mounts a tmpfs of size bytes on a new directory and returns
// it; it is unmounted when the test ends. Without the right to mount (not
// root, or no CAP_SYS_ADMIN) the test skips.
func mountSmallFS(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir() + "/small"
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes to path until the filesystem is full and returns how
// many bytes it wrote.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// TestReliability_SQLiteDiskFull fills the filesystem that holds the SQLite
// database while the service fires 20 schedules every second, keeps it full
// for a while, then frees it. While writes fail the process stays up, /health
// answers 503 and says why, and the results of requests already sent wait in
// memory; once there is room again it recovers by itself and writes them:
// every request the target saw ends as a recorded run.
func TestReliability_SQLiteDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary on a filesystem it fills: long end-to-end test; run without -short")
	}
	dir := mountSmallFS(t, 32<<20)
	seen := newArrivals()
	body := strings.Repeat("0123456789abcdef", 256) // 4 KiB per run, so the database grows
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		time.Sleep(100 * time.Millisecond)
		_, _ = w.Write([]byte(body))
	}))
	defer sink.Close()

	bin := buildBinary(t)
	db := dir + "/full.db"
	cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=5s"}, "--port", "0", "--database-url", "sqlite:///"+db)
	tid := createTarget(t, &server{url: url}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range 20 {
		createSchedule(t, &server{url: url}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	time.Sleep(3 * time.Second)
	if code, h := healthOf(url); code != 200 {
		t.Fatalf("health before the disk fills: %d %v", code, h)
	}

	filler := dir + "/filler"
	filled := time.Now()
	wrote := fillDisk(t, filler)
	var (
		unhealthy  time.Duration
		reason     string
		maxPending float64
	)
	waitFor(t, 30*time.Second, "/health to report the failing writes", func() bool {
		code, h := healthOf(url)
		if code == 503 {
			unhealthy = time.Since(filled)
			reason, _ = h["error"].(string)
			return true
		}
		return false
	})
	// Stay full for a while: the process must stay up and keep saying so.
	stillDown := 0
	for range 10 {
		time.Sleep(500 * time.Millisecond)
		code, h := healthOf(url)
		if code == 503 {
			stillDown++
		}
		if e, ok := h["engine"].(map[string]any); ok {
			if p, ok := e["pending_results"].(float64); ok {
				maxPending = max(maxPending, p)
			}
		}
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process died while the disk was full: %v", err)
	}
	if !strings.Contains(reason, "SQLITE_FULL") {
		t.Errorf("/health does not say the disk is full: %q", reason)
	}
	if stillDown < 8 {
		t.Errorf("/health answered 503 %d times of 10 while the disk stayed full", stillDown)
	}

	freed := time.Now()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var recovered time.Duration
	waitFor(t, 30*time.Second, "/health to recover", func() bool {
		code, _ := healthOf(url)
		if code == 200 {
			recovered = time.Since(freed)
			return true
		}
		return false
	})
	// Runs resume: occurrences are claimed again after the disk was freed.
	time.Sleep(3 * time.Second)
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}

	ro := openReadOnly(t, db)
	defer ro.Close()
	// Every request the target saw is a finished, successful run: no result
	// was dropped while the database could not take it.
	f, total := requireCleanStop(t, ro, noRebind, seen, "after the disk was full", "SUCCESS")
	var after int64
	if err := ro.QueryRow(`SELECT COUNT(*) FROM runs WHERE scheduled_at > ?`, freed.UnixMilli()).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after == 0 {
		t.Errorf("no run after the disk was freed")
	}
	t.Logf("disk filled (%d KiB written) -> /health 503 after %v: %q; results waiting in memory up to %.0f; freed -> /health 200 after %v; runs %v; requests sent %d, all recorded",
		wrote>>10, unhealthy.Round(time.Millisecond), reason, maxPending, recovered.Round(time.Millisecond), f.byStatus, total)
}

// TestReliability_SQLiteWriteLocked holds SQLite's write lock from another
// connection (as a backup tool or a forgotten sqlite3 shell with an open
// transaction would) for longer than the service's busy timeout. The
// service's writes wait, then fail; /health says so within a few seconds
// and recovers once the lock is released, and every request sent is recorded.
func TestReliability_SQLiteWriteLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("holds the database's write lock for 14 s: long end-to-end test; run without -short")
	}
	seen := newArrivals()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		time.Sleep(50 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	}))
	defer sink.Close()
	bin := buildBinary(t)
	db := t.TempDir() + "/locked.db"
	cmd, url := startBinary(t, bin, []string{"SHUTDOWN_GRACE=5s"}, "--port", "0", "--database-url", "sqlite:///"+db)
	tid := createTarget(t, &server{url: url}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range 10 {
		createSchedule(t, &server{url: url}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	time.Sleep(2 * time.Second)

	other, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	locked := time.Now()
	var (
		unhealthy      time.Duration
		reasons        []string
		sawBusy        bool
		sentDuringLock int
	)
	before, _ := seen.counts()
	for time.Since(locked) < lockHeld {
		time.Sleep(250 * time.Millisecond)
		code, h := healthOf(url)
		if code == 503 {
			if unhealthy == 0 {
				unhealthy = time.Since(locked)
			}
			reason, _ := h["error"].(string)
			if len(reasons) == 0 || reasons[len(reasons)-1] != reason {
				reasons = append(reasons, reason)
			}
			sawBusy = sawBusy || strings.Contains(reason, "SQLITE_BUSY")
		}
	}
	during, _ := seen.counts()
	sentDuringLock = during - before
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	conn.Close()
	other.Close()
	var recovered time.Duration
	waitFor(t, 30*time.Second, "/health to recover", func() bool {
		if code, _ := healthOf(url); code == 200 {
			recovered = time.Since(released)
			return true
		}
		return false
	})
	if unhealthy == 0 || unhealthy > 9*time.Second {
		t.Errorf("/health reported the blocked writes after %v, want within about %v", unhealthy, stuckWriteBound)
	}
	if !sawBusy {
		t.Errorf("/health never said the database was locked: %q", reasons)
	}
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process died: %v", err)
	}
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop: %v", err)
	}
	ro := openReadOnly(t, db)
	defer ro.Close()
	f, total := requireCleanStop(t, ro, noRebind, seen, "after the write lock", "SUCCESS")
	var after int64
	if err := ro.QueryRow(`SELECT COUNT(*) FROM runs WHERE scheduled_at > ?`, released.UnixMilli()).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after == 0 {
		t.Errorf("no run after the lock was released")
	}
	busy := ""
	for _, r := range reasons {
		if strings.Contains(r, "SQLITE_BUSY") {
			busy = r
			break
		}
	}
	t.Logf("write lock held %v -> /health 503 after %v, saying %q, then %q; requests sent while locked %d; released -> /health 200 after %v; runs %v; requests sent %d, all recorded",
		lockHeld, unhealthy.Round(time.Millisecond), reasons[0], busy, sentDuringLock, recovered.Round(time.Millisecond), f.byStatus, total)
}

// stuckWriteBound is when /health should report a write stuck on a lock:
// the engine's threshold (5 s) plus the poll.
const stuckWriteBound = 6 * time.Second

// lockHeld is how long TestReliability_SQLiteWriteLocked holds the write
// lock: past the service's busy timeout (10 s), so that a write fails.
const lockHeld = 14 * time.Second
