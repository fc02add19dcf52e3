package main

// A database failover under two nodes: a private PostgreSQL primary and a
// streaming replica of it (pg_basebackup -R), both the test's own (initdb
// in temporary directories, their own ports); the shared server is left
// alone. Two apicron nodes share the pair through one multi-host URL with
// target_session_attrs=read-write. The primary is stopped with pg_ctl stop
// -m immediate while 20 schedules fire every second, the replica is promoted
// a moment later, and the nodes must find it by themselves.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
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

	"github.com/apicron/apicron/internal/histcheck"
)

// failoverAppName is the replica's application_name, which the primary's
// synchronous_standby_names names.
const failoverAppName = "failover_replica"

// failoverServer makes the directories of a PostgreSQL server of the test's
// own, without a cluster in it yet: initdb or pg_basebackup makes that. It
// skips the test when PostgreSQL's programs, or the means to run them, are
// missing.
func failoverServer(t *testing.T, name string) *privatePostgres {
	t.Helper()
	binDir := postgresBinDir()
	if binDir == "" {
		t.Skip("no PostgreSQL server programs (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin; skipping the PostgreSQL failover test")
	}
	if _, err := os.Stat(filepath.Join(binDir, "pg_basebackup")); err != nil {
		t.Skipf("no pg_basebackup in %s; skipping the PostgreSQL failover test", binDir)
	}
	p := &privatePostgres{t: t, binDir: binDir, port: freePort(t), asPostgres: os.Geteuid() == 0}
	var uid, gid int
	if p.asPostgres {
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Skip("running as root and runuser is missing: initdb and postgres refuse root; skipping the PostgreSQL failover test")
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
	base, err := os.MkdirTemp("", "apicron-failover-"+name+"-")
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
	return p
}

// failoverAppend appends lines to a configuration file of p's cluster;
// later lines win over earlier ones.
func failoverAppend(t *testing.T, p *privatePostgres, file string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(p.data, file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n" + strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// failoverStart starts p with its configuration files' settings (the port
// and socket directory given on the command line) and waits until it
// accepts connections: a standby accepts them once it is consistent.
func failoverStart(t *testing.T, p *privatePostgres) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s", p.port, p.sockets)
	if out, err := p.run(60*time.Second, "pg_ctl", "-D", p.data, "-l", p.logFile, "-o", opts, "-w", "-t", "45", "start"); err != nil {
		log, _ := os.ReadFile(p.logFile)
		t.Fatalf("pg_ctl start on port %d: %v\n%s\nserver log:\n%s", p.port, err, out, log)
	}
	db := failoverOpen(t, p.url())
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

func failoverOpen(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// failoverExited reports whether process pid has exited: gone, or a
// zombie its parent has not reaped yet (a daemon's parent is the init
// process, which may reap it seconds later).
func failoverExited(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) != nil
	}
	// The state follows the command, which is in parentheses.
	i := strings.LastIndexByte(string(data), ')')
	return i > 0 && i+2 < len(data) && (data[i+2] == 'Z' || data[i+2] == 'X')
}

// failoverStop stops p with pg_ctl stop -m immediate and returns when its
// postmaster (pid) exited, seen by polling it while pg_ctl waits.
func failoverStop(p *privatePostgres, pid int) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := p.command(ctx, "pg_ctl", "-D", p.data, "-m", "immediate", "-w", "-t", "45", "stop")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return time.Time{}, fmt.Errorf("pg_ctl stop -m immediate: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(50 * time.Second)
	for !failoverExited(pid) {
		if time.Now().After(deadline) {
			<-done //nolint:errcheck // only waited for; the error below says what happened
			return time.Time{}, fmt.Errorf("postmaster %d still runs 50 s after pg_ctl stop -m immediate:\n%s", pid, out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	exited := time.Now()
	if err := <-done; err != nil {
		return exited, fmt.Errorf("pg_ctl stop -m immediate: %v\n%s", err, out.String())
	}
	return exited, nil
}

// failoverPair starts a primary and a streaming replica of it made with
// pg_basebackup -R. With synchronous on, the primary's commits wait until
// the replica has flushed them (synchronous_standby_names naming it,
// synchronous_commit on); otherwise they do not wait for it. fsync is off
// on both: the servers' processes are stopped, never the machine, so what
// a server wrote is in the page cache either way, and the loaded machine
// is spared the flushes. With lag > 0 the replica streams through
// failoverLagProxy. It returns once the replica streams in the mode asked.
func failoverPair(t *testing.T, synchronous bool, lag time.Duration) (primary, replica *privatePostgres) {
	t.Helper()
	primary = failoverServer(t, "primary")
	replica = failoverServer(t, "replica")
	if out, err := primary.run(2*time.Minute, "initdb", "-D", primary.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	standbys := "''"
	if synchronous {
		standbys = "'" + failoverAppName + "'"
	}
	failoverAppend(t, primary, "postgresql.conf",
		"listen_addresses = '127.0.0.1'",
		"wal_level = replica",
		"max_wal_senders = 4",
		"hot_standby = on",
		"fsync = off",
		"full_page_writes = off",
		"synchronous_commit = on",
		"synchronous_standby_names = "+standbys)
	failoverAppend(t, primary, "pg_hba.conf", "host replication postgres 127.0.0.1/32 trust")
	failoverStart(t, primary)

	if out, err := replica.run(2*time.Minute, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
		"-D", replica.data, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	upstream := primary.port
	if lag > 0 {
		upstream = failoverLagProxy(t, primary.port, lag)
	}
	// postgresql.auto.conf is read last: the replica's own settings there
	// win over the primary's copied in postgresql.conf. Promoted, it has
	// no standby to wait for.
	failoverAppend(t, replica, "postgresql.auto.conf",
		fmt.Sprintf("primary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=%s'", upstream, failoverAppName),
		"synchronous_standby_names = ''")
	failoverStart(t, replica)

	want := "async"
	if synchronous {
		want = "sync"
	}
	db := failoverOpen(t, primary.url())
	defer db.Close()
	var state string
	waitFor(t, 30*time.Second, "the replica to stream "+want, func() bool {
		err := db.QueryRow(`SELECT sync_state FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'`, failoverAppName).Scan(&state)
		return err == nil && state == want
	})
	return primary, replica
}

// failoverLagProxy forwards TCP connections from a port of its own to
// 127.0.0.1:to, delaying what comes from there by lag, as a slow network
// between a primary and its replica would. When the far side closes, what
// is still delayed is dropped: it was in flight when the primary went. It
// returns its port; it stops when the test ends.
func failoverLagProxy(t *testing.T, to int, lag time.Duration) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	type chunk struct {
		data []byte
		due  time.Time
	}
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", to))
			if err != nil {
				down.Close()
				continue
			}
			track(down)
			track(up)
			go func() { // to the primary: at once
				_, _ = io.Copy(up, down)
				up.Close()
			}()
			queue := make(chan chunk, 1<<16)
			gone := make(chan struct{})
			go func() { // from the primary: lag late
				defer close(gone)
				for {
					buf := make([]byte, 32<<10)
					n, err := up.Read(buf)
					if n > 0 {
						queue <- chunk{buf[:n], time.Now().Add(lag)}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() {
				defer down.Close()
				for {
					select {
					case c := <-queue:
						select {
						case <-time.After(time.Until(c.due)):
						case <-gone:
							return // the primary went: what is in flight is lost
						}
						if _, err := down.Write(c.data); err != nil {
							return
						}
					case <-gone:
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// failoverLSN parses a WAL position written X/Y.
func failoverLSN(s string) (uint64, bool) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, false
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	return h<<32 | l, err1 == nil && err2 == nil
}

// failoverWALEnd returns the end of the last WAL record the stopped server
// p wrote, read with pg_waldump from its last two WAL segments.
func failoverWALEnd(t *testing.T, p *privatePostgres) (uint64, error) {
	t.Helper()
	dir := filepath.Join(p.data, "pg_wal")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	segment := regexp.MustCompile(`^[0-9A-F]{24}$`)
	var segs []string
	for _, e := range entries {
		if segment.MatchString(e.Name()) {
			segs = append(segs, e.Name())
		}
	}
	sort.Strings(segs)
	if len(segs) == 0 {
		return 0, fmt.Errorf("no WAL segment in %s", dir)
	}
	args := []string{"-p", dir}
	if len(segs) > 1 {
		args = append(args, segs[len(segs)-2])
	}
	args = append(args, segs[len(segs)-1])
	out, _ := p.run(30*time.Second, "pg_waldump", args...) // it ends with an error at the end of the WAL
	record := regexp.MustCompile(`len \(rec/tot\):\s*\d+/\s*(\d+), tx:.*lsn: ([0-9A-F]+/[0-9A-F]+)`)
	var end uint64
	for _, line := range strings.Split(string(out), "\n") {
		if m := record.FindStringSubmatch(line); m != nil {
			at, ok := failoverLSN(m[2])
			size, _ := strconv.ParseUint(m[1], 10, 64)
			if ok {
				end = max(end, (at+size+7)&^7)
			}
		}
	}
	if end == 0 {
		return 0, fmt.Errorf("no WAL record found by pg_waldump %v:\n%s", args, out)
	}
	return end, nil
}

// failoverRequest is one request the sink received.
type failoverRequest struct {
	schedule, scheduledAt, attempt, runID string
	at                                    time.Time
}

// failoverSample is one answer of a node's /health.
type failoverSample struct {
	sent, answered time.Time
	code           int
	role           string
	reason         string
}

// failoverPoller polls a node's /health every 200 ms until stopped.
type failoverPoller struct {
	mu      sync.Mutex
	samples []failoverSample
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func failoverPoll(url string) *failoverPoller {
	p := &failoverPoller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			sent := time.Now()
			code, h := healthOf(url)
			role, _ := h["role"].(string)
			s := failoverSample{sent: sent, answered: time.Now(), code: code, role: role, reason: healthReason(h)}
			p.mu.Lock()
			p.samples = append(p.samples, s)
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *failoverPoller) end() { p.once.Do(func() { close(p.stop); <-p.done }) }

func (p *failoverPoller) snapshot() []failoverSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.samples)
}

// failoverTransitions describes the changes of /health's answer (its
// status code, or the reason it gives for a 503), each with its time from
// origin.
func failoverTransitions(samples []failoverSample, origin time.Time) string {
	var (
		parts []string
		prev  string
		tries = regexp.MustCompile(`\(\d+ tries\)`)
		since = regexp.MustCompile(`since \S+`)
	)
	for _, s := range samples {
		d := strconv.Itoa(s.code)
		if s.code == 200 {
			d += " " + s.role
		} else if s.reason != "" {
			d += " (" + since.ReplaceAllString(tries.ReplaceAllString(s.reason, "(N tries)"), "since T") + ")"
		}
		if d == prev {
			continue
		}
		prev = d
		parts = append(parts, fmt.Sprintf("%+.1fs %s", s.sent.Sub(origin).Seconds(), d))
	}
	return strings.Join(parts, " -> ")
}

// failoverFacts is what one failover run found.
type failoverFacts struct {
	exited       time.Duration // pg_ctl stop -m immediate to the primary's postmaster gone
	walLost      int64         // bytes of the primary's WAL the replica had not received (-1: unknown)
	outage       time.Duration // pg_ctl stop of the primary to the promoted server taking writes
	firstRun     time.Duration // the promotion to the first request sent after it
	recovered    time.Duration // the promotion to /health 200 on both nodes
	requests     int
	occurrences  int // distinct occurrences at the sink
	sinkTwice    int // occurrences sent with two run ids, or a run's attempt sent twice
	notRecorded  int // requests whose run row (that run id, SUCCESS) is not in the promoted database
	db           dbFacts
	grid         gridFacts
	gridProblems []string
	perNode      map[string][2]int64 // SUCCESS runs before the stop, after the promotion
	health       map[string]string   // per node, its transitions
	problems     []string            // what breaks the rules
}

// failoverMode is how a failover run is set up.
type failoverMode struct {
	synchronous bool          // the primary's commits wait for the replica
	lag         time.Duration // the replica streams through failoverLagProxy, this far behind
	interval    int           // the schedules' interval, seconds
}

// failoverRun runs the scenario: a primary and a replica, two nodes on both
// through one URL, 20 schedules every mode.interval seconds; after 6 s, 100
// ms after the next round of requests began (claims, takes and results in
// flight), the primary is stopped with pg_ctl stop -m immediate, 1.5 s
// after its exit the replica is promoted, the nodes fire 10 s more and get
// SIGTERM. It reads the promoted server and returns what it found; it fails
// the test only when the scenario cannot run.
func failoverRun(t *testing.T, mode failoverMode) failoverFacts {
	const (
		schedules = 20
		before    = 6 * time.Second
		gap       = 1500 * time.Millisecond
		after     = 10 * time.Second
	)
	primary, replica := failoverPair(t, mode.synchronous, mode.lag)
	var facts failoverFacts
	problem := func(format string, args ...any) {
		facts.problems = append(facts.problems, fmt.Sprintf(format, args...))
	}

	var (
		mu       sync.Mutex
		requests []failoverRequest
		sinkDone = make(chan struct{})
	)
	sinkLog := histcheck.NewLog(nil)
	sink := httptest.NewServer(histcheck.Record(sinkLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, failoverRequest{
			schedule:    r.Header.Get("X-Apicron-Schedule-Id"),
			scheduledAt: r.Header.Get("X-Apicron-Scheduled-At"),
			attempt:     r.Header.Get("X-Apicron-Attempt"),
			runID:       r.Header.Get("X-Apicron-Run-Id"),
			at:          time.Now(),
		})
		mu.Unlock()
		select {
		case <-time.After(50 * time.Millisecond):
		case <-sinkDone:
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})))
	defer sink.Close()
	defer close(sinkDone)

	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write", primary.port, replica.port)
	bin := buildBinary(t)
	type node struct {
		id   string
		cmd  *exec.Cmd
		url  string
		poll *failoverPoller
	}
	var nodes []*node
	for _, id := range []string{"failover-a", "failover-b"} {
		cmd, u, _ := startBinaryLogs(t, bin, []string{"DATABASE_URL=" + url, "NODE_ID=" + id, "SHUTDOWN_GRACE=5s"}, "--port", "0")
		nodes = append(nodes, &node{id: id, cmd: cmd, url: u})
	}
	waitFor(t, 20*time.Second, "a leader and both nodes healthy", func() bool {
		leaders := 0
		for _, n := range nodes {
			code, h := healthOf(n.url)
			if code != 200 {
				return false
			}
			if h["role"] == "leader" {
				leaders++
			}
		}
		return leaders == 1
	})
	tid := createTarget(t, &server{url: nodes[0].url}, map[string]any{"name": "sink", "url": sink.URL, "timeout_seconds": 5})
	for i := range schedules {
		createSchedule(t, &server{url: nodes[i%2].url}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": mode.interval})
	}
	for _, n := range nodes {
		n.poll = failoverPoll(n.url)
		defer n.poll.end()
	}
	time.Sleep(before)
	for _, n := range nodes {
		if code, h := healthOf(n.url); code != 200 {
			t.Fatalf("/health of %s before the failover: %d %v", n.id, code, h)
		}
	}
	// The stop falls 100 ms into a round: its claims committed, its
	// requests being sent, their results being written.
	mu.Lock()
	sentBefore := len(requests)
	mu.Unlock()
	waitFor(t, time.Duration(mode.interval+2)*time.Second, "the next round of requests", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(requests) > sentBefore
	})
	time.Sleep(100 * time.Millisecond)

	// The primary goes: pg_ctl stop -m immediate, no shutdown checkpoint,
	// every session cut.
	pid := primary.pid()
	if pid == 0 {
		t.Fatal("no postmaster.pid in the primary's data directory")
	}
	stopping := time.Now()
	exited, err := failoverStop(primary, pid)
	if err != nil {
		t.Fatal(err)
	}
	// What the replica received of the primary's WAL, the primary gone.
	rdb := failoverOpen(t, replica.url())
	var received string
	if err := rdb.QueryRow("SELECT pg_last_wal_receive_lsn()::text").Scan(&received); err != nil {
		t.Fatalf("the replica's received WAL position: %v", err)
	}
	rdb.Close()
	if end, err := failoverWALEnd(t, primary); err != nil {
		t.Logf("the primary's end of WAL is unknown: %v", err)
		facts.walLost = -1
	} else if got, ok := failoverLSN(received); ok {
		facts.walLost = int64(end) - int64(got)
	}
	for time.Since(exited) < gap {
		for _, n := range nodes {
			if err := n.cmd.Process.Signal(syscall.Signal(0)); err != nil {
				t.Fatalf("%s died %v after the primary stopped: %v", n.id, time.Since(exited).Round(time.Millisecond), err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The replica becomes the primary.
	promoting := time.Now()
	if out, err := replica.run(60*time.Second, "pg_ctl", "-D", replica.data, "-w", "-t", "45", "promote"); err != nil {
		t.Fatalf("pg_ctl promote: %v\n%s", err, out)
	}
	promoted := time.Now()
	facts.outage = promoted.Sub(stopping)
	facts.exited = exited.Sub(stopping)

	healthyAfter := func(n *node) (time.Time, bool) {
		for _, s := range n.poll.snapshot() {
			if !s.sent.Before(promoted) && s.code == 200 {
				return s.answered, true
			}
		}
		return time.Time{}, false
	}
	waitFor(t, 30*time.Second, "/health 200 on both nodes after the promotion", func() bool {
		for _, n := range nodes {
			if err := n.cmd.Process.Signal(syscall.Signal(0)); err != nil {
				t.Fatalf("%s died after the promotion: %v", n.id, err)
			}
			at, ok := healthyAfter(n)
			if !ok {
				return false
			}
			facts.recovered = max(facts.recovered, at.Sub(promoted))
		}
		return true
	})
	time.Sleep(time.Until(promoted.Add(after)))
	for _, n := range nodes {
		if code, h := healthOf(n.url); code != 200 {
			problem("/health of %s %v after the promotion: %d %v", n.id, time.Since(promoted).Round(time.Second), code, h)
		}
	}
	for _, n := range nodes {
		n.poll.end()
	}
	// Both nodes stop together, as a deployment stops them.
	exits := make([]chan error, len(nodes))
	for i, n := range nodes {
		if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM %s: %v", n.id, err)
		}
		exits[i] = make(chan error, 1)
		go func() { exits[i] <- n.cmd.Wait() }()
	}
	for i, n := range nodes {
		select {
		case err := <-exits[i]:
			if err != nil {
				problem("%s did not exit cleanly after the failover: %v", n.id, err)
			}
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			<-exits[i] //nolint:errcheck // killed: its exit status is the kill
			t.Fatalf("%s did not exit within 30 s of SIGTERM", n.id)
		}
	}

	// /health: 503 naming the problem from the primary's exit to the
	// promotion, 200 again after it.
	facts.health = map[string]string{}
	for _, n := range nodes {
		samples := n.poll.snapshot()
		facts.health[n.id] = failoverTransitions(samples, stopping)
		down, other := 0, 0
		for _, s := range samples {
			if s.sent.Before(exited) || !s.answered.Before(promoting) {
				continue
			}
			if s.code != 503 {
				other++
				continue
			}
			down++
			if s.reason == "" {
				problem("%s: /health 503 without a reason during the outage", n.id)
			}
		}
		if down == 0 || other > 0 {
			problem("%s: /health during the outage answered 503 %d times and something else %d times", n.id, down, other)
		}
	}

	db := failoverOpen(t, replica.url())
	defer db.Close()
	var inRecovery bool
	if err := db.QueryRow("SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || inRecovery {
		t.Fatalf("the promoted server: in recovery %v, %v", inRecovery, err)
	}

	// The sink: no occurrence with two run ids, no run's attempt twice.
	mu.Lock()
	got := slices.Clone(requests)
	mu.Unlock()
	facts.requests = len(got)
	runIDs := map[sinkOccurrence]map[string]bool{}
	attempts := map[[2]string][]sinkOccurrence{}
	for _, r := range got {
		o := sinkOccurrence{r.schedule, r.scheduledAt}
		if runIDs[o] == nil {
			runIDs[o] = map[string]bool{}
		}
		runIDs[o][r.runID] = true
		attempts[[2]string{r.runID, r.attempt}] = append(attempts[[2]string{r.runID, r.attempt}], o)
		if facts.firstRun == 0 && r.at.After(promoted) {
			facts.firstRun = r.at.Sub(promoted)
		}
	}
	facts.occurrences = len(runIDs)
	for o, ids := range runIDs {
		if len(ids) > 1 {
			facts.sinkTwice++
			problem("occurrence %v sent with %d run ids %v", o, len(ids), ids)
		}
	}
	for k, occs := range attempts {
		if len(occs) > 1 {
			facts.sinkTwice++
			problem("run %s attempt %s sent %d times, as the occurrences %v", k[0], k[1], len(occs), occs)
		}
	}
	// Every request has its run, that very run id, finished SUCCESS.
	for _, r := range got {
		sid, _ := strconv.ParseInt(r.schedule, 10, 64)
		at, err := time.Parse(time.RFC3339Nano, r.scheduledAt)
		if err != nil {
			t.Fatalf("X-Apicron-Scheduled-At %q: %v", r.scheduledAt, err)
		}
		var id int64
		var status string
		err = db.QueryRow(`SELECT id, status FROM runs WHERE schedule_id = $1 AND scheduled_at = $2`, sid, at.UnixMilli()).Scan(&id, &status)
		if err == nil && strconv.FormatInt(id, 10) == r.runID && status == "SUCCESS" {
			continue
		}
		facts.notRecorded++
		if facts.notRecorded <= 5 {
			problem("request of schedule %s at %s (run %s, sent %+.1fs from the stop): in the promoted database run %d %q, %v",
				r.schedule, r.scheduledAt, r.runID, r.at.Sub(stopping).Seconds(), id, status, err)
		}
	}

	facts.db = checkDatabase(t, db, 1<<62, pgRebind)
	if facts.db.duplicates != 0 {
		problem("%d occurrences have more than one run", facts.db.duplicates)
	}
	if n := facts.db.byStatus["RUNNING"]; n != 0 {
		problem("%d runs RUNNING after both nodes stopped", n)
	}
	if facts.db.activeNoNext != 0 {
		problem("%d ACTIVE schedules have no next_run_at", facts.db.activeNoNext)
	}
	if len(facts.db.badCounters) > 0 {
		problem("counters differ from the runs: %v", facts.db.badCounters)
	}
	// A miss or skip counted for an occurrence after the last run (the
	// nodes stopping) may add one.
	if mode.synchronous {
		facts.grid = checkGrid(t, db, pgRebind, 1)
		requireHistory(t, db, "pgx", sinkLog)
	} else {
		facts.grid, facts.gridProblems = readGrid(t, db, pgRebind, 1)
	}
	if facts.grid.missed+facts.grid.skipped == 0 {
		problem("nothing counted missed or skipped: the occurrences due during the outage were neither coalesced nor skipped")
	}

	// Runs per node, before the stop and after the promotion.
	facts.perNode = map[string][2]int64{}
	rows, err := db.Query(`SELECT node_id, SUM(CASE WHEN scheduled_at < $1 THEN 1 ELSE 0 END), SUM(CASE WHEN scheduled_at >= $2 THEN 1 ELSE 0 END)
		FROM runs WHERE status = 'SUCCESS' GROUP BY node_id`, stopping.UnixMilli(), promoted.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var b, a int64
		if err := rows.Scan(&id, &b, &a); err != nil {
			t.Fatal(err)
		}
		facts.perNode[id] = [2]int64{b, a}
	}
	rows.Close()
	for _, n := range nodes {
		c := facts.perNode[n.id]
		if c[1] == 0 && (c[0] > 0 || facts.perNode[nodes[0].id][1]+facts.perNode[nodes[1].id][1] == 0) {
			problem("%s ran %d runs before the stop and none due after the promotion", n.id, c[0])
		}
	}
	return facts
}

// failoverSummary is the figures of one run in one line.
func failoverSummary(f failoverFacts) string {
	ids := make([]string, 0, len(f.perNode))
	for id := range f.perNode {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var per []string
	for _, id := range ids {
		per = append(per, fmt.Sprintf("%s %d before/%d after", id, f.perNode[id][0], f.perNode[id][1]))
	}
	return fmt.Sprintf("primary's postmaster gone %v after pg_ctl stop -m immediate; WAL the replica lacked %d bytes; outage (pg_ctl stop -> promoted) %v; promotion -> first request %v, -> /health 200 on both nodes %v; requests %d (%d occurrences), sent twice %d, without their run %d; runs %d %v; SUCCESS runs per node [%s]; missed %d, skipped %d, unaccounted %d; duplicates %d",
		f.exited.Round(time.Millisecond), f.walLost, f.outage.Round(time.Millisecond), f.firstRun.Round(time.Millisecond), f.recovered.Round(time.Millisecond),
		f.requests, f.occurrences, f.sinkTwice, f.notRecorded, f.db.runs, f.db.byStatus, strings.Join(per, ", "),
		f.grid.missed, f.grid.skipped, f.grid.unaccounted, f.db.duplicates)
}

// TestReliability_PostgresFailover runs two nodes of the real binary on a
// private PostgreSQL primary with a synchronous streaming replica, through
// one multi-host URL (target_session_attrs=read-write). Under load (20
// schedules every second) the primary is stopped with pg_ctl stop -m
// immediate, and 1.5 s later the replica is promoted. The nodes must stay
// up, answer 503 on /health saying why while no server takes writes, find
// the promoted server by themselves and share the work again; on the
// promoted server no occurrence may have two runs or have been sent twice,
// every request the target received must be its run (same run id,
// SUCCESS), no run may be left RUNNING, and what came due during the outage
// must be coalesced and counted on each schedule's grid.
func TestReliability_PostgresFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("fails a private PostgreSQL primary over to its replica under two nodes of the real binary for about 30 s: long end-to-end test; run without -short")
	}
	f := failoverRun(t, failoverMode{synchronous: true, interval: 1})
	for _, p := range f.problems {
		t.Error(p)
	}
	for _, id := range []string{"failover-a", "failover-b"} {
		t.Logf("/health of %s, from the primary's stop: %s", id, f.health[id])
	}
	t.Logf("synchronous replication, failover: %s", failoverSummary(f))
}

// TestReliability_PostgresFailoverAsync is an experiment, not a rule: the
// same failover with asynchronous replication (the primary's commits do not
// wait for the replica), where the primary's last commits may be lost with
// it: a claim lost so, its request already sent, could be claimed and sent
// again by the promoted server; a take lost so, its run taken again. It
// runs three times: the replica on the primary's port directly, and through
// failoverLagProxy, 200 ms behind as over a slow network, with schedules
// every second and every 5 s (longer than the outage, so that the
// occurrence due at the recovery is the one whose claim was lost). It logs
// what it found and fails only when the scenario cannot run.
// APICRON_TEST_FAILOVER_ASYNC=1 runs it.
func TestReliability_PostgresFailoverAsync(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end experiment; run without -short")
	}
	if os.Getenv("APICRON_TEST_FAILOVER_ASYNC") == "" {
		t.Skip("an experiment with asynchronous replication, not a rule; APICRON_TEST_FAILOVER_ASYNC=1 runs it")
	}
	for _, mode := range []failoverMode{{interval: 1}, {lag: 200 * time.Millisecond, interval: 1}, {lag: 200 * time.Millisecond, interval: 5}} {
		t.Run(fmt.Sprintf("lag_%v_every_%ds", mode.lag, mode.interval), func(t *testing.T) {
			f := failoverRun(t, mode)
			for i, p := range append(f.problems, f.gridProblems...) {
				if i == 20 {
					t.Logf("asynchronous replication: %d more", len(f.problems)+len(f.gridProblems)-i)
					break
				}
				t.Logf("asynchronous replication: %s", p)
			}
			for _, id := range []string{"failover-a", "failover-b"} {
				t.Logf("/health of %s, from the primary's stop: %s", id, f.health[id])
			}
			t.Logf("asynchronous replication, replica %v behind, schedules every %d s, failover: %s", mode.lag, mode.interval, failoverSummary(f))
		})
	}
}
