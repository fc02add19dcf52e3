package promexp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/notify"
	"github.com/apicron/apicron/internal/promexp"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const (
	fullToken = "full-token-0123456789"
	readToken = "read-token-0123456789"
)

// env is an engine on a real store calling a real target, with its
// metrics served by the real API.
type env struct {
	t       *testing.T
	db      *store.DB
	clock   *storetest.Clock
	s       *scheduler.Scheduler
	api     *httptest.Server
	target  *httptest.Server
	entered chan struct{} // a request reached /slow
	release chan struct{} // closing it lets /slow answer
}

func newEnv(t *testing.T, driver string, scheduleLabels int) *env {
	t.Helper()
	e := &env{t: t, clock: storetest.NewClock(t0), entered: make(chan struct{}, 10), release: make(chan struct{})}
	e.db = storetest.Open(t, driver, e.clock)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		e.entered <- struct{}{}
		select {
		case <-e.release:
		case <-time.After(10 * time.Second): // a bound, should the test fail before it releases
		}
	})
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/broken-hook", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	e.target = httptest.NewServer(mux)
	t.Cleanup(e.target.Close)
	t.Cleanup(func() {
		select {
		case <-e.release:
		default:
			close(e.release)
		}
	})

	exec := executor.New(executor.Config{Now: e.clock.Now})
	t.Cleanup(exec.CloseIdleConnections)
	m, err := promexp.New(promexp.Config{
		Store: e.db, NodesFunc: func(ctx context.Context) (int, error) { return e.db.LiveNodes(ctx, time.Minute) },
		EngineFunc:     func(ctx context.Context) (apicron.EngineHealth, error) { return e.s.Health(ctx) },
		RequestsFunc:   func() int64 { return e.s.RequestsInFlight() },
		ScheduleLabels: scheduleLabels, StateTTL: -1, Version: "1.2.3", WriterFunc: e.db.WriterStats,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.s = scheduler.New(scheduler.Config{Store: e.db, Executor: exec, Clock: e.clock, MaxConcurrent: 10, Metrics: m,
		Outbox: e.db, Sender: &notify.Sender{Client: &http.Client{}}})
	if err := e.s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Store: e.db, Clock: e.clock, Tokens: []string{fullToken}, ReadTokens: []string{readToken},
		MetricsHandler: m.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = httptest.NewServer(api)
	t.Cleanup(e.api.Close)
	return e
}

// schedule creates an INTERVAL schedule of 1 s, due now, on a target calling path.
func (e *env) schedule(name, path string) *apicron.Schedule {
	e.t.Helper()
	ctx := e.t.Context()
	tg := &apicron.Target{Name: name, URL: e.target.URL + path}
	if err := e.db.CreateTarget(ctx, tg); err != nil {
		e.t.Fatal(err)
	}
	s := &apicron.Schedule{Name: name, TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 1}
	if err := e.db.CreateSchedule(ctx, s); err != nil {
		e.t.Fatal(err)
	}
	e.s.Changed(s.ID)
	return s
}

// step runs the engine at t0+d; with wait, it waits for the runs it
// started and their results to be written.
func (e *env) step(d time.Duration, wait bool) {
	e.t.Helper()
	e.clock.Set(t0.Add(d))
	e.s.Step(e.t.Context(), t0.Add(d))
	if wait {
		if err := e.s.Wait(e.t.Context()); err != nil {
			e.t.Fatal(err)
		}
	}
}

// scrape GETs path with accept and token, and returns the response's
// status, Content-Type and body.
func (e *env) scrape(path, accept, token string) (int, string, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.api.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// families scrapes /metrics/prometheus and parses it with Prometheus' own text parser.
func (e *env) families() (map[string]*dto.MetricFamily, []byte) {
	e.t.Helper()
	status, ct, body := e.scrape("/metrics/prometheus", "", readToken)
	if status != http.StatusOK || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		e.t.Fatalf("GET /metrics/prometheus: %d %q\n%s", status, ct, body)
	}
	return parse(e.t, body), body
}

func parse(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse the exposition: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of the one series of family name whose labels
// include want: a counter's or gauge's value, a histogram's count.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	m := metricOf(t, fams, name, want...)
	switch fams[name].GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("%s: unexpected type %s", name, fams[name].GetType())
	return 0
}

// metricOf is the one series of family name with the labels want (pairs).
func metricOf(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	var found []*dto.Metric
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				ok = false
			}
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d series, want 1", name, want, len(found))
	}
	return found[0]
}

