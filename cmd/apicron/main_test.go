package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/httpapi"
)

// logWatcher collects a server's log output and reports the address it listens on.
type logWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	once sync.Once
}

var listenRE = regexp.MustCompile(`msg=listening addr=(http://\S+)`)

func (w *logWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := listenRE.FindSubmatch(w.buf.Bytes()); m != nil {
		w.once.Do(func() { w.addr <- string(m[1]) })
	}
	return len(p), nil
}

func (w *logWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// env returns a getenv func over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

type server struct {
	url  string
	stop func()
	logs *logWatcher
}

// startServer calls run, as main does, on port 0 with the database file db.
func startServer(t *testing.T, db string, env map[string]string) *server {
	t.Helper()
	return startServerDB(t, "sqlite:///"+db, env)
}

func call(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, data, err)
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		t.Logf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	return resp.StatusCode
}

type idOnly struct {
	ID int64 `json:"id"`
}

type runJSON struct {
	ID           int64    `json:"id"`
	ScheduleID   int64    `json:"schedule_id"`
	Status       string   `json:"status"`
	ScheduledAt  string   `json:"scheduled_at"`
	StartedAt    string   `json:"started_at"`
	FinishedAt   *string  `json:"finished_at"`
	LatencyMs    *float64 `json:"latency_ms"`
	StatusCode   *int     `json:"status_code"`
	ResponseSize *int64   `json:"response_size"`
	ErrorType    *string  `json:"error_type"`
	ErrorMessage *string  `json:"error_message"`
	Missed       int64    `json:"missed"`
	Trigger      string   `json:"trigger"`
}

type scheduleJSON struct {
	ID            int64   `json:"id"`
	Status        string  `json:"status"`
	StoppedReason *string `json:"stopped_reason"`
	EndsAt        *string `json:"ends_at"`
	NextRunAt     *string `json:"next_run_at"`
}

func createTarget(t *testing.T, s *server, body map[string]any) int64 {
	t.Helper()
	var out idOnly
	if code := call(t, "POST", s.url+"/targets", body, &out); code != 201 {
		t.Fatalf("create target: %d", code)
	}
	return out.ID
}

func createSchedule(t *testing.T, s *server, body map[string]any) int64 {
	t.Helper()
	var out idOnly
	if code := call(t, "POST", s.url+"/schedules", body, &out); code != 201 {
		t.Fatalf("create schedule: %d", code)
	}
	return out.ID
}

func runsOf(t *testing.T, baseURL string, scheduleID int64) []runJSON {
	t.Helper()
	var runs []runJSON
	call(t, "GET", fmt.Sprintf("%s/runs?schedule_id=%d&limit=1000", baseURL, scheduleID), nil, &runs)
	return runs
}

