package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/notify"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
	"github.com/apicron/apicron/internal/web"
	"github.com/chromedp/chromedp"
)

// The tests in this file drive a real Chromium through the dashboard, served
// with the API as cmd/apicron wires them, over a real store. One browser
// serves the whole test binary; each test has its own browser context (its
// own cookies). They skip with -short, and when no Chromium is found
// (chromium, chromium-browser, or the path in APICRON_CHROMIUM).

// screenshotsEnv, set to 1, makes the tests write their screenshots into
// docs/; normal runs leave the tree alone.
const screenshotsEnv = "APICRON_SCREENSHOTS"

// browserTimeout bounds each test's browsing.
const browserTimeout = 30 * time.Second

var browser struct {
	once   sync.Once
	ctx    context.Context // a browser's first tab, started
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// chromiumPath finds the browser to drive.
func chromiumPath() (string, error) {
	if p := os.Getenv("APICRON_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: install it (apt-get install -y chromium) or set APICRON_CHROMIUM to its path")
}

// newTab returns a tab of the shared browser in a browser context of its
// own, closed when the test ends, with a deadline for the test's steps.
func newTab(t *testing.T) context.Context {
	t.Helper()
	return newTabFor(t, browserTimeout)
}

// newTabFor is newTab with a deadline of its own.
func newTabFor(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	browser.once.Do(func() {
		path, err := chromiumPath()
		if err != nil {
			browser.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
			chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 900))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		browser.cancel = func() { cancelCtx(); cancelAlloc() }
		browser.ctx = ctx
		browser.err = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	})
	if browser.err != nil {
		t.Skipf("browser test: %v", browser.err)
	}
	tab, cancelTab := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		cancelTab()
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	return ctx
}

// webEnv is a server of the API with the dashboard mounted, over a real store.
type webEnv struct {
	srv    *httptest.Server
	db     *store.DB
	clock  *storetest.Clock
	target *apicron.Target
	sched  *apicron.Schedule
}

// dispatched records the jobs "Run now" submits.
type dispatched struct {
	mu   sync.Mutex
	jobs []*apicron.Job
}

func (d *dispatched) Submit(j *apicron.Job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.jobs = append(d.jobs, j)
}

// executing runs what "Run now" submits, as the engine would: the request
// is sent and its result recorded.
type executing struct {
	db   *store.DB
	exec *executor.Executor
	wg   sync.WaitGroup
}

func (d *executing) Submit(j *apicron.Job) {
	d.wg.Go(func() {
		res := d.exec.Execute(context.Background(), j)
		_ = d.db.Finish(context.Background(), []apicron.RunResult{res})
	})
}

// newWebEnv serves a store holding one target (with a secret header) and
// one INTERVAL schedule of a second; tokens, when given, are full then read.
func newWebEnv(t *testing.T, driver string, full, read []string) *webEnv {
	t.Helper()
	return newWebEnvAt(t, driver, time.Now().UTC().Truncate(time.Second), full, read)
}