func expectValue(t *testing.T, fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	if got := value(t, fams, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// The exposition after real runs: every run the engine made is counted
// once, by status and error type, with its latency and lateness; the
// claims, the coalesced and skipped occurrences agree with what the store
// recorded; the gauges read the engine and the database; alerts delivered
// and failed are counted by notifier type.
func TestMetrics_AfterRuns(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver, 0)
		ctx := t.Context()
		hook := &apicron.Notifier{Name: "hook", Type: apicron.NotifierWebhook, URL: e.target.URL + "/hook"}
		broken := &apicron.Notifier{Name: "broken", Type: apicron.NotifierWebhook, URL: e.target.URL + "/broken-hook"}
		for _, n := range []*apicron.Notifier{hook, broken} {
			if err := e.db.CreateNotifier(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.db.SetDefaultAlertRule(ctx, &apicron.AlertRule{NotifierIDs: []int64{hook.ID, broken.ID}, FailureThreshold: 1}); err != nil {
			t.Fatal(err)
		}
		ok, fail := e.schedule("ok", "/ok"), e.schedule("fail", "/fail")

		e.step(0, true)
		e.step(time.Second, true)
		e.step(2*time.Second, true)
		// Down from 2 s to 5 s: the occurrences at 3 s and 4 s are coalesced into the run at 5 s.
		e.step(5*time.Second, true)

		// A slow schedule alone: its run is in flight, and the next occurrence overlaps it.
		for _, s := range []*apicron.Schedule{ok, fail} {
			if _, err := e.db.PauseSchedule(ctx, s.ID, apicron.PauseRequest{}); err != nil {
				t.Fatal(err)
			}
			e.s.Changed(s.ID)
		}
		e.clock.Set(t0.Add(6 * time.Second))
		e.schedule("slow", "/slow")
		e.step(6*time.Second, false)
		select {
		case <-e.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the slow run's request never arrived")
		}
		fams, _ := e.families()
		expectValue(t, fams, 1, "apicron_requests_in_flight")
		expectValue(t, fams, 1, "apicron_runs_in_flight")
		e.step(7*time.Second, false) // overlaps the run in flight: skipped
		close(e.release)
		if err := e.s.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.s.DeliverNotifications(ctx); n != 2 {
			t.Fatalf("delivered %d notifications, want 2 (one failing alert to each notifier)", n)
		}

		fams, body := e.families()
		runs, total, err := e.db.FindRuns(ctx, apicron.RunFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var success, failed float64
		for _, r := range runs {
			switch {
			case r.Status == apicron.Success:
				success++
			case r.Status == apicron.Failed && r.ErrorType == apicron.ErrHTTP5xx:
				failed++
			default:
				t.Fatalf("run %d: %s %s", r.ID, r.Status, r.ErrorType)
			}
		}
		if total != 9 || success != 5 || failed != 4 {
			t.Fatalf("%d runs, %v SUCCESS and %v FAILED http_5xx; want 9, 5 and 4", total, success, failed)
		}
		expectValue(t, fams, success, "apicron_runs_finished_total", "status", "SUCCESS", "error_type", "")
		expectValue(t, fams, failed, "apicron_runs_finished_total", "status", "FAILED", "error_type", "http_5xx")
		if n := len(fams["apicron_runs_finished_total"].GetMetric()); n != 2 {
			t.Errorf("apicron_runs_finished_total has %d series, want 2:\n%s", n, body)
		}
		expectValue(t, fams, float64(total), "apicron_run_latency_seconds")
		expectValue(t, fams, float64(total), "apicron_run_lateness_seconds")
		expectValue(t, fams, float64(total), "apicron_occurrences_claimed_total", "trigger", "schedule")
		expectValue(t, fams, 0, "apicron_occurrences_claimed_total", "trigger", "catch_up")
		expectValue(t, fams, 4, "apicron_occurrences_coalesced_total")
		expectValue(t, fams, 1, "apicron_occurrences_skipped_total", "reason", apicron.MissOverlap)
		expectValue(t, fams, 0, "apicron_occurrences_skipped_total", "reason", apicron.MissMisfire)
		// The same occurrences as the store's counters (skipped_overlap, missed).
		sm, err := e.db.SystemMetrics(ctx, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if sm.SkippedOverlap != 1 || sm.Missed != 4 || sm.TotalRuns != int64(total) {
			t.Errorf("store: skipped_overlap %d, missed %d, runs %d; want 1, 4, %d", sm.SkippedOverlap, sm.Missed, sm.TotalRuns, total)
		}
		// The run at 0 s left at once (the fake clock stands still): lateness 0 s.
		if b := fams["apicron_run_lateness_seconds"].GetMetric()[0].GetHistogram().GetBucket()[0]; b.GetUpperBound() != 0.001 || b.GetCumulativeCount() != uint64(total) {
			t.Errorf("lateness first bucket: le %v count %d, want le 0.001 count %d", b.GetUpperBound(), b.GetCumulativeCount(), total)
		}
		expectValue(t, fams, 0, "apicron_requests_in_flight")
		expectValue(t, fams, 0, "apicron_runs_in_flight")
		expectValue(t, fams, 0, "apicron_results_pending")
		expectValue(t, fams, 1, "apicron_schedules", "status", "ACTIVE")
		expectValue(t, fams, 2, "apicron_schedules", "status", "PAUSED")
		expectValue(t, fams, 0, "apicron_schedules", "status", "STOPPED")
		expectValue(t, fams, 3, "apicron_targets")
		expectValue(t, fams, 1, "apicron_leader")
		expectValue(t, fams, 1, "apicron_nodes")
		expectValue(t, fams, 1, "apicron_build_info", "version", "1.2.3")
		if n := value(t, fams, "apicron_database_write_duration_seconds", "op", "claim"); n < 6 {
			t.Errorf("claims observed: %v, want at least 6 (one per step with a due schedule)", n)
		}
		if n := value(t, fams, "apicron_database_write_duration_seconds", "op", "write_results"); n < 5 {
			t.Errorf("result writes observed: %v, want at least 5", n)
		}
		expectValue(t, fams, 0, "apicron_database_write_failures_total", "op", "claim")
		// Every result is written once, in some batch; each claim is a batch of its schedules.
		if m := metricOf(t, fams, "apicron_database_write_batch_items", "op", "write_results"); m.GetHistogram().GetSampleSum() != float64(total) {
			t.Errorf("results in write batches: %v, want %d", m.GetHistogram().GetSampleSum(), total)
		}
		claims := value(t, fams, "apicron_database_write_duration_seconds", "op", "claim")
		expectValue(t, fams, claims, "apicron_database_write_batch_items", "op", "claim")
		tx, stmts := value(t, fams, "apicron_database_write_transactions_total"), value(t, fams, "apicron_database_write_statements_total")
		if writes := claims + value(t, fams, "apicron_database_write_duration_seconds", "op", "write_results"); tx < writes || stmts < 2*tx {
			t.Errorf("%v write transactions and %v statements; want at least the engine's %v writes, and two statements each", tx, stmts, writes)
		}
		if value(t, fams, "apicron_database_writer_busy_seconds_total") <= 0 {
			t.Error("the writer was never busy")
		}
		if driver == "sqlite" {
			if fams["apicron_sqlite_wal_frames"] == nil || fams["apicron_sqlite_checkpoints_total"] == nil {
				t.Error("no SQLite write-ahead log series")
			}
		} else if fams["apicron_sqlite_wal_frames"] != nil {
			t.Error("SQLite series on PostgreSQL")
		}
		for _, name := range []string{"go_sched_latencies_seconds", "go_sched_pauses_total_gc_seconds"} {
			if fams[name] == nil {
				t.Errorf("no %s", name)
			}
		}
		expectValue(t, fams, 1, "apicron_notifications_sent_total", "type", apicron.NotifierWebhook)
		expectValue(t, fams, 1, "apicron_notifications_failed_total", "type", apicron.NotifierWebhook)
		for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
			if fams[name] == nil {
				t.Errorf("no %s", name)
			}
		}
		for name := range fams {
			if !strings.HasPrefix(name, "apicron_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") &&
				!strings.HasPrefix(name, "promhttp_") {
				t.Errorf("unexpected family %s", name)
			}
		}
	})
}

// /metrics answers the seed's JSON without an Accept header, to a browser
// and to Accept: application/json, and the Prometheus exposition to what
// Prometheus sends; /metrics/prometheus negotiates text or OpenMetrics.
// Both need a token, and a read-only one will do.
func TestMetrics_Negotiation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", 0)
	e.schedule("ok", "/ok")
	e.step(0, true)
	tests := []struct {
		path, accept string
		wantType     string // the Content-Type's prefix
	}{
		{"/metrics", "", "application/json"},
		{"/metrics", "*/*", "application/json"},
		{"/metrics", "application/json", "application/json"},
		{"/metrics", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"},
		{"/metrics", "application/json, text/plain; version=0.0.4; q=0.5", "application/json"},
		{"/metrics", "text/plain; version=0.0.4", "text/plain; version=0.0.4"},
		{"/metrics", "text/plain", "text/plain; version=0.0.4"},
		// What Prometheus 2 and 3 send.
		{"/metrics", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
			"application/openmetrics-text; version=1.0.0"},
		{"/metrics", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "text/plain; version=0.0.4"},
		{"/metrics/prometheus", "", "text/plain; version=0.0.4"},
		{"/metrics/prometheus", "application/json", "text/plain; version=0.0.4"},
		{"/metrics/prometheus", "application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=1.0.0"},
	}
	for _, tt := range tests {
		for _, token := range []string{readToken, fullToken} {
			status, ct, body := e.scrape(tt.path, tt.accept, token)
			if status != http.StatusOK || !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("GET %s Accept %q: %d %q, want 200 %q\n%.300s", tt.path, tt.accept, status, ct, tt.wantType, body)
				continue
			}
			switch {
			case strings.HasPrefix(ct, "application/json"):
				if !bytes.Contains(body, []byte(`"total_runs":1`)) {
					t.Errorf("GET %s Accept %q: not the seed's JSON: %.300s", tt.path, tt.accept, body)
				}
			case strings.HasPrefix(ct, "text/plain"):
				expectValue(t, parse(t, body), 1, "apicron_runs_finished_total", "status", "SUCCESS")
			default:
				// OpenMetrics names a counter's family without _total, and writes 1 as 1.0.
				for _, line := range []string{"# TYPE apicron_runs_finished counter\n",
					`apicron_runs_finished_total{error_type="",status="SUCCESS"} 1.0` + "\n"} {
					if !bytes.Contains(body, []byte(line)) {
						t.Errorf("GET %s Accept %q: no %q in OpenMetrics:\n%s", tt.path, tt.accept, line, body)
					}
				}
				if !bytes.HasSuffix(body, []byte("# EOF\n")) {
					t.Errorf("GET %s Accept %q: OpenMetrics without its # EOF", tt.path, tt.accept)
				}
			}
		}
	}
	// A query parameter, which neither takes, is refused as on every route.
	for _, path := range []string{"/metrics?x=1", "/metrics/prometheus?x=1"} {
		if status, _, body := e.scrape(path, "text/plain; version=0.0.4", readToken); status != http.StatusUnprocessableEntity {
			t.Errorf("GET %s: %d, want 422\n%s", path, status, body)
		}
	}
	for _, path := range []string{"/metrics", "/metrics/prometheus"} {
		for _, token := range []string{"", "not-a-token-0123456789"} {
			if status, _, _ := e.scrape(path, "text/plain; version=0.0.4", token); status != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", path, token, status)
			}
		}
	}
}

