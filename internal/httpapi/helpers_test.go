package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// testStart is where every test's clock starts; the store and the API share the clock.
var testStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// recordingNotifier remembers every schedule id it was told about.
type recordingNotifier struct {
	mu  sync.Mutex
	ids []int64
}

func (n *recordingNotifier) Changed(id int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ids = append(n.ids, id)
}

func (n *recordingNotifier) take() []int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := n.ids
	n.ids = nil
	return ids
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is a real server over a real store, on one of storetest.Drivers.
type testEnv struct {
	db       *store.DB
	clock    *storetest.Clock
	notifier *recordingNotifier
	logs     *syncBuffer
	srv      *httptest.Server
}

func newTestEnv(t *testing.T, driver string, mod ...func(*httpapi.Config)) *testEnv {
	t.Helper()
	e := &testEnv{clock: storetest.NewClock(testStart), notifier: &recordingNotifier{}, logs: &syncBuffer{}}
	e.db = storetest.Open(t, driver, e.clock)
	cfg := httpapi.Config{
		Store:    e.db,
		Notifier: e.notifier,
		Logger:   slog.New(slog.NewTextHandler(e.logs, nil)),
		Clock:    e.clock,
		Title:    "apicron",
		Version:  "9.9.9",
		NodeID:   "node-a",
	}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := httpapi.New(cfg)
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// withTitle sets the API's title (APP_TITLE).
func withTitle(title string) func(*httpapi.Config) {
	return func(c *httpapi.Config) { c.Title = title }
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.status, r.body)
}

// do sends a request. A string body is sent as it is (JSON text); anything
// else is marshalled.
func (e *testEnv) do(t *testing.T, method, path string, body any) *response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// expect sends a request, checks the status and decodes the body into out (if not nil).
func (e *testEnv) expect(t *testing.T, method, path string, body any, status int, out any) *response {
	t.Helper()
	r := e.do(t, method, path, body)
	if r.status != status {
		t.Fatalf("%s %s: got %s, want status %d", method, path, r, status)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, r.body, err)
		}
	}
	return r
}

// total reads X-Total-Count of a list.
func (e *testEnv) total(t *testing.T, path string) int {
	t.Helper()
	r := e.expect(t, http.MethodGet, path, nil, http.StatusOK, nil)
	n, err := strconv.Atoi(r.header.Get("X-Total-Count"))
	if err != nil {
		t.Fatalf("GET %s: X-Total-Count %q: %v", path, r.header.Get("X-Total-Count"), err)
	}
	return n
}

// problem is an RFC 9457 error body.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// expectProblem checks an error response: its status, its content type and,
// when loc is not empty, that one of its errors is at loc. It returns the problem.
func (e *testEnv) expectProblem(t *testing.T, method, path string, body any, status int, loc string) problem {
	t.Helper()
	var p problem
	r := e.expect(t, method, path, body, status, &p)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s %s: content type %q, want application/problem+json", method, path, ct)
	}
	if p.Status != status || p.Detail == "" {
		t.Errorf("%s %s: problem %s lacks status or detail", method, path, r.body)
	}
	if loc != "" {
		found := false
		for _, d := range p.Errors {
			if d.Location == loc && d.Message != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s: got %s, want an error at %s", method, path, r.body, loc)
		}
	}
	return p
}

// target and schedule decode the API's resources.
type target struct {
	ID             int64             `json:"id"`
	Name           string            `json:"name"`
	URL            string            `json:"url"`
	Method         string            `json:"method"`
	Headers        map[string]string `json:"headers"`
	BodyTemplate   *string           `json:"body_template"`
	TimeoutSeconds *float64          `json:"timeout_seconds"`
	MaxRetries     *int              `json:"max_retries"`
	// AllowInsecureRedirects is a pointer so that a test sees it is always sent.
	AllowInsecureRedirects *bool  `json:"allow_insecure_redirects"`
	CreatedAt              string `json:"created_at"`
	UpdatedAt              string `json:"updated_at"`
}