// newWebEnvAt is newWebEnv with its clock starting at start.
func newWebEnvAt(t *testing.T, driver string, start time.Time, full, read []string) *webEnv {
	t.Helper()
	e := &webEnv{clock: storetest.NewClock(start)}
	e.db = storetest.Open(t, driver, e.clock)
	ctx := context.Background()
	e.target = &apicron.Target{Name: "billing", URL: "https://billing.example/hook", Method: "POST",
		Headers: map[string]string{"Authorization": "Bearer s3cret-value", "X-Team": "payments"}}
	if err := e.db.CreateTarget(ctx, e.target); err != nil {
		t.Fatal(err)
	}
	e.sched = &apicron.Schedule{Name: "nightly-invoices", TargetID: e.target.ID, Type: apicron.Interval, IntervalSeconds: 1, Timezone: "Europe/Paris"}
	if err := e.db.CreateSchedule(ctx, e.sched); err != nil {
		t.Fatal(err)
	}
	health := func(context.Context) (apicron.EngineHealth, error) {
		return apicron.EngineHealth{Role: apicron.RoleSingle, Scheduled: 1, InFlight: 0}, nil
	}
	exec := executor.New(executor.Config{})
	runner := &executing{db: e.db, exec: exec}
	t.Cleanup(runner.wg.Wait)
	ui, err := web.New(web.Config{Store: e.db, Dispatcher: runner, HealthFunc: health, Tokens: full, ReadTokens: read,
		SessionSecret: []byte("test session secret, 32 bytes.."),
		Clock:         e.clock, NodeID: "node-a", Executor: exec, AssertionCheckFunc: executor.CheckAssertions,
		Sender: &notify.Sender{Client: &http.Client{}}, Settings: []web.Setting{{Name: "API_TOKEN", Value: "********", Source: "env"}}})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Store: e.db, Clock: e.clock, Tokens: full, ReadTokens: read, HealthFunc: health,
		UI: ui, SessionFunc: ui.SessionAccess})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(api)
	t.Cleanup(e.srv.Close)
	return e
}

// mustRun claims the schedule's next occurrence, a second on, and records
// it finished with status, as the engine would; it returns the run's id.
func (e *webEnv) mustRun(t *testing.T, status apicron.RunStatus) int64 {
	t.Helper()
	return e.mustRunLatency(t, status, 120)
}