// Without a MetricsHandler, /metrics stays JSON whatever Accept says and
// /metrics/prometheus answers 503.
func TestMetrics_NoHandler(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, "sqlite", storetest.NewClock(t0))
	api, err := httpapi.New(httpapi.Config{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	for path, want := range map[string]int{"/metrics": http.StatusOK, "/metrics/prometheus": http.StatusServiceUnavailable} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Accept", "text/plain; version=0.0.4")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")) {
			t.Errorf("GET %s: %d %q, want %d", path, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
}

// With METRICS_SCHEDULE_LABELS=1, the first schedule whose runs finish
// has series of its own, and every other one counts as "other".
func TestMetrics_ScheduleLabels(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", 1)
	first := e.schedule("ok", "/ok")
	e.step(0, true) // only the first schedule exists: it gets the label
	e.schedule("fail", "/fail")
	e.schedule("ok2", "/ok")
	e.step(time.Second, true)
	fams, _ := e.families()
	label := strconv.FormatInt(first.ID, 10)
	expectValue(t, fams, 2, "apicron_runs_finished_total", "schedule_id", label, "status", "SUCCESS")
	expectValue(t, fams, 1, "apicron_runs_finished_total", "schedule_id", promexp.OtherSchedules, "status", "SUCCESS")
	expectValue(t, fams, 1, "apicron_runs_finished_total", "schedule_id", promexp.OtherSchedules, "status", "FAILED", "error_type", "http_5xx")
	expectValue(t, fams, 2, "apicron_run_latency_seconds", "schedule_id", label)
	expectValue(t, fams, 2, "apicron_run_latency_seconds", "schedule_id", promexp.OtherSchedules)
	var ids []string
	for _, m := range fams["apicron_runs_finished_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "schedule_id" && !slices.Contains(ids, l.GetValue()) {
				ids = append(ids, l.GetValue())
			}
		}
	}
	slices.Sort(ids)
	if want := []string{label, promexp.OtherSchedules}; !slices.Equal(ids, want) {
		t.Errorf("schedule_id values %v, want %v", ids, want)
	}
}

