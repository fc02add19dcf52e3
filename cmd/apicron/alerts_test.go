package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// alertReceiver is a webhook notifier's receiver: it verifies each
// notification with the Standard Webhooks reference verifier and keeps
// them by webhook-id.
type alertReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	byID     map[string]int
	events   []receivedAlert
	verifier *standardwebhooks.Webhook
	bad      []string
}

type receivedAlert struct {
	id       string
	event    string
	schedule int64
	realert  bool
}

func newAlertReceiver(t *testing.T, secret string) *alertReceiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	a := &alertReceiver{byID: map[string]int{}, verifier: wh}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		defer a.mu.Unlock()
		if err := a.verifier.Verify(body, r.Header); err != nil {
			a.bad = append(a.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m struct {
			Event    string `json:"event"`
			Realert  bool   `json:"realert"`
			Schedule struct {
				ID int64 `json:"id"`
			} `json:"schedule"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			a.bad = append(a.bad, err.Error())
		}
		id := r.Header.Get("webhook-id")
		if a.byID[id]++; a.byID[id] == 1 {
			a.events = append(a.events, receivedAlert{id: id, event: m.Event, schedule: m.Schedule.ID, realert: m.Realert})
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(a.Close)
	return a
}

// count returns how many distinct notifications of event arrived for
// schedule (0: any), and how many arrived more than once.
func (a *alertReceiver) count(event string, schedule int64) (n, repeated int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.events {
		if e.event == event && (schedule == 0 || e.schedule == schedule) {
			n++
			if a.byID[e.id] > 1 {
				repeated++
			}
		}
	}
	return n, repeated
}

func (a *alertReceiver) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.events {
		out = append(out, fmt.Sprintf("%s/%d(x%d)", e.event, e.schedule, a.byID[e.id]))
	}
	sort.Strings(out)
	return strings.Join(out, " ") + fmt.Sprintf(" bad=%v", a.bad)
}

// switchTarget answers 500 until healthy is set, then 200.
func switchTarget(t *testing.T) (*httptest.Server, *atomic.Bool) {
	t.Helper()
	var healthy atomic.Bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if healthy.Load() {
			_, _ = w.Write([]byte("ok"))
			return
		}
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(ts.Close)
	return ts, &healthy
}

func createNotifier(t *testing.T, url string, body map[string]any) (id int64, secret string) {
	t.Helper()
	var out struct {
		ID     int64  `json:"id"`
		Secret string `json:"generated_signing_secret"`
	}
	if code := call(t, "POST", url+"/notifiers", body, &out); code != 201 {
		t.Fatalf("create notifier: %d", code)
	}
	return out.ID, out.Secret
}

// TestBinary_AlertsAcrossSIGKILL: a failing schedule raises one failing
// alert; the process is killed with SIGKILL and started again while the
// failures go on, and no second failing alert comes; the target heals and
// one recovered alert comes. Beside it, auto_pause_after pauses a schedule
// (one auto_paused alert) and a window's end is told once.
func TestBinary_AlertsAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the real binary: long end-to-end test; run without -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "alerts.db")
	var cmd *exec.Cmd
	start := func() string {
		var url string
		cmd, url = startBinary(t, bin, nil, "--port", "0", "--database-url", "sqlite:///"+db)
		return url
	}
	url := start()
	target, healthy := switchTarget(t)

	// The receiver needs the secret the notifier generates: create the
	// notifier on a placeholder URL, then point it at the receiver.
	nid, secret := createNotifier(t, url, map[string]any{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/", "signing_secrets": []string{"generate"}})
	recv := newAlertReceiver(t, secret)
	if code := call(t, "PATCH", fmt.Sprintf("%s/notifiers/%d", url, nid), map[string]any{"url": recv.URL}, nil); code != 200 {
		t.Fatalf("point the notifier at the receiver: %d", code)
	}
	s := &server{url: url}
	tid := createTarget(t, s, map[string]any{"name": "flaky", "url": target.URL, "max_retries": 0})
	failing := createSchedule(t, s, map[string]any{"name": "failing", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1,
		"alert": map[string]any{"notifier_ids": []int64{nid}, "failure_threshold": 2, "success_threshold": 2}})
	paused := createSchedule(t, s, map[string]any{"name": "paused", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 1,
		"auto_pause_after": 3, "alert": map[string]any{"notifier_ids": []int64{nid}, "failure_threshold": 100}})
	window := createSchedule(t, s, map[string]any{"name": "window", "target_id": tid, "schedule_type": "WINDOW", "interval_seconds": 1,
		"duration_seconds": 3, "alert": map[string]any{"notifier_ids": []int64{nid}, "failure_threshold": 100, "on_window_end": true}})

	waitFor(t, 15*time.Second, "the failing alert", func() bool { n, _ := recv.count("failing", failing); return n == 1 })
	waitFor(t, 15*time.Second, "the auto_paused and window_ended alerts", func() bool {
		a, _ := recv.count("auto_paused", paused)
		w, _ := recv.count("window_ended", window)
		return a == 1 && w == 1
	})
	var sc scheduleJSON
	call(t, "GET", fmt.Sprintf("%s/schedules/%d", url, paused), nil, &sc)
	if sc.Status != "PAUSED" {
		t.Fatalf("schedule with auto_pause_after 3: %s", sc.Status)
	}

	// SIGKILL while the failures go on, and again after the restart.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	url = start()
	time.Sleep(4 * time.Second) // four more failures, each recorded by the new process
	var state struct {
		AlertState struct {
			Status              string `json:"status"`
			ConsecutiveFailures int64  `json:"consecutive_failures"`
		} `json:"alert_state"`
	}
	call(t, "GET", fmt.Sprintf("%s/schedules/%d", url, failing), nil, &state)
	if state.AlertState.Status != "failing" || state.AlertState.ConsecutiveFailures < 4 {
		t.Fatalf("alert state after the restart: %+v", state.AlertState)
	}
	if n, _ := recv.count("failing", failing); n != 1 {
		t.Fatalf("%d failing alerts after a SIGKILL restart, want still 1: %s", n, recv)
	}

	healthy.Store(true)
	waitFor(t, 15*time.Second, "the recovered alert", func() bool { n, _ := recv.count("recovered", failing); return n == 1 })
	time.Sleep(2 * time.Second) // nothing more comes
	for _, ev := range []string{"failing", "recovered", "auto_paused", "window_ended"} {
		n, repeated := recv.count(ev, 0)
		if n != 1 || repeated != 0 {
			t.Errorf("%s: %d alerts (%d delivered more than once), want exactly 1: %s", ev, n, repeated, recv)
		}
	}
	var list []struct {
		Event  string `json:"event"`
		Status string `json:"status"`
	}
	call(t, "GET", url+"/notifications", nil, &list)
	if len(list) != 4 {
		t.Fatalf("/notifications: %+v, want 4", list)
	}
	for _, n := range list {
		if n.Status != "sent" {
			t.Errorf("notification %+v not sent", n)
		}
	}
}

// TestCluster_ThreeNodesOneAlert: three real processes on one PostgreSQL
// database share 6 failing schedules; each state change is told once, not
// once per node, and the leader's SIGKILL between the failing and the
// recovered alerts neither repeats nor loses one.
func TestCluster_ThreeNodesOneAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three processes: long end-to-end test; run without -short")
	}
	dsn, _ := pgSchemaURL(t)
	bin := buildBinary(t)
	target, healthy := switchTarget(t)

	type node struct {
		cmd *exec.Cmd
		url string
	}
	var nodes []*node
	for i := 1; i <= 3; i++ {
		cmd, u := startBinary(t, bin, []string{"DATABASE_URL=" + dsn, fmt.Sprintf("NODE_ID=alert-node-%d", i), "SHUTDOWN_GRACE=2s"}, "--port", "0")
		nodes = append(nodes, &node{cmd: cmd, url: u})
	}
	leader := func() *node {
		for _, n := range nodes {
			var h struct {
				Role string `json:"role"`
			}
			if n.url != "" && call(t, "GET", n.url+"/health", nil, &h) == 200 && h.Role == "leader" {
				return n
			}
		}
		return nil
	}
	waitFor(t, 15*time.Second, "a leader", func() bool { return leader() != nil })

	nid, secret := createNotifier(t, nodes[0].url, map[string]any{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/", "signing_secrets": []string{"generate"}})
	recv := newAlertReceiver(t, secret)
	if code := call(t, "PATCH", fmt.Sprintf("%s/notifiers/%d", nodes[1].url, nid), map[string]any{"url": recv.URL}, nil); code != 200 {
		t.Fatalf("point the notifier at the receiver: %d", code)
	}
	if code := call(t, "PUT", nodes[2].url+"/alerts/default", map[string]any{"notifier_ids": []int64{nid}, "failure_threshold": 2}, nil); code != 200 {
		t.Fatalf("set the default rule: %d", code)
	}
	tid := createTarget(t, &server{url: nodes[0].url}, map[string]any{"name": "flaky", "url": target.URL, "max_retries": 0})
	const schedules = 6
	for i := 0; i < schedules; i++ {
		createSchedule(t, &server{url: nodes[i%3].url}, map[string]any{"name": fmt.Sprintf("s%d", i), "target_id": tid,
			"schedule_type": "INTERVAL", "interval_seconds": 1})
	}
	waitFor(t, 20*time.Second, "a failing alert per schedule", func() bool { n, _ := recv.count("failing", 0); return n >= schedules })
	time.Sleep(2 * time.Second) // more failures on every node: no more alerts
	if n, _ := recv.count("failing", 0); n != schedules {
		t.Fatalf("%d failing alerts for %d schedules: %s", n, schedules, recv)
	}

	dead := leader()
	if err := dead.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = dead.cmd.Wait()
	dead.url = ""
	healthy.Store(true)
	waitFor(t, 30*time.Second, "a recovered alert per schedule", func() bool { n, _ := recv.count("recovered", 0); return n >= schedules })
	time.Sleep(2 * time.Second)
	for _, ev := range []string{"failing", "recovered"} {
		n, repeated := recv.count(ev, 0)
		if n != schedules || repeated != 0 {
			t.Errorf("%s: %d alerts (%d delivered more than once), want %d, one per schedule: %s", ev, n, repeated, schedules, recv)
		}
	}
	perSchedule := map[int64]int{}
	recv.mu.Lock()
	for _, e := range recv.events {
		perSchedule[e.schedule]++
	}
	bad := recv.bad
	recv.mu.Unlock()
	if len(perSchedule) != schedules || len(bad) != 0 {
		t.Errorf("alerts by schedule %v (want 2 each for %d schedules), signature failures %v", perSchedule, schedules, bad)
	}
	for _, n := range nodes {
		if n.url != "" {
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
			_ = n.cmd.Wait()
		}
	}
}