// mustRunLatency is mustRun with a latency of its own, in ms.
func (e *webEnv) mustRunLatency(t *testing.T, status apicron.RunStatus, latency float64) int64 {
	t.Helper()
	ctx := context.Background()
	now := e.clock.Add(time.Second)
	res, err := e.db.Claim(ctx, now, now, []int64{e.sched.ID}, nil)
	if err != nil || len(res) != 1 || res[0].Job == nil {
		t.Fatalf("claim: %v, %+v", err, res)
	}
	job := res[0].Job
	f := func(v float64) *float64 { return &v }
	code := 200
	if status != apicron.Success {
		code = 503
	}
	out := apicron.Outcome{Status: status, LatencyMs: f(latency), StatusCode: &code,
		Timings: apicron.Timings{DNSMs: f(5), ConnectMs: f(10), TLSMs: f(20), FirstByteMs: f(latency * 2 / 3)}}
	switch status {
	case apicron.Success:
	case apicron.Timeout:
		out.StatusCode, out.ErrorType, out.ErrorMessage = nil, apicron.ErrTimeout, "no answer within 10s"
	default:
		out.ErrorType, out.ErrorMessage = apicron.ErrHTTP5xx, "HTTP 503"
	}
	started := now.Add(40 * time.Millisecond)
	err = e.db.Finish(ctx, []apicron.RunResult{{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: started,
		FinishedAt: started.Add(time.Duration(latency * float64(time.Millisecond))), Outcome: out,
		Request: apicron.RequestInfo{Method: "POST", URL: "https://billing.example/hook",
			Headers: map[string]string{"Authorization": apicron.MaskedValue, "X-Team": "payments"}},
		ResponseBody:    `{"ok": true}`,
		ResponseHeaders: map[string]string{"Content-Type": "application/json"},
		Attempts:        []apicron.Attempt{{Number: 1, StartedAt: started, FinishedAt: started, Outcome: out}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return job.RunID
}

// text returns the text of the first element matching the CSS selector.
func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// do runs steps, failing the test with what it was doing.
func do(ctx context.Context, t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (a promise is awaited).
func eval[T any](ctx context.Context, t *testing.T, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// screenshot writes the page into docs/ when APICRON_SCREENSHOTS=1.
func screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	if os.Getenv(screenshotsEnv) != "1" {
		return
	}
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The overview shows the counts from the counters, the chart drawn by
// uPlot, the failing schedule and the latest failure; a run's page shows
// its timing waterfall and what it sent.
func TestBrowser_OverviewAndRun(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	e := newWebEnv(t, "sqlite", nil, nil)
	e.mustRun(t, apicron.Success)
	e.mustRun(t, apicron.Success)
	failed := e.mustRun(t, apicron.Failed)

	do(ctx, t, "open the overview", chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#runs-chart[data-drawn="true"] canvas`)))
	for sel, want := range map[string]string{"#n-targets": "1", "#n-schedules": "1", "#n-ACTIVE": "1", "#n-PAUSED": "0",
		"#n-last-hour": "3", "#n-total-runs": "3", "#success-rate": "66.7%", "#engine-role": "single"} {
		if got := text(ctx, t, sel); got != want {
			t.Errorf("overview %s = %q, want %q", sel, got, want)
		}
	}
	if got := text(ctx, t, "#failing"); !strings.Contains(got, "nightly-invoices") {
		t.Errorf("schedules failing now = %q, want nightly-invoices", got)
	}
	// The charts by outcome, latency and lateness, over an hour and a day.
	do(ctx, t, "the latency and lateness charts",
		chromedp.WaitVisible(chromedp.CSS(`#latency-chart[data-drawn="true"] canvas`)),
		chromedp.WaitVisible(chromedp.CSS(`#lateness-chart[data-drawn="true"] canvas`)))
	if got := text(ctx, t, "#chart-caption"); !strings.Contains(got, "the last hour") || !strings.Contains(got, "3 in all") {
		t.Errorf("chart caption %q, want the last hour, 3 in all", got)
	}
	if got := text(ctx, t, "#runs-chart"); !strings.Contains(got, "succeeded") || !strings.Contains(got, "failed") {
		t.Errorf("runs chart legend %q, want succeeded and failed", got)
	}
	do(ctx, t, "the last 24 hours", chromedp.Navigate(e.srv.URL+"/?range=24h"),
		chromedp.WaitVisible(chromedp.CSS(`#runs-chart[data-drawn="true"] canvas`)))
	if got := text(ctx, t, "#chart-caption"); !strings.Contains(got, "24 hours") || !strings.Contains(got, "3 in all") {
		t.Errorf("24-hour chart caption %q", got)
	}
	do(ctx, t, "back to the overview", chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#runs-chart[data-drawn="true"] canvas`)))
	if got := text(ctx, t, "#failures"); !strings.Contains(got, fmt.Sprintf("#%d", failed)) || !strings.Contains(got, "http_5xx") {
		t.Errorf("latest failures = %q, want run %d, http_5xx", got, failed)
	}

	do(ctx, t, "open the failed run", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#failures a[href="/ui/runs/%d"]`, failed))),
		chromedp.WaitVisible(chromedp.CSS("#timings")))
	timings := text(ctx, t, "#timings")
	for _, want := range []string{"DNS", "Connect", "TLS", "First byte", "Transfer", "5.0 ms", "35.0 ms", "45.0 ms"} {
		if !strings.Contains(timings, want) {
			t.Errorf("timings = %q, want %q in it", timings, want)
		}
	}
	if got := text(ctx, t, "#total"); got != "120 ms" {
		t.Errorf("total = %q, want 120 ms", got)
	}
	if got := text(ctx, t, "#request"); got != "POST https://billing.example/hook" {
		t.Errorf("request = %q", got)
	}
	if got := text(ctx, t, "#request-headers"); !strings.Contains(got, "Authorization\t********") || !strings.Contains(got, "X-Team\tpayments") ||
		strings.Contains(got, "s3cret") {
		t.Errorf("request headers = %q, want Authorization masked and X-Team", got)
	}
	if got := text(ctx, t, "#lateness"); !strings.HasPrefix(got, "40 ms") {
		t.Errorf("lateness = %q, want 40 ms", got)
	}
	if n := eval[int](ctx, t, `document.querySelectorAll("svg.waterfall rect").length`); n != 5 {
		t.Errorf("waterfall bars = %d, want 5", n)
	}

	// The targets list masks the secret header as the API does.
	do(ctx, t, "open the targets", chromedp.Navigate(e.srv.URL+"/ui/targets"), chromedp.WaitVisible(chromedp.CSS("#targets")))
	if got := text(ctx, t, "#targets"); !strings.Contains(got, "Authorization: ********") || strings.Contains(got, "s3cret") ||
		!strings.Contains(got, "X-Team: payments") {
		t.Errorf("targets = %q, want the Authorization value masked", got)
	}
}

// A run recorded while the runs page is open appears on it without a reload.
func TestBrowser_RunsArrive(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	e := newWebEnv(t, "sqlite", nil, nil)
	first := e.mustRun(t, apicron.Success)
	do(ctx, t, "open the runs", chromedp.Navigate(e.srv.URL+"/ui/runs"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-run="%d"]`, first))))
	eval[bool](ctx, t, `window.notReloaded = true`)
	next := e.mustRun(t, apicron.Failed)
	start := time.Now()
	do(ctx, t, "wait for the new run", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-run="%d"]`, next))))
	t.Logf("the new run appeared after %v", time.Since(start).Round(time.Millisecond))
	if !eval[bool](ctx, t, `window.notReloaded === true`) {
		t.Error("the page was reloaded")
	}
	if got := text(ctx, t, "#run-rows tr"); !strings.Contains(got, "FAILED") {
		t.Errorf("newest row = %q, want the FAILED run", got)
	}
	// Paged by cursor: with more runs than a page, "Older runs" leads to
	// the next ones, the filters kept.
	for range 50 {
		e.mustRun(t, apicron.Success)
	}
	do(ctx, t, "the first page, SUCCESS only", chromedp.Navigate(e.srv.URL+"/ui/runs?status=SUCCESS"),
		chromedp.WaitVisible(chromedp.CSS(`a[rel="next"]`)))
	do(ctx, t, "older runs", chromedp.Click(chromedp.CSS(`a[rel="next"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-run="%d"]`, first))))
	if loc := eval[string](ctx, t, `location.search`); !strings.Contains(loc, "status=SUCCESS") || !strings.Contains(loc, "before=") {
		t.Errorf("the next page's query %q, want the filter and a cursor", loc)
	}
	if n := eval[int](ctx, t, `document.querySelectorAll("#run-rows tr").length`); n != 1 {
		t.Errorf("the second page has %d rows, want the one oldest SUCCESS run", n)
	}
}

// Pause then resume from the schedule's page: the status shown follows,
// and the store agrees.
func TestBrowser_PauseResume(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	e := newWebEnv(t, "sqlite", nil, nil)
	page := fmt.Sprintf("%s/ui/schedules/%d", e.srv.URL, e.sched.ID)
	do(ctx, t, "open the schedule", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#pause")))
	if got := text(ctx, t, "#schedule-status"); got != "ACTIVE" {
		t.Fatalf("status = %q, want ACTIVE", got)
	}
	if got := text(ctx, t, "#upcoming"); !strings.Contains(got, "CET") && !strings.Contains(got, "CEST") {
		t.Errorf("next occurrences = %q, want them in Europe/Paris", got)
	}
	do(ctx, t, "pause", chromedp.SendKeys(chromedp.CSS("#reason"), "maintenance"), chromedp.Click(chromedp.CSS("#pause")),
		chromedp.WaitVisible(chromedp.CSS("#resume")))
	if got, reason := text(ctx, t, "#schedule-status"), text(ctx, t, "#pause-reason"); got != "PAUSED" || reason != "maintenance" {
		t.Errorf("after pause: status %q, reason %q", got, reason)
	}
	if s, err := e.db.FindScheduleByID(context.Background(), e.sched.ID); err != nil || s.Status != apicron.Paused {
		t.Errorf("store after pause: %v, %v", s.Status, err)
	}
	do(ctx, t, "resume", chromedp.Click(chromedp.CSS("#resume")), chromedp.WaitVisible(chromedp.CSS("#pause")))
	if got := text(ctx, t, "#schedule-status"); got != "ACTIVE" {
		t.Errorf("after resume: status %q, want ACTIVE", got)
	}
	// Its history says who paused and resumed it; with runs, the page has
	// their outcomes, a chart of their latency and lateness, and the ledger.
	if got := text(ctx, t, "#events"); !strings.Contains(got, "paused") || !strings.Contains(got, "resumed") ||
		!strings.Contains(got, "maintenance") {
		t.Errorf("history = %q, want the pause (with its reason) and the resume", got)
	}
	e.mustRun(t, apicron.Success)
	e.mustRun(t, apicron.Failed)
	do(ctx, t, "reopen the schedule", chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`#schedule-chart[data-drawn="true"] canvas`)))
	if bar := eval[int](ctx, t, `document.querySelectorAll("#outcome-bar span").length`); bar != 2 {
		t.Errorf("outcome bar has %d runs, want 2", bar)
	}
	if got := text(ctx, t, "#ledger"); !strings.Contains(got, "ran") || !strings.Contains(got, "SUCCESS") {
		t.Errorf("ledger = %q, want the occurrence that ran", got)
	}
}

// With tokens: the dashboard asks for one, refuses a wrong one, and a
// read-only one sees no write buttons and is refused a forged post, by the
// dashboard and by the API; the session opens /docs.
func TestBrowser_Login(t *testing.T) {
	t.Parallel()
	e := newWebEnv(t, "sqlite", []string{"full-token-1"}, []string{"read-token-1"})
	login := func(ctx context.Context, t *testing.T, token string) {
		t.Helper()
		do(ctx, t, "open the login page", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Submit(chromedp.CSS("#token")))
	}

	t.Run("full", func(t *testing.T) {
		t.Parallel()
		ctx := newTab(t)
		login(ctx, t, "wrong-token")
		do(ctx, t, "refused", chromedp.WaitVisible(chromedp.CSS("#login-error")))
		if got := text(ctx, t, "#login-error"); got != "That token is not valid." {
			t.Errorf("login error = %q", got)
		}
		login(ctx, t, "full-token-1")
		do(ctx, t, "logged in", chromedp.WaitVisible(chromedp.CSS("#n-targets")))
		if got := text(ctx, t, "#access"); got != "full access" {
			t.Errorf("access = %q", got)
		}
		if c := eval[string](ctx, t, `document.cookie`); c != "" {
			t.Errorf("document.cookie = %q: the session cookie must be HttpOnly", c)
		}
		do(ctx, t, "open the schedule", chromedp.Navigate(fmt.Sprintf("%s/ui/schedules/%d", e.srv.URL, e.sched.ID)),
			chromedp.WaitVisible(chromedp.CSS("#pause")))
		title := ""
		do(ctx, t, "open /docs with the session", chromedp.Navigate(e.srv.URL+"/docs"), chromedp.WaitReady(chromedp.CSS("elements-api")))
		title, _ = chromedp.Run(ctx, chromedp.Title())
		if !strings.Contains(title, "API reference") {
			t.Errorf("/docs title = %q", title)
		}
		do(ctx, t, "log out", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".logout button")),
			chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS("#token")))
	})

	t.Run("read-only", func(t *testing.T) {
		t.Parallel()
		ctx := newTab(t)
		login(ctx, t, "read-token-1")
		do(ctx, t, "logged in", chromedp.WaitVisible(chromedp.CSS("#n-targets")),
			chromedp.Navigate(fmt.Sprintf("%s/ui/schedules/%d", e.srv.URL, e.sched.ID)), chromedp.WaitVisible(chromedp.CSS("#schedule-status")))
		if got := text(ctx, t, "#access"); got != "read-only" {
			t.Errorf("access = %q", got)
		}
		if n := eval[int](ctx, t, `document.querySelectorAll("#actions, button#pause, button#resume, button#run-now").length`); n != 0 {
			t.Errorf("a read-only session sees %d write buttons", n)
		}
		forged := fmt.Sprintf(`fetch("/ui/schedules/%d/pause", {method: "POST", body: new URLSearchParams({reason: "x"})}).then(r => r.status)`, e.sched.ID)
		if got := eval[int](ctx, t, forged); got != 403 {
			t.Errorf("forged pause by the dashboard = %d, want 403", got)
		}
		if got := eval[int](ctx, t, fmt.Sprintf(`fetch("/schedules/%d/pause", {method: "POST"}).then(r => r.status)`, e.sched.ID)); got != 403 {
			t.Errorf("forged pause by the API = %d, want 403", got)
		}
		for _, page := range []string{"/ui/schedules", fmt.Sprintf("/ui/targets/%d", e.target.ID), "/ui/notifiers", "/ui/targets"} {
			do(ctx, t, "open "+page, chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.CSS("main h1")))
			if n := eval[int](ctx, t, `document.querySelectorAll("main form[method=post], #new-target, #new-schedule, #new-notifier, #test").length`); n != 0 {
				t.Errorf("%s: a read-only session sees %d write forms or buttons", page, n)
			}
		}
		do(ctx, t, "open the settings", chromedp.Navigate(e.srv.URL+"/ui/settings"), chromedp.WaitVisible(chromedp.CSS("#settings")))
		if got := text(ctx, t, `#settings tr[data-setting="API_TOKEN"]`); !strings.Contains(got, "********") {
			t.Errorf("settings API_TOKEN = %q", got)
		}
		forgedTarget := `fetch("/ui/targets", {method: "POST", body: new URLSearchParams({name: "x", url: "https://x.example/", method: "GET"})}).then(r => r.status)`
		if got := eval[int](ctx, t, forgedTarget); got != 403 {
			t.Errorf("forged target create = %d, want 403", got)
		}
		if _, n, _ := e.db.FindTargets(context.Background(), apicron.Page{Limit: 10}); n != 1 {
			t.Errorf("%d targets after the forged post, want 1", n)
		}
		if got := eval[int](ctx, t, `fetch("/targets").then(r => r.status)`); got != 200 {
			t.Errorf("GET /targets with the session = %d, want 200", got)
		}
		if s, err := e.db.FindScheduleByID(context.Background(), e.sched.ID); err != nil || s.Status != apicron.Active {
			t.Errorf("store: %v, %v; want ACTIVE", s.Status, err)
		}
	})
}