func finished(runs []runJSON) []runJSON {
	var out []runJSON
	for _, r := range runs {
		if r.Status != "RUNNING" {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func okTarget(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(ts.Close)
	return ts, &hits
}

func TestServe_IntervalPauseResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a schedule for 8 s: long end-to-end test; run without -short")
	}
	t.Parallel()
	ts, hits := okTarget(t)
	s := startServer(t, filepath.Join(t.TempDir(), "a.db"), nil)
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	sid := createSchedule(t, s, map[string]any{"name": "every-1", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	time.Sleep(5500 * time.Millisecond)
	runs := runsOf(t, s.url, sid)
	if n := len(runs); n < 5 || n > 6 {
		t.Fatalf("%d runs in 5.5 s, want 5 to 6", n)
	}
	for _, r := range finished(runs) {
		if r.Status != "SUCCESS" || r.StatusCode == nil || *r.StatusCode != 200 || r.LatencyMs == nil || r.ResponseSize == nil || *r.ResponseSize != 11 {
			t.Fatalf("run %+v", r)
		}
	}
	var sch scheduleJSON
	if code := call(t, "POST", fmt.Sprintf("%s/schedules/%d/pause", s.url, sid), nil, &sch); code != 200 || sch.Status != "PAUSED" {
		t.Fatalf("pause: %d %+v", code, sch)
	}
	paused := hits.Load()
	time.Sleep(1500 * time.Millisecond)
	if h := hits.Load(); h != paused {
		t.Fatalf("target hit %d times after pause", h-paused)
	}
	if code := call(t, "POST", fmt.Sprintf("%s/schedules/%d/resume", s.url, sid), nil, &sch); code != 200 || sch.Status != "ACTIVE" {
		t.Fatalf("resume: %d %+v", code, sch)
	}
	waitFor(t, 3*time.Second, "a run after resume", func() bool { return hits.Load() > paused })
}

func TestServe_WindowStops(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 3 s window to end: long end-to-end test; run without -short")
	}
	t.Parallel()
	ts, _ := okTarget(t)
	s := startServer(t, filepath.Join(t.TempDir(), "w.db"), nil)
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	sid := createSchedule(t, s, map[string]any{"name": "w", "target_id": tid, "schedule_type": "WINDOW", "interval_seconds": 1, "duration_seconds": 3})
	var sch scheduleJSON
	waitFor(t, 6*time.Second, "the window to stop", func() bool {
		call(t, "GET", fmt.Sprintf("%s/schedules/%d", s.url, sid), nil, &sch)
		return sch.Status == "STOPPED"
	})
	if sch.StoppedReason == nil || *sch.StoppedReason != "window_elapsed" {
		t.Fatalf("stopped_reason %v", sch.StoppedReason)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(runsOf(t, s.url, sid)); n != 3 {
		t.Fatalf("%d runs, want 3", n)
	}
	if code := call(t, "POST", fmt.Sprintf("%s/schedules/%d/resume", s.url, sid), nil, nil); code != 409 {
		t.Fatalf("resume of a stopped window: %d, want 409", code)
	}
}

func TestServe_ErrorClasses(t *testing.T) {
	t.Parallel()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	status := func(code int) string {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(ts.Close)
		return ts.URL
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(tlsSrv.Close)
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(endless.Close)

	cases := []struct {
		name, url         string
		timeout           float64
		status, errorType string
	}{
		{"closed port", closedURL, 2, "CONNECTION_ERROR", "connection"},
		{"hang", hang.URL, 0.3, "TIMEOUT", "timeout"},
		{"404", status(404), 2, "FAILED", "http_4xx"},
		{"500", status(500), 2, "FAILED", "http_5xx"},
		{"dns", "http://no-such-host.invalid/", 5, "DNS_ERROR", "dns"},
		{"tls", tlsSrv.URL, 2, "CONNECTION_ERROR", "tls"},
		{"redirect loop", loop.URL, 2, "FAILED", "redirect_limit"},
		{"endless body", endless.URL, 1, "FAILED", "body_too_large"},
	}
	s := startServer(t, filepath.Join(t.TempDir(), "e.db"), nil)
	ids := map[string]int64{}
	for _, c := range cases {
		tid := createTarget(t, s, map[string]any{"name": c.name, "url": c.url, "timeout_seconds": c.timeout})
		ids[c.name] = createSchedule(t, s, map[string]any{"name": c.name, "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	}
	for _, c := range cases {
		var runs []runJSON
		waitFor(t, 10*time.Second, c.name+" to finish", func() bool {
			runs = finished(runsOf(t, s.url, ids[c.name]))
			return len(runs) == 1
		})
		r := runs[0]
		if r.Status != c.status || r.ErrorType == nil || *r.ErrorType != c.errorType {
			t.Errorf("%s: status %s error_type %v (%v), want %s %s", c.name, r.Status, deref(r.ErrorType), deref(r.ErrorMessage), c.status, c.errorType)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestServe_PersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "p.db")
	s := startServer(t, db, nil)
	tid := createTarget(t, s, map[string]any{"name": "keep", "url": "http://127.0.0.1:9/"})
	sid := createSchedule(t, s, map[string]any{"name": "keep", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	call(t, "POST", fmt.Sprintf("%s/schedules/%d/pause", s.url, sid), nil, nil)
	s.stop()
	s2 := startServer(t, db, nil)
	var sch scheduleJSON
	if code := call(t, "GET", fmt.Sprintf("%s/schedules/%d", s2.url, sid), nil, &sch); code != 200 || sch.Status != "PAUSED" {
		t.Fatalf("after restart: %d %+v", code, sch)
	}
	if code := call(t, "GET", fmt.Sprintf("%s/targets/%d", s2.url, tid), nil, &idOnly{}); code != 200 {
		t.Fatalf("target after restart: %d", code)
	}
}

func TestServe_SecondProcessRefused(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "one.db")
	startServer(t, db, nil)
	err := run(context.Background(), []string{"--port", "0", "--database-url", "sqlite:///" + db}, func(string) string { return "" }, "", io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "another apicron process") {
		t.Fatalf("second process on the same file: %v", err)
	}
}

func TestRun_VersionAndBadSetting(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}, {"--port", "9", "--version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, noEnv, "", &out, io.Discard); err != nil || out.String() != "apicron "+apicron.Version+"\n" {
			t.Errorf("%q: %q %v, want the version", args, out.String(), err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, env(map[string]string{"APP_VERSION": "2.0.0-rc1"}), "", &out, io.Discard); err != nil || out.String() != "apicron 2.0.0-rc1\n" {
		t.Errorf("version with APP_VERSION: %q %v", out.String(), err)
	}
	err := run(context.Background(), nil, env(map[string]string{"MAX_CONCURRENT_JOBS": "lots"}), "", io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MAX_CONCURRENT_JOBS") {
		t.Fatalf("bad setting: %v", err)
	}
	err = run(context.Background(), []string{"bogus"}, noEnv, "", io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown command "bogus"`) || !strings.Contains(err.Error(), "echo") {
		t.Errorf("unknown command: %v, want it named and the commands listed", err)
	}
}

// TestRun_Help: apicron help is apicron --help, whatever the environment
// holds; it lists every command and every setting, durations as they are
// written, and no dashboard.
func TestRun_Help(t *testing.T) {
	t.Parallel()
	badEnv := env(map[string]string{"PORT": "x"})
	var want bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, badEnv, "", &want, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"serve", "--help"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, badEnv, "", &out, io.Discard); !errors.Is(err, flag.ErrHelp) || out.String() != want.String() {
			t.Errorf("%q: %v, and the text differs from --help's:\n%s", args, err, out.String())
		}
	}
	help := want.String()
	for _, cmd := range []string{"serve", "version", "help", "echo", "openapi"} {
		if !regexp.MustCompile(`(?m)^  ` + cmd + ` +\S`).MatchString(help) {
			t.Errorf("help does not list the command %s:\n%s", cmd, help)
		}
	}
	for _, want := range []string{"--version", "/docs", "RUN_RETENTION (default \"30d\")", "SHUTDOWN_GRACE (default \"30s\")", "DATABASE_URL", "API_TOKEN"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(help), "dashboard") {
		t.Errorf("help mentions a dashboard")
	}
}

// TestBinary_SIGKILLRestart runs the real binary, kills it with SIGKILL while
// a window is open and a request is in flight, starts it again, and checks
// that nothing was lost or doubled.
func TestBinary_SIGKILLRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary: long end-to-end test; run without -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "k.db")
	ts, _ := okTarget(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })

	start := func() (*exec.Cmd, string) {
		return startBinary(t, bin, nil, "--port", "0", "--database-url", "sqlite:///"+db)
	}
	cmd, url := start()
	s := &server{url: url}
	fast := createTarget(t, s, map[string]any{"name": "fast", "url": ts.URL})
	hung := createTarget(t, s, map[string]any{"name": "hung", "url": slow.URL, "timeout_seconds": 60})
	win := createSchedule(t, s, map[string]any{"name": "win", "target_id": fast, "schedule_type": "WINDOW", "interval_seconds": 1, "duration_seconds": 8})
	inflight := createSchedule(t, s, map[string]any{"name": "inflight", "target_id": hung, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	var before scheduleJSON
	call(t, "GET", fmt.Sprintf("%s/schedules/%d", url, win), nil, &before)
	time.Sleep(2500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	restarted := time.Now()
	_, url = start()
	var after scheduleJSON
	call(t, "GET", fmt.Sprintf("%s/schedules/%d", url, win), nil, &after)
	if before.EndsAt == nil || after.EndsAt == nil || *before.EndsAt != *after.EndsAt {
		t.Fatalf("window end moved: %v -> %v", deref(before.EndsAt), deref(after.EndsAt))
	}
	// The in-flight run of the killed process is INTERRUPTED.
	hr := runsOf(t, url, inflight)
	if len(hr) != 1 || hr[0].Status != "INTERRUPTED" {
		t.Fatalf("in-flight run after restart: %+v", hr)
	}
	// The window fires again within a second of the restart.
	waitFor(t, 5*time.Second, "a run after restart", func() bool {
		for _, r := range runsOf(t, url, win) {
			st, _ := time.Parse(time.RFC3339Nano, r.StartedAt)
			if st.After(restarted) {
				if st.Sub(restarted) > time.Second+500*time.Millisecond {
					t.Errorf("first run after restart started %v after the restart", st.Sub(restarted))
				}
				return true
			}
		}
		return false
	})
	// It stops at the end it always had.
	waitFor(t, 10*time.Second, "the window to stop", func() bool {
		call(t, "GET", fmt.Sprintf("%s/schedules/%d", url, win), nil, &after)
		return after.Status == "STOPPED"
	})
	end, _ := time.Parse(time.RFC3339Nano, *before.EndsAt)
	if late := time.Since(end); late > 2*time.Second {
		t.Errorf("window stopped %v after its end", late)
	}
	runs := runsOf(t, url, win)
	seen := map[string]bool{}
	for _, r := range runs {
		if seen[r.ScheduledAt] {
			t.Fatalf("occurrence %s ran twice", r.ScheduledAt)
		}
		seen[r.ScheduledAt] = true
		sa, _ := time.Parse(time.RFC3339Nano, r.ScheduledAt)
		if !sa.Before(end) {
			t.Fatalf("run at %s is not before the window's end %s", r.ScheduledAt, *before.EndsAt)
		}
	}
	if len(runs) < 5 || len(runs) > 8 {
		t.Fatalf("%d runs for an 8 s window with a short outage", len(runs))
	}
}

// listeningLineRE is the start-up line, with what it must say.
var listeningLineRE = regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=listening addr=(http://\S+) docs=(\S+) version=(\S+) ` +
	`database=(\S+) database_location=(\S+) node_id=(\S+) non_default_settings=(\S*)$`)

// TestBinary_Smoke is the real binary as a new user first meets it, and
// the one end-to-end test of it in -short: apicron echo as the target,
// apicron serve, a target and a schedule, a run, then SIGTERM while a run
// is in flight. The start-up line is short and says where the API, its
// documentation and the database are; the stop is logged when the signal
// comes and when it is done, after the run in flight has finished.
func TestBinary_Smoke(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	echoCmd, echoURL, echoOut := startEcho(t, bin, nil, "--port", "0")
	db := filepath.Join(t.TempDir(), "smoke.db")
	cmd, url, logs := startBinaryLogs(t, bin, []string{"MAX_RETRIES=1"}, "--port", "0", "--database-url", "sqlite:///"+db)

	m := listeningLineRE.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no start-up line as expected in:\n%s", logs)
	}
	if line := m[0]; len(line) > 320 {
		t.Errorf("start-up line is %d characters, want it short: %s", len(line), line)
	}
	if m[1] != url || m[2] != url+"/docs" || m[3] != apicron.Version || m[4] != "sqlite" || m[5] != db || m[7] != "DATABASE_URL,MAX_RETRIES,PORT" {
		t.Errorf("start-up line %q: want addr %s, docs %s/docs, version %s, sqlite at %s, non-default DATABASE_URL,MAX_RETRIES,PORT",
			m[0], url, url, apicron.Version, db)
	}
	if strings.Contains(logs.String(), "config.") {
		t.Errorf("the settings are logged at Info:\n%s", logs)
	}
	if code, _ := fetch(t, "GET", url+"/docs", "", nil); code != 200 {
		t.Errorf("GET %s/docs: %d, want 200", url, code)
	}

	s := &server{url: url}
	tid := createTarget(t, s, map[string]any{"name": "echo", "url": echoURL + "/get?run={{.RunID}}"})
	sid := createSchedule(t, s, map[string]any{"name": "every-second", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1})
	waitFor(t, 10*time.Second, "a successful run", func() bool {
		runs := finished(runsOf(t, url, sid))
		return len(runs) > 0 && runs[0].Status == "SUCCESS"
	})
	runLine := regexp.MustCompile(`(?m) GET /get\?run=\d+ X-Apicron-Attempt=1 X-Apicron-Run-Id=\d+ X-Apicron-Schedule-Id=\d+ X-Apicron-Scheduled-At=\S+$`)
	waitFor(t, 5*time.Second, "apicron echo to print a line for a run", func() bool { return runLine.MatchString(echoOut.String()) })

	// A run in flight when SIGTERM comes finishes before the process stops.
	slow := createTarget(t, s, map[string]any{"name": "slow", "url": echoURL + "/delay/1500"})
	slowID := createSchedule(t, s, map[string]any{"name": "slow", "target_id": slow, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	waitFor(t, 10*time.Second, "the slow request to arrive", func() bool { return strings.Contains(echoOut.String(), " GET /delay/1500 ") })
	if _, err := stopProcess(t, cmd, syscall.SIGTERM, 20*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	out := logs.String()
	stopping := strings.Index(out, `msg="stopping: terminated signal received" shutdown_grace=30s`)
	stopped := regexp.MustCompile(`msg=stopped took=(\S+)`).FindStringSubmatchIndex(out)
	if stopping < 0 || stopped == nil || stopped[0] < stopping {
		t.Fatalf("want a stopping line naming the signal, then a stopped line with the time taken:\n%s", out)
	}
	if took, err := time.ParseDuration(out[stopped[2]:stopped[3]]); err != nil || took <= 0 {
		t.Errorf("stopped took=%s: %v", out[stopped[2]:stopped[3]], err)
	}
	ro := openReadOnly(t, db)
	defer ro.Close()
	var status string
	if err := ro.QueryRow(`SELECT status FROM runs WHERE schedule_id = ?`, slowID).Scan(&status); err != nil || status != "SUCCESS" {
		t.Errorf("the run in flight at SIGTERM: %q %v, want SUCCESS", status, err)
	}
	if _, err := stopProcess(t, echoCmd, syscall.SIGINT, 10*time.Second); err != nil {
		t.Errorf("apicron echo after SIGINT: %v, want status 0", err)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildBinary builds apicron once per test run, without cgo, as users get it.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "apicron-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "apicron")
		build := exec.Command("go", "build", "-o", binPath, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startBinary starts the binary with args and extra environment, waits until
// it listens, and kills it when the test ends if it is still running.
func startBinary(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd, url, _ := startBinaryLogs(t, bin, env, args...)
	return cmd, url
}

// startBinaryLogs is startBinary that also returns what the process logs.
func startBinaryLogs(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, string, *logWatcher) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logs := &logWatcher{addr: make(chan string, 1)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("logs of %v:\n%s", args, logs)
		}
	})
	select {
	case url := <-logs.addr:
		return cmd, url, logs
	case <-time.After(30 * time.Second):
		t.Fatalf("binary did not start:\n%s", logs)
	}
	return nil, "", nil
}

func TestServe_AccessControl(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"--host", "0.0.0.0", "--port", "0", "--database-url", "sqlite:///" + filepath.Join(t.TempDir(), "x.db")},
		func(string) string { return "" }, "", io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "API_TOKEN") {
		t.Fatalf("a non-loopback bind without a token should refuse to start and say how to set one: %v", err)
	}
	token := "correct-horse-battery-staple"
	s := startServer(t, filepath.Join(t.TempDir(), "auth.db"), map[string]string{"API_TOKEN": token})
	if code := call(t, "GET", s.url+"/targets", nil, nil); code != 401 {
		t.Fatalf("GET /targets without a token: %d, want 401", code)
	}
	req, _ := http.NewRequest("GET", s.url+"/targets", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /targets with the token: %d, want 200", resp.StatusCode)
	}
	if code := call(t, "GET", s.url+"/health", nil, nil); code != 200 {
		t.Fatalf("/health without a token: %d, want 200", code)
	}
	// A target at the cloud metadata address is refused when it is saved.
	req, _ = http.NewRequest("POST", s.url+"/targets", strings.NewReader(`{"name":"meta","url":"http://169.254.169.254/latest/meta-data/"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Fatalf("metadata target: %d, want 422", resp.StatusCode)
	}
}

// TestServe_LogComponentOnce: the wiring names each component once; no
// package adds its name again to a logger that has it.
func TestServe_LogComponentOnce(t *testing.T) {
	t.Parallel()
	ts, _ := okTarget(t)
	s := startServer(t, filepath.Join(t.TempDir(), "log.db"), map[string]string{"LOG_LEVEL": "DEBUG"})
	tid := createTarget(t, s, map[string]any{"name": "ok", "url": ts.URL})
	sid := createSchedule(t, s, map[string]any{"name": "once", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	waitFor(t, 10*time.Second, "a finished run", func() bool { return len(finished(runsOf(t, s.url, sid))) == 1 })
	s.stop()
	attempts, engine := 0, 0
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `msg="stopping: claiming no more runs`) {
			engine++
			if !strings.Contains(line, "component=scheduler") {
				t.Errorf("engine line without component=scheduler: %s", line)
			}
		}
		if n := strings.Count(line, "component="); n > 1 {
			t.Errorf("%d component attributes in %s", n, line)
		}
		if strings.Contains(line, `msg="attempt finished"`) {
			attempts++
			if !strings.Contains(line, "component=executor") {
				t.Errorf("attempt line without component=executor: %s", line)
			}
		}
	}
	if attempts != 1 || engine != 1 {
		t.Errorf("%d attempt lines and %d engine stopping lines logged, want 1 each:\n%s", attempts, engine, s.logs)
	}
}

// TestServe_TargetPortRefused: a URL whose port is not a TCP port is refused
// when the target is saved, not stored to fail every run.
func TestServe_TargetPortRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "port.db"), nil)
	for _, url := range []string{"http://127.0.0.1:99999/", "http://127.0.0.1:0/", "http://127.0.0.1:port/"} {
		body, _ := json.Marshal(map[string]any{"name": "bad port", "url": url})
		resp, err := http.Post(s.url+"/targets", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 422 || !strings.Contains(string(data), `"location":"body.url"`) || !strings.Contains(string(data), "port") {
			t.Errorf("POST /targets with url %s: %d %s, want 422 on url saying why", url, resp.StatusCode, data)
		}
	}
	var targets []idOnly
	if call(t, "GET", s.url+"/targets", nil, &targets); len(targets) != 0 {
		t.Errorf("%d targets stored, want none", len(targets))
	}
}

// TestRun_OpenAPI: apicron openapi prints the document the server serves,
// titled and versioned by the settings, with the bearer scheme when tokens
// are set, and opens no database (a DATABASE_URL that cannot open is fine).
func TestRun_OpenAPI(t *testing.T) {
	t.Parallel()
	for _, tokens := range []bool{false, true} {
		vars := map[string]string{"APP_TITLE": "Acme jobs", "APP_VERSION": "9.9.9", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
		if tokens {
			vars["API_TOKEN"] = strings.Repeat("t", 32)
		}
		var out bytes.Buffer
		if err := run(context.Background(), []string{"openapi"}, env(vars), t.TempDir(), &out, io.Discard); err != nil {
			t.Fatalf("openapi (tokens %v): %v", tokens, err)
		}
		want, err := httpapi.OpenAPIJSON("Acme jobs", "9.9.9", tokens)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out.String()) != strings.TrimSpace(string(want)) {
			t.Errorf("openapi (tokens %v) printed a document other than the server's", tokens)
		}
		var doc struct {
			Info       struct{ Title, Version string }
			Components struct {
				SecuritySchemes map[string]any `json:"securitySchemes"`
			}
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("openapi printed no JSON: %v", err)
		}
		if doc.Info.Title != "Acme jobs" || doc.Info.Version != "9.9.9" || (len(doc.Components.SecuritySchemes) > 0) != tokens {
			t.Errorf("openapi (tokens %v): info %+v, security schemes %v", tokens, doc.Info, doc.Components.SecuritySchemes)
		}
	}
}

// TestServe_WrongSecretKey: started with a SECRET_KEY that does not open
// the secret values in its database, apicron says so at start and /health
// answers 503 with the reason, since every run of those targets would fail.
func TestServe_WrongSecretKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "keys.db")
	keyA, keyB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	s := startServer(t, db, map[string]string{"SECRET_KEY": keyA})
	createTarget(t, s, map[string]any{"name": "secret", "url": "http://127.0.0.1:9/", "headers": map[string]string{"Authorization": "Bearer s3cret"}})
	var h map[string]any
	if code := call(t, http.MethodGet, s.url+"/health", nil, &h); code != http.StatusOK {
		t.Fatalf("/health with the right key: %d %v", code, h)
	}
	s.stop()

	s = startServer(t, db, map[string]string{"SECRET_KEY": keyB})
	const want = "SECRET_KEY does not decrypt the secret values of 1 of the 1 targets"
	resp, err := http.Get(s.url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), want) {
		t.Errorf("/health with another key: %d %s, want 503 saying %q", resp.StatusCode, body, want)
	}
	if !strings.Contains(s.logs.String(), want) {
		t.Errorf("the start-up log does not say %q:\n%s", want, s.logs)
	}
}
