//go:build unix

package main

// A flood of idle API connections: clients that each send one /health and
// then hold their connection open, far more of them than the process may
// open files.

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// raiseOwnFileLimit makes sure this test process may open n files, raising
// its soft limit up to the hard one, or skips the test.
func raiseOwnFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("the test opens %d sockets; its hard RLIMIT_NOFILE is %d", n, lim.Max)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("raise RLIMIT_NOFILE to %d: %v", lim.Max, err)
	}
}

// openFiles counts the descriptors process pid holds, from /proc.
func openFiles(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// fileLimitOf reads the soft "Max open files" of process pid, from /proc.
func fileLimitOf(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("no Max open files in /proc/%d/limits", pid)
}

// cpuTime returns the processor time process pid has used, from /proc
// (in clock ticks, 100 a second on Linux).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// logRunsPerSecond logs, per second of scheduled time from start, the
// runs, their greatest lateness by started_at and the occurrences they
// coalesced: where a failing flood test lost its time.
func logRunsPerSecond(t *testing.T, db *sql.DB, start time.Time) {
	t.Helper()
	rows, err := db.Query(`SELECT (scheduled_at - ?) / 1000, COUNT(*), MAX(started_at - scheduled_at), SUM(missed),
		SUM(CASE WHEN status = 'SUCCESS' THEN 0 ELSE 1 END) FROM runs GROUP BY 1 ORDER BY 1`, start.UnixMilli())
	if err != nil {
		t.Logf("runs per second: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var sec, runs, lateMs, missed, failed int64
		if err := rows.Scan(&sec, &runs, &lateMs, &missed, &failed); err != nil {
			t.Logf("runs per second: %v", err)
			return
		}
		t.Logf("second %3d of the flood: %d runs, %d not SUCCESS, latest started %d ms late, %d occurrences coalesced", sec, runs, failed, lateMs, missed)
	}
}

// percentile returns the p-th percentile (0 to 1) of ds, sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// TestReliability_IdleConnectionFlood mounts the attack that stopped the
// engine, scaled down: the real binary, with RLIMIT_NOFILE 1,024, fires 100
// schedules every second at a loopback target that closes every
// connection (as many targets make every call dial) while 3,000 clients
// each open a connection to the API, send one GET /health and hold the
// connection, idle, for 10 s. Every occurrence must fire and succeed, none
// missed or a second late; a fresh connection's /health must answer
// throughout; and once the clients are gone everything is as before.
func TestReliability_IdleConnectionFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the real binary with connections for 10 s: long end-to-end test; run without -short")
	}
	const (
		childLimit = 1024
		clients    = 3000
		schedules  = 100
		hold       = 10 * time.Second
	)
	raiseOwnFileLimit(t, clients+1024)

	seen := newArrivals()
	var lateMu sync.Mutex
	var late []time.Duration // arrival at the target - scheduled time
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		seen.add(r)
		if at, err := time.Parse(time.RFC3339Nano, r.Header.Get("X-Apicron-Scheduled-At")); err == nil {
			lateMu.Lock()
			late = append(late, arrived.Sub(at))
			lateMu.Unlock()
		}
		// Every call dials, as calls to many different targets do.
		w.Header().Set("Connection", "close")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer sink.Close()

	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "flood.db")
	// ulimit -n sets the soft and the hard limit: the process cannot raise
	// it back.
	cmd, url, logs := startBinaryLogs(t, "/bin/sh", []string{"SHUTDOWN_GRACE=3s", "LOG_LEVEL=DEBUG"},
		"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, childLimit), bin,
		"--port", "0", "--database-url", "sqlite:///"+db)
	pid := cmd.Process.Pid
	if n, err := fileLimitOf(pid); err != nil {
		t.Logf("cannot read the process's file limit: %v", err)
	} else if n != childLimit {
		t.Fatalf("the process runs with RLIMIT_NOFILE %d, want %d", n, childLimit)
	}
	// 1,024 less 64 for the process, 42 for SQLite and 300 for 100 calls to targets.
	if want := "open_file_limit=1024 reserved_files=406 max_api_connections=618"; !strings.Contains(logs.String(), want) {
		t.Errorf("the start-up logs lack %q", want)
	}
	s := &server{url: url}
	tid := createTarget(t, s, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range schedules {
		createSchedule(t, s, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid,
			"schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	waitFor(t, 10*time.Second, "two runs of every schedule", func() bool {
		total, _ := seen.counts()
		return total >= 2*schedules
	})

	// The descriptors the process holds, sampled until the end; and how
	// late this process's own 100 ms ticks come, to tell a machine that
	// stalls everything from a server that stalls.
	var peakFiles, ownStall atomic.Int64
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			if n, err := openFiles(pid); err == nil && int64(n) > peakFiles.Load() {
				peakFiles.Store(int64(n))
			}
			select {
			case <-sampling:
				return
			case <-tick.C:
				now := time.Now()
				if d := now.Sub(last) - 100*time.Millisecond; int64(d) > ownStall.Load() {
					ownStall.Store(int64(d))
				}
				last = now
			}
		}
	}()

	// The flood: each client dials, sends one /health, reads the answer if
	// one comes, and holds its connection until the end.
	addr := strings.TrimPrefix(url, "http://")
	cpuBefore, _ := cpuTime(pid)
	floodStart := time.Now()
	var (
		connsMu  sync.Mutex
		conns    []net.Conn
		dialErrs atomic.Int64
		answered atomic.Int64
		clientWG sync.WaitGroup
	)
	dialing := make(chan struct{}, 128)
	for range clients {
		clientWG.Add(1)
		dialing <- struct{}{}
		go func() {
			defer clientWG.Done()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			<-dialing
			if err != nil {
				dialErrs.Add(1)
				return
			}
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			_ = c.SetDeadline(floodStart.Add(hold))
			if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: apicron\r\n\r\n"); err != nil {
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answered.Add(1)
		}()
	}

	// A fresh connection's /health, twice a second, while the flood holds.
	fresh := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	probe := func() (time.Duration, error) {
		start := time.Now()
		resp, err := fresh.Get(url + "/health")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start), nil
	}
	// The first seconds go on dialing and answering the flood itself.
	const settle = 4 * time.Second
	var probes, failedProbes int
	var probeTimes []time.Duration
	var firstFailure error
	for time.Since(floodStart) < hold-time.Second {
		took, err := probe()
		if time.Since(floodStart) > settle {
			probes++
			if err != nil {
				failedProbes++
				if firstFailure == nil {
					firstFailure = err
				}
			} else {
				probeTimes = append(probeTimes, took)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	filesUnderFlood, _ := openFiles(pid)
	cpuFlood, _ := cpuTime(pid)
	cpuFlood -= cpuBefore
	time.Sleep(time.Until(floodStart.Add(hold)))
	connsMu.Lock()
	held := len(conns)
	for _, c := range conns {
		c.Close()
	}
	connsMu.Unlock()
	clientWG.Wait()
	t.Logf("flood: %d clients, %d connected (%d dial errors), %d /health answered; %d descriptors open at its height; "+
		"the process used %v of processor time in its first %v",
		clients, held, dialErrs.Load(), answered.Load(), filesUnderFlood, cpuFlood, hold-time.Second)

	// After the flood: /health answers at once, firing goes on.
	waitFor(t, 5*time.Second, "/health on a fresh connection after the flood", func() bool {
		_, err := probe()
		return err == nil
	})
	afterFlood := time.Now()
	waitFor(t, 10*time.Second, "a run after the flood", func() bool {
		for o := range seen.snapshot() {
			if at, err := time.Parse(time.RFC3339Nano, o.scheduledAt); err == nil && at.After(afterFlood) {
				return true
			}
		}
		return false
	})
	time.Sleep(2 * time.Second)
	close(sampling)
	<-sampled
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 15*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}

	ro := openReadOnly(t, db)
	defer ro.Close()
	f, sent := requireCleanStop(t, ro, noRebind, seen, "after the flood", "SUCCESS")
	g := checkGrid(t, ro, noRebind, 1)
	var dbLate []time.Duration
	defer func() {
		if t.Failed() {
			logRunsPerSecond(t, ro, floodStart)
		}
	}()
	rows, err := ro.Query(`SELECT started_at - scheduled_at FROM runs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			t.Fatal(err)
		}
		dbLate = append(dbLate, time.Duration(ms)*time.Millisecond)
	}
	rows.Close()
	lateMu.Lock()
	sinkP50, sinkP99, sinkMax := percentile(late, 0.5), percentile(late, 0.99), percentile(late, 1)
	lateMu.Unlock()
	dbP99 := percentile(dbLate, 0.99)
	probeP50, probeMax := percentile(probeTimes, 0.5), percentile(probeTimes, 1)
	t.Logf("runs %d (%v), sent %d; grid: %d occurrences, %d missed, %d skipped; lateness at the target p50 %v p99 %v max %v, started_at p99 %v; "+
		"fresh /health during the flood: %d of %d answered (p50 %v, max %v); peak descriptors %d of %d; "+
		"this test's own ticks came up to %v late",
		f.runs, f.byStatus, sent, g.occurrences, g.missed, g.skipped, sinkP50, sinkP99, sinkMax, dbP99,
		probes-failedProbes, probes, probeP50, probeMax, peakFiles.Load(), childLimit, time.Duration(ownStall.Load()))

	if f.byStatus["SUCCESS"] != f.runs {
		t.Errorf("runs by status %v, want every one SUCCESS", f.byStatus)
	}
	if g.missed != 0 || g.skipped != 0 {
		t.Errorf("%d occurrences missed and %d skipped, want every one fired", g.missed, g.skipped)
	}
	// Every schedule every second, from before the flood to after it.
	if want := int64(schedules) * int64(time.Since(floodStart)/time.Second-1); f.runs < want {
		t.Errorf("%d runs, want at least %d", f.runs, want)
	}
	if sinkP99 > time.Second || dbP99 > time.Second {
		t.Errorf("lateness p99 %v at the target, %v by started_at; want under 1s", sinkP99, dbP99)
	}
	if failedProbes > 0 {
		t.Errorf("%d of %d /health requests on a fresh connection failed during the flood (first: %v)", failedProbes, probes, firstFailure)
	}
	if strings.Contains(logs.String(), "too many open files") {
		t.Errorf("the process ran out of descriptors")
	}
}

// With an open-file limit that leaves the API too few connections once the
// database and the calls to targets have theirs, the binary refuses to
// start, and says which limit and how far to raise it.
func TestBinary_FileLimitTooLow(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "low.db")
	cmd := exec.Command("/bin/sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, bin, "--port", "0", "--database-url", "sqlite:///"+db)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; output:\n%s", err, out)
	}
	for _, want := range []string{"the open-file limit (RLIMIT_NOFILE) is 256", "raise the limit to at least 422", "ulimit -n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the database was created (%v): the limit is checked before anything is opened", err)
	}
}