// TestBrowser_Screenshots makes the screenshots in docs/ of an hour of
// runs, when APICRON_SCREENSHOTS=1.
func TestBrowser_Screenshots(t *testing.T) {
	if os.Getenv(screenshotsEnv) != "1" {
		t.Skip("screenshots: set " + screenshotsEnv + "=1 to write them into docs/")
	}
	ctx := newTab(t)
	e := newWebEnvAt(t, "sqlite", time.Now().UTC().Add(-time.Hour).Truncate(time.Minute), nil, nil)
	var failed int64
	for m := range 60 {
		for i := range 2 + (m*7)%5 {
			status := apicron.Success
			if (m+i)%11 == 0 {
				status = apicron.Timeout
			}
			id := e.mustRunLatency(t, status, float64(60+(m*37+i*53)%240))
			if status != apicron.Success {
				failed = id
			}
		}
		e.clock.Set(e.clock.Now().Truncate(time.Minute).Add(time.Minute))
	}
	do(ctx, t, "open the overview", chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#runs-chart[data-drawn="true"] canvas`)))
	screenshot(ctx, t, "dashboard-overview.png")
	do(ctx, t, "open a run", chromedp.Navigate(fmt.Sprintf("%s/ui/runs/%d", e.srv.URL, failed)), chromedp.WaitVisible(chromedp.CSS("#timings")))
	screenshot(ctx, t, "dashboard-run.png")
}

// setValue replaces the value of the field sel as a person typing would,
// firing input and change.
func setValue(ctx context.Context, t *testing.T, sel, v string) {
	t.Helper()
	do(ctx, t, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	eval[bool](ctx, t, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true})); return el.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, v))
}

