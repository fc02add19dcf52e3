package main

// A real PostgreSQL restart under load. The PostgreSQL server that
// APICRON_TEST_POSTGRES_URL names is shared with other work and must not be
// restarted, so this test runs a private server of its own (initdb in a
// temporary directory, its own port and socket directory), stops it with
// pg_ctl while apicron fires 20 schedules every second, keeps it down, and
// starts it again on the same port and data directory.

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// privatePostgres is a PostgreSQL server this test owns: its data directory,
// port and socket directory are its own, and it is stopped and removed when
// the test ends.
type privatePostgres struct {
	t       *testing.T
	binDir  string // PostgreSQL's bin directory
	base    string // owns everything below; removed at the end
	data    string
	sockets string
	logFile string
	port    int
	// asPostgres runs the server's programs as the postgres OS user:
	// initdb and postgres refuse to run as root.
	asPostgres bool
}

// postgresBinDir returns the bin directory of the newest PostgreSQL under
// /usr/lib/postgresql that has initdb, pg_ctl and postgres, or "".
func postgresBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		ok := true
		for _, prog := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, prog)); err != nil {
				ok = false
			}
		}
		if ok {
			return dir
		}
	}
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newPrivatePostgres makes a fresh cluster with initdb (trust
// authentication, superuser postgres) and starts it. It skips the test
// when PostgreSQL's programs, or the means to run them, are missing.
func newPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	binDir := postgresBinDir()
	if binDir == "" {
		t.Skip("no PostgreSQL server programs (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin; skipping the PostgreSQL restart test")
	}
	p := &privatePostgres{t: t, binDir: binDir, port: freePort(t), asPostgres: os.Geteuid() == 0}
	var uid, gid int
	if p.asPostgres {
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Skip("running as root and runuser is missing: initdb and postgres refuse root; skipping the PostgreSQL restart test")
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root and there is no postgres OS user to run the server as: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	// Not t.TempDir: its parent is private to this user, and the server
	// runs as postgres.
	base, err := os.MkdirTemp("", "apicron-pgrestart-")
	if err != nil {
		t.Fatal(err)
	}
	p.base = base
	p.data = filepath.Join(base, "data")
	p.sockets = filepath.Join(base, "sockets")
	p.logFile = filepath.Join(base, "postgres.log")
	t.Cleanup(p.destroy)
	if err := os.Mkdir(p.sockets, 0o700); err != nil {
		t.Fatal(err)
	}
	if p.asPostgres {
		for _, path := range []string{base, p.sockets} {
			if err := os.Chown(path, uid, gid); err != nil {
				t.Fatalf("chown %s to postgres: %v", path, err)
			}
		}
	}
	if out, err := p.run(2*time.Minute, "initdb", "-D", p.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.start()
	return p
}

// command returns the PostgreSQL program prog with args, run as the
// postgres OS user when this process is root.
func (p *privatePostgres) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	path := filepath.Join(p.binDir, prog)
	if p.asPostgres {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

// run runs prog with args and returns its combined output; it is killed
// after within.
func (p *privatePostgres) run(within time.Duration, prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return p.command(ctx, prog, args...).CombinedOutput()
}

// url is the database URL of the server's postgres database.
func (p *privatePostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// start starts the server on its port and data directory and waits until
// it accepts TCP connections.
func (p *privatePostgres) start() {
	t := p.t
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", p.port, p.sockets)
	if out, err := p.run(60*time.Second, "pg_ctl", "-D", p.data, "-l", p.logFile, "-o", opts, "-w", "-t", "45", "start"); err != nil {
		log, _ := os.ReadFile(p.logFile)
		t.Fatalf("pg_ctl start on port %d: %v\n%s\nserver log:\n%s", p.port, err, out, log)
	}
	db, err := sql.Open("pgx", p.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private PostgreSQL does not accept connections on port %d: %v", p.port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pid returns the postmaster's process id from postmaster.pid, or 0.
func (p *privatePostgres) pid() int {
	data, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	return pid
}

// stop stops the server with pg_ctl in the given mode and waits until the
// postmaster process pid has exited. It returns when the postmaster exited,
// seen by polling its pid while pg_ctl waits.
func (p *privatePostgres) stop(mode string, pid int) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := p.command(ctx, "pg_ctl", "-D", p.data, "-m", mode, "-w", "-t", "45", "stop")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return time.Time{}, fmt.Errorf("pg_ctl stop -m %s: %v", mode, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var exited time.Time
	deadline := time.Now().Add(50 * time.Second)
	for pid > 0 && exited.IsZero() {
		if !processAlive(pid) {
			exited = time.Now()
			break
		}
		if time.Now().After(deadline) {
			<-done //nolint:errcheck // only waited for; the error below says what happened
			return time.Time{}, fmt.Errorf("postmaster %d still runs 50 s after pg_ctl stop -m %s:\n%s", pid, mode, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-done; err != nil {
		return exited, fmt.Errorf("pg_ctl stop -m %s: %v\n%s", mode, err, out.String())
	}
	return exited, nil
}

// processAlive says whether pid runs: it exists and is not a zombie (one
// that exited and waits for its parent to reap it, which kill(pid, 0)
// still finds).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err)
	}
	// pid (comm) state ...: the state follows the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// destroy stops the server if it runs (pg_ctl, then its PID) and removes
// its directory.
func (p *privatePostgres) destroy() {
	if pid := p.pid(); pid > 0 && syscall.Kill(pid, 0) == nil {
		if _, err := p.stop("immediate", pid); err != nil {
			p.t.Logf("stopping the private PostgreSQL: %v; killing %d", err, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline := time.Now().Add(10 * time.Second)
			for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	if p.t.Failed() {
		if log, err := os.ReadFile(p.logFile); err == nil {
			p.t.Logf("private PostgreSQL log:\n%s", log)
		}
	}
	os.RemoveAll(p.base)
}

// healthReason is why /health says the service is unavailable: the
// database's answer or the engine's error.
func healthReason(h map[string]any) string {
	var parts []string
	if d, ok := h["database"].(string); ok && d != "ok" {
		parts = append(parts, "database: "+d)
	}
	if e, ok := h["error"].(string); ok && e != "" {
		parts = append(parts, "error: "+e)
	}
	return strings.Join(parts, "; ")
}

// TestReliability_PostgresRestart runs the real binary on a private
// PostgreSQL server under load (20 schedules every second), stops the
// server with pg_ctl stop -m fast (its processes exit), keeps it down for
// 5 s, and starts it again on the same port and data directory. While it is
// down apicron must stay up and /health must answer 503 saying why; once it
// is back apicron must recover by itself (/health 200 within 30 s), and in
// the end the database must hold every request the target received as a
// run, no occurrence twice, no run RUNNING, a next run for every ACTIVE
// schedule, and counters equal to the rows.
func TestReliability_PostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a private PostgreSQL server under the real binary for about 30 s: long end-to-end test; run without -short")
	}
	if os.Getenv("APICRON_TEST_POSTGRES_URL") == "" {
		t.Skip("APICRON_TEST_POSTGRES_URL is not set; skipping the PostgreSQL restart test (it runs a private server, but only where PostgreSQL tests are wanted)")
	}
	const (
		schedules = 20
		down      = 5 * time.Second
	)
	pg := newPrivatePostgres(t)

	var (
		mu       sync.Mutex
		arrived  []time.Time
		seen     = newArrivals()
		sinkDone = make(chan struct{})
	)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		mu.Lock()
		arrived = append(arrived, time.Now())
		mu.Unlock()
		select {
		case <-time.After(50 * time.Millisecond):
		case <-sinkDone:
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer sink.Close()
	defer close(sinkDone)
	sentBetween := func(from, to time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, at := range arrived {
			if !at.Before(from) && at.Before(to) {
				n++
			}
		}
		return n
	}

	bin := buildBinary(t)
	cmd, u := startBinary(t, bin, []string{"DATABASE_URL=" + pg.url(), "NODE_ID=pgrestart", "SHUTDOWN_GRACE=5s"}, "--port", "0")
	waitFor(t, 15*time.Second, "the node to lead", func() bool {
		code, h := healthOf(u)
		return code == 200 && h["role"] == "leader"
	})
	tid := createTarget(t, &server{url: u}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range schedules {
		createSchedule(t, &server{url: u}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	time.Sleep(4 * time.Second)
	if code, h := healthOf(u); code != 200 {
		t.Fatalf("/health before the restart: %d %v", code, h)
	}
	sentBefore, _ := seen.counts()

	// /health is polled from before the stop until it answers 200 again.
	type healthSample struct {
		sent, answered time.Time
		code           int
		reason         string
		pending        float64 // results waiting in memory
	}
	var (
		samplesMu sync.Mutex
		samples   []healthSample
		stopPoll  = make(chan struct{})
		pollDone  = make(chan struct{})
	)
	go func() {
		defer close(pollDone)
		for {
			sent := time.Now()
			code, h := healthOf(u)
			hs := healthSample{sent: sent, answered: time.Now(), code: code, reason: healthReason(h)}
			if e, ok := h["engine"].(map[string]any); ok {
				hs.pending, _ = e["pending_results"].(float64)
			}
			samplesMu.Lock()
			samples = append(samples, hs)
			samplesMu.Unlock()
			select {
			case <-stopPoll:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	var pollOnce sync.Once
	endPoll := func() { pollOnce.Do(func() { close(stopPoll); <-pollDone }) }
	defer endPoll()

	// Stop the server: pg_ctl stop -m fast ends every session, writes a
	// shutdown checkpoint, and the postmaster exits.
	pid := pg.pid()
	if pid == 0 {
		t.Fatal("no postmaster.pid in the private server's data directory")
	}
	stopping := time.Now()
	exited, err := pg.stop("fast", pid)
	if err != nil {
		t.Fatal(err)
	}
	stopped := time.Now() // pg_ctl returned

	// Keep it down; apicron must stay up.
	for time.Since(exited) < down {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("apicron died %v after PostgreSQL stopped: %v", time.Since(exited).Round(time.Millisecond), err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Start it again, same port and data directory.
	restarting := time.Now()
	pg.start()
	restarted := time.Now()
	sentWhileDown := sentBetween(exited, restarting)
	var recovered time.Duration
	waitFor(t, 30*time.Second, "/health to answer 200 after PostgreSQL restarted", func() bool {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("apicron died after PostgreSQL restarted: %v", err)
		}
		code, _ := healthOf(u)
		if code == 200 {
			recovered = time.Since(restarted)
			return true
		}
		return false
	})
	endPoll()

	// While the postmaster was gone every /health answered 503 and said why.
	var (
		polls, unavailable int
		other              []string // answers while down that are not 503
		first503, last503  time.Time
		reasons            []string
		maxPending         float64
		tries              = regexp.MustCompile(`\(\d+ tries\)`)
		since              = regexp.MustCompile(`since \S+`)
	)
	for _, hs := range samples {
		if hs.code == 503 && !hs.sent.Before(stopping) {
			if first503.IsZero() {
				first503 = hs.sent
			}
			last503 = hs.answered
		}
		maxPending = max(maxPending, hs.pending)
		if hs.sent.Before(exited) || !hs.answered.Before(restarting) {
			continue
		}
		polls++
		if hs.code != 503 {
			other = append(other, fmt.Sprintf("%d %s", hs.code, hs.reason))
			continue
		}
		unavailable++
		if hs.reason == "" {
			t.Errorf("/health 503 without a reason")
		}
		r := since.ReplaceAllString(tries.ReplaceAllString(hs.reason, "(N tries)"), "since T")
		if !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	if len(other) > 0 {
		t.Errorf("/health while PostgreSQL was down: %d of %d answers were not 503: %q", len(other), polls, other)
	}
	if unavailable == 0 {
		t.Fatalf("/health never answered 503 while PostgreSQL was down")
	}
	healthDown := restarted.Add(recovered).Sub(first503)

	db, err := sql.Open("pgx", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Runs resume: an occurrence due after the restart finishes.
	var firstRun time.Duration
	waitFor(t, 15*time.Second, "a run finished after PostgreSQL restarted", func() bool {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM runs WHERE status = 'SUCCESS' AND scheduled_at >= $1`, restarted.UnixMilli()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			firstRun = time.Since(restarted)
			return true
		}
		return false
	})
	time.Sleep(4 * time.Second)
	if code, h := healthOf(u); code != 200 || h["role"] != "leader" {
		t.Errorf("/health a few seconds after the recovery: %d %v", code, h)
	}
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("clean stop after the PostgreSQL restart: %v", err)
	}

	// Every request the target received is a run, finished and
	// successful (the target always answers 200): no result was dropped
	// while the database was away.
	f, total := requireCleanStop(t, db, pgRebind, seen, "after the PostgreSQL restart", "SUCCESS")
	// Every occurrence of each schedule's grid ran or was counted:
	// coalesced after the outage (missed) or skipped because its previous
	// run was still in flight.
	grid := checkGrid(t, db, pgRebind, 0)

	t.Logf("PostgreSQL %s: pg_ctl stop -m fast -> postmaster exited after %v (pg_ctl returned after %v); down %v; pg_ctl start -w took %v",
		filepath.Base(filepath.Dir(pg.binDir)), exited.Sub(stopping).Round(time.Millisecond), stopped.Sub(stopping).Round(time.Millisecond),
		restarting.Sub(exited).Round(time.Millisecond), restarted.Sub(restarting).Round(time.Millisecond))
	t.Logf("/health: first 503 %v after the stop began, last 503 %v after it, 503 for %v in all; while down %d of %d answers 503, saying %q; results waiting in memory up to %.0f",
		first503.Sub(stopping).Round(time.Millisecond), last503.Sub(stopping).Round(time.Millisecond), healthDown.Round(100*time.Millisecond), unavailable, polls, reasons, maxPending)
	t.Logf("recovery: PostgreSQL up -> /health 200 after %v, first run of an occurrence due after the restart finished after %v",
		recovered.Round(time.Millisecond), firstRun.Round(time.Millisecond))
	t.Logf("requests sent %d (%d before the stop, %d while down), each a SUCCESS run, none twice; runs %d %v; missed (coalesced) %d, skipped (overlap) %d, unaccounted %d; duplicates %d; RUNNING after the stop %d; counters equal to the rows %v",
		total, sentBefore, sentWhileDown, f.runs, f.byStatus, grid.missed, grid.skipped, grid.unaccounted, f.duplicates, f.byStatus["RUNNING"], len(f.badCounters) == 0)
}