type schedule struct {
	ID               int64    `json:"id"`
	JobID            string   `json:"job_id"`
	Name             string   `json:"name"`
	TargetID         int64    `json:"target_id"`
	ScheduleType     string   `json:"schedule_type"`
	IntervalSeconds  int      `json:"interval_seconds"`
	DurationSeconds  *int     `json:"duration_seconds"`
	CronExpression   *string  `json:"cron_expression"`
	Timezone         string   `json:"timezone"`
	Status           string   `json:"status"`
	StoppedReason    *string  `json:"stopped_reason"`
	NextRunAt        *string  `json:"next_run_at"`
	EndsAt           *string  `json:"ends_at"`
	RemainingSeconds *float64 `json:"remaining_seconds"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

// mustCreateTarget creates a target from a JSON body, or a default one when body is "".
func mustCreateTarget(t *testing.T, e *testEnv, body string) target {
	t.Helper()
	if body == "" {
		body = `{"name": "t", "url": "https://example.com/ping"}`
	}
	var tg target
	e.expect(t, http.MethodPost, "/targets", body, http.StatusCreated, &tg)
	return tg
}

// mustCreateSchedule creates an INTERVAL schedule of the given target every interval seconds.
func mustCreateSchedule(t *testing.T, e *testEnv, targetID int64, interval int) schedule {
	t.Helper()
	var s schedule
	body := fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": %d}`, targetID, interval)
	e.expect(t, http.MethodPost, "/schedules", body, http.StatusCreated, &s)
	return s
}

// mustRun claims the due occurrence of a schedule at the clock's time and
// finishes it with status, as the engine would: it returns the run's id.
func mustRun(t *testing.T, e *testEnv, scheduleID int64, status apicron.RunStatus, code int, latencyMs float64) int64 {
	t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	res, err := e.db.Claim(ctx, now, now, []int64{scheduleID}, nil)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if len(res) != 1 || res[0].Job == nil {
		t.Fatalf("claim of schedule %d at %s fired nothing: %+v", scheduleID, now, res)
	}
	job := res[0].Job
	started := now.Add(25 * time.Millisecond)
	finished := started.Add(time.Duration(latencyMs * float64(time.Millisecond)))
	r := apicron.RunResult{
		RunID:      job.RunID,
		ScheduleID: scheduleID,
		StartedAt:  started,
		FinishedAt: finished,
		Outcome:    apicron.Outcome{Status: status, LatencyMs: &latencyMs, Timings: apicron.Timings{DNSMs: ptr(1.5), ConnectMs: ptr(2.5)}},
		Request:    apicron.RequestInfo{Method: job.Method, URL: job.URL},
	}
	if code != 0 {
		r.StatusCode = &code
		size := int64(2)
		r.ResponseSize = &size
		r.ResponseBody = "{}"
		r.ResponseHeaders = map[string]string{"Content-Type": "application/json"}
	}
	if status != apicron.Success {
		r.ErrorType = apicron.ErrHTTP5xx
		r.ErrorMessage = "server error"
	}
	r.Attempts = []apicron.Attempt{{Number: 1, StartedAt: started, FinishedAt: finished, Outcome: r.Outcome}}
	if err := e.db.Finish(ctx, []apicron.RunResult{r}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	return job.RunID
}

// mustPolicy builds an outbound policy.
func mustPolicy(t *testing.T, allow []string, denyPrivate bool) *executor.Policy {
	t.Helper()
	var prefixes []netip.Prefix
	for _, a := range allow {
		prefixes = append(prefixes, netip.MustParsePrefix(a))
	}
	p, err := executor.NewPolicy(prefixes, nil, denyPrivate)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mustExecute claims a schedule's due occurrence, sends it with exec and
// records the result, as the engine would; it returns the run's id.
func mustExecute(t *testing.T, e *testEnv, exec *executor.Executor, scheduleID int64) int64 {
	t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	res, err := e.db.Claim(ctx, now, now, []int64{scheduleID}, nil)
	if err != nil || len(res) != 1 || res[0].Job == nil {
		t.Fatalf("claim of schedule %d: %+v, %v", scheduleID, res, err)
	}
	result := exec.Execute(ctx, res[0].Job)
	if err := e.db.Finish(ctx, []apicron.RunResult{result}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	return res[0].Job.RunID
}

func ptr[T any](v T) *T { return &v }