// waitText waits until the text of sel contains want.
func waitText(ctx context.Context, t *testing.T, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := eval[string](ctx, t, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q in it", sel, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Create a target from the form, test it against a loopback server (the
// result and its timing shown), see a validation error beside its field,
// and edit it keeping its masked secret header.
func TestBrowser_TargetFormAndTest(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	e := newWebEnv(t, "sqlite", nil, nil)
	var gotKey string
	var mu sync.Mutex
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotKey = r.Header.Get("X-Api-Key")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"pong": true}`)
	}))
	t.Cleanup(echo.Close)

	do(ctx, t, "open the new target form", chromedp.Navigate(e.srv.URL+"/ui/targets"), chromedp.Click(chromedp.CSS("#new-target")),
		chromedp.WaitVisible(chromedp.CSS("#target-form")))
	setValue(ctx, t, "#name", "echo")
	setValue(ctx, t, "#url", "ftp://not-http")
	setValue(ctx, t, "#hn0", "X-Api-Key")
	setValue(ctx, t, "#hv0", "k3y-original")
	do(ctx, t, "mark it secret and save", chromedp.Click(chromedp.CSS("#hs0")), chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#err-url")))
	if got := text(ctx, t, "#err-url"); !strings.Contains(got, "http") {
		t.Errorf("url error = %q", got)
	}
	if v := eval[string](ctx, t, `document.querySelector("#url").value`); v != "ftp://not-http" {
		t.Errorf("the URL typed is lost: %q", v)
	}
	if v := eval[string](ctx, t, `document.querySelector("#hv0").value`); v == "k3y-original" {
		t.Error("the secret typed is echoed back in clear")
	}
	setValue(ctx, t, "#url", echo.URL+"/ping")
	setValue(ctx, t, "#hv0", "k3y-original")
	do(ctx, t, "save", chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#saved")))

	do(ctx, t, "test it", chromedp.Click(chromedp.CSS("#test")), chromedp.WaitVisible(chromedp.CSS("#test-outcome #timings")))
	if got := text(ctx, t, "#test-outcome"); !strings.Contains(got, "SUCCESS") || !strings.Contains(got, "HTTP 200") || !strings.Contains(got, `{"pong": true}`) {
		t.Errorf("test result = %q", got)
	}
	mu.Lock()
	if gotKey != "k3y-original" {
		t.Errorf("the test sent X-Api-Key %q", gotKey)
	}
	mu.Unlock()

	// Edit: the secret shows masked and stays when the mask is sent back.
	if v := eval[string](ctx, t, `document.querySelector("#hv0").value`); v != apicron.MaskedValue {
		t.Errorf("the secret header shows %q, want the mask", v)
	}
	setValue(ctx, t, "#name", "echo-renamed")
	eval[bool](ctx, t, `document.querySelector("#saved").remove() === undefined`) // this page's; wait for the next one's
	do(ctx, t, "save the edit", chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#saved")))
	list, _, err := e.db.FindTargets(context.Background(), apicron.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	tg := list[len(list)-1]
	if tg.Name != "echo-renamed" || tg.Headers["X-Api-Key"] != "k3y-original" {
		t.Errorf("stored: %q, %v; want the original secret kept", tg.Name, tg.Headers)
	}
}

// Create a CRON schedule in a zone: the preview follows the expression as
// it is typed, on the zone's wall clock; then pause with a reason, resume,
// and run now, the run arriving on the schedule's page.
func TestBrowser_ScheduleFormPreviewAndActions(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	e := newWebEnvAt(t, "sqlite", time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), nil, nil)
	do(ctx, t, "open the new schedule form", chromedp.Navigate(e.srv.URL+"/ui/schedules"), chromedp.Click(chromedp.CSS("#new-schedule")),
		chromedp.WaitVisible(chromedp.CSS("#schedule-form")))
	setValue(ctx, t, "#name", "ny-morning")
	setValue(ctx, t, "#timezone", "America/New_York")
	setValue(ctx, t, "#cron_expression", "0 9 * * *")
	// 2026-03-08 is the spring-forward day in New York: EST, then EDT.
	got := waitText(ctx, t, "#preview-times", "2026-03-07 09:00:00 EST")
	for _, want := range []string{"2026-03-07 14:00:00Z", "2026-03-08 09:00:00 EDT", "2026-03-08 13:00:00Z"} {
		if !strings.Contains(got, want) {
			t.Errorf("preview = %q, want %q", got, want)
		}
	}
	setValue(ctx, t, "#cron_expression", "30 17 * * 1")
	got = waitText(ctx, t, "#preview-times", "2026-03-09 17:30:00 EDT")
	if strings.Contains(got, "09:00:00") {
		t.Errorf("the preview kept the old expression: %q", got)
	}
	setValue(ctx, t, "#cron_expression", "61 * * * *")
	waitText(ctx, t, "#preview-error", "cron_expression")
	setValue(ctx, t, "#cron_expression", "30 17 * * 1")
	waitText(ctx, t, "#preview-times", "17:30:00 EDT")
	screenshot(ctx, t, "dashboard-schedule-form.png")
	do(ctx, t, "create", chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#schedule-status")))
	if got := text(ctx, t, "#next-run"); !strings.Contains(got, "2026-03-09 17:30:00 EDT") {
		t.Errorf("next run = %q", got)
	}

	do(ctx, t, "pause", chromedp.SendKeys(chromedp.CSS("#reason"), "vendor outage"), chromedp.Click(chromedp.CSS("#pause")),
		chromedp.WaitVisible(chromedp.CSS("#resume")))
	if got := text(ctx, t, "#pause-reason"); got != "vendor outage" {
		t.Errorf("pause reason = %q", got)
	}
	do(ctx, t, "resume", chromedp.Click(chromedp.CSS("#resume")), chromedp.WaitVisible(chromedp.CSS("#pause")))
	if got := text(ctx, t, "#schedule-status"); got != "ACTIVE" {
		t.Errorf("after resume: %q", got)
	}
	do(ctx, t, "run now", chromedp.Click(chromedp.CSS("#run-now")), chromedp.WaitVisible(chromedp.CSS("#lateness")))
	runURL := eval[string](ctx, t, `location.pathname`)
	do(ctx, t, "back to the schedule", chromedp.Navigate(e.srv.URL+"/ui/schedules"), chromedp.Click(chromedp.CSS(`#schedules a[href^="/ui/schedules/"]:not([href$="/1"])`)),
		chromedp.WaitVisible(chromedp.CSS("#sruns-h")))
	if n := eval[int](ctx, t, fmt.Sprintf(`document.querySelectorAll('a[href=%q]').length`, runURL)); n != 1 {
		t.Errorf("the run %s is not among the schedule's runs", runURL)
	}
}