// promtool, Prometheus' own checker, finds nothing to say about the
// exposition (names, units, help, histogram shape). It skips without promtool.
func TestMetrics_Promtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH (Debian: apt-get install prometheus): the exposition was not checked with it")
	}
	e := newEnv(t, "sqlite", 5)
	e.schedule("ok", "/ok")
	e.schedule("fail", "/fail")
	e.step(0, true)
	e.step(3*time.Second, true)
	_, body := e.families()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// The Grafana dashboard is valid JSON, and every series its queries name
// is one apicron exports (a histogram by its _bucket, _sum or _count).
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "apicron.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/apicron.json is not JSON: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) < 20 {
		t.Fatalf("the dashboard has %d queries, want 20 or more", len(exprs))
	}

	e := newEnv(t, "sqlite", 0)
	e.schedule("ok", "/ok")
	e.step(0, true)
	fams, _ := e.families()
	exported := map[string]bool{}
	for name, f := range fams {
		exported[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				exported[name+suffix] = true
			}
		}
	}
	// Series whose values appear only once something happened (a
	// notification, a write of every op) are exported all the same.
	for _, name := range []string{"apicron_notifications_sent_total", "apicron_notifications_failed_total"} {
		exported[name] = true
	}
	used := map[string]bool{}
	for _, expr := range exprs {
		for _, name := range seriesName.FindAllString(expr, -1) {
			used[name] = true
			if !exported[name] {
				t.Errorf("the dashboard queries %s, which apicron does not export: %s", name, expr)
			}
		}
	}
	for _, name := range []string{"apicron_runs_finished_total", "apicron_run_latency_seconds_bucket", "apicron_run_lateness_seconds_bucket",
		"apicron_requests_in_flight", "apicron_occurrences_skipped_total", "apicron_database_write_duration_seconds_bucket",
		"apicron_leader", "apicron_nodes", "apicron_notifications_sent_total"} {
		if !used[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
}

// seriesName finds the series a PromQL query names.
var seriesName = regexp.MustCompile(`\b(?:apicron|go|process)_[a-zA-Z0-9_]+\b`)