// Create a webhook notifier and test it against a loopback receiver.
func TestBrowser_NotifierTest(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	e := newWebEnv(t, "sqlite", nil, nil)
	got := make(chan string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- string(b):
		default:
		}
	}))
	t.Cleanup(recv.Close)
	do(ctx, t, "open the new notifier form", chromedp.Navigate(e.srv.URL+"/ui/notifiers"), chromedp.Click(chromedp.CSS("#new-notifier")),
		chromedp.WaitVisible(chromedp.CSS("#notifier-form")))
	setValue(ctx, t, "#name", "ops-hook")
	setValue(ctx, t, "#url", recv.URL+"/alerts")
	do(ctx, t, "create", chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#notifiers")),
		chromedp.Click(chromedp.CSS(`#notifiers a`)), chromedp.WaitVisible(chromedp.CSS("#test")),
		chromedp.Click(chromedp.CSS("#test")), chromedp.WaitVisible(chromedp.CSS("#notifier-test-result")))
	if res := text(ctx, t, "#notifier-test-result"); !strings.Contains(res, "delivered") || strings.Contains(res, "not delivered") {
		t.Errorf("test = %q", res)
	}
	select {
	case b := <-got:
		if !strings.Contains(b, "test alert") {
			t.Errorf("the receiver got %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Error("the receiver got nothing")
	}
}
