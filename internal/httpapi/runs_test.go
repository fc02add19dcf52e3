package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

type run struct {
	ID           int64    `json:"id"`
	ScheduleID   int64    `json:"schedule_id"`
	TargetID     int64    `json:"target_id"`
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
	LatenessMs   int64    `json:"lateness_ms"`
}

type timings struct {
	DNSMs       *float64 `json:"dns_ms"`
	ConnectMs   *float64 `json:"connect_ms"`
	TLSMs       *float64 `json:"tls_ms"`
	FirstByteMs *float64 `json:"first_byte_ms"`
}

type runDetail struct {
	run
	RequestMethod   *string           `json:"request_method"`
	RequestURL      *string           `json:"request_url"`
	Timings         timings           `json:"timings"`
	ResponseBody    *string           `json:"response_body"`
	ResponseHeaders map[string]string `json:"response_headers"`
	NodeID          *string           `json:"node_id"`
	Attempts        []struct {
		ID            int64    `json:"id"`
		RunID         int64    `json:"run_id"`
		AttemptNumber int      `json:"attempt_number"`
		Status        string   `json:"status"`
		StartedAt     string   `json:"started_at"`
		FinishedAt    string   `json:"finished_at"`
		LatencyMs     *float64 `json:"latency_ms"`
		StatusCode    *int     `json:"status_code"`
		ResponseSize  *int64   `json:"response_size"`
		ErrorType     *string  `json:"error_type"`
		ErrorMessage  *string  `json:"error_message"`
		Timings       timings  `json:"timings"`
	} `json:"attempts"`
}

// runFixture has two targets with one schedule each and four finished runs,
// two at t0 and two at t0+10s.
type runFixture struct {
	e              *testEnv
	ta, tb         target
	sa, sb         schedule
	t0, t1         time.Time
	r1, r2, r3, r4 int64 // sa SUCCESS, sb FAILED at t0; sa SUCCESS, sb TIMEOUT at t1
}

func newRunFixture(t *testing.T, driver string) *runFixture {
	t.Helper()
	f := &runFixture{e: newTestEnv(t, driver)}
	e := f.e
	f.ta = mustCreateTarget(t, e, `{"name": "a", "url": "https://a.example.com/"}`)
	f.tb = mustCreateTarget(t, e, `{"name": "b", "url": "https://b.example.com/", "method": "POST"}`)
	f.sa = mustCreateSchedule(t, e, f.ta.ID, 10)
	f.sb = mustCreateSchedule(t, e, f.tb.ID, 10)
	f.t0 = e.clock.Now()
	f.r1 = mustRun(t, e, f.sa.ID, apicron.Success, 200, 100)
	f.r2 = mustRun(t, e, f.sb.ID, apicron.Failed, 500, 200)
	f.t1 = e.clock.Add(10 * time.Second)
	f.r3 = mustRun(t, e, f.sa.ID, apicron.Success, 200, 300)
	f.r4 = mustRun(t, e, f.sb.ID, apicron.Timeout, 0, 400)
	return f
}

func TestRuns_List(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		f := newRunFixture(t, driver)
		e := f.e
		ids := func(path string) []int64 {
			t.Helper()
			var list []run
			e.expect(t, http.MethodGet, path, nil, http.StatusOK, &list)
			out := []int64{}
			for _, r := range list {
				out = append(out, r.ID)
			}
			return out
		}
		at := func(tm time.Time) string { return url.QueryEscape(tm.Format(time.RFC3339)) }
		cases := []struct {
			path string
			want []int64
		}{
			{"/runs", []int64{f.r4, f.r3, f.r2, f.r1}},
			{fmt.Sprintf("/runs?schedule_id=%d", f.sa.ID), []int64{f.r3, f.r1}},
			{fmt.Sprintf("/runs?target_id=%d", f.tb.ID), []int64{f.r4, f.r2}},
			{"/runs?status_filter=SUCCESS", []int64{f.r3, f.r1}},
			{"/runs?status=FAILED", []int64{f.r2}},
			{"/runs?status=TIMEOUT&status_filter=TIMEOUT", []int64{f.r4}},
			{"/runs?status_filter=RUNNING", []int64{}},
			{fmt.Sprintf("/runs?schedule_id=%d&status_filter=TIMEOUT", f.sb.ID), []int64{f.r4}},
			{fmt.Sprintf("/runs?schedule_id=%d&target_id=%d", f.sa.ID, f.tb.ID), []int64{}},
			{"/runs?since=" + at(f.t1), []int64{f.r4, f.r3}},
			{"/runs?until=" + at(f.t1), []int64{f.r2, f.r1}},
			{"/runs?since=" + at(f.t0) + "&until=" + at(f.t1.Add(time.Second)), []int64{f.r4, f.r3, f.r2, f.r1}},
			{"/runs?since=" + url.QueryEscape(f.t1.In(time.FixedZone("X", 3600)).Format(time.RFC3339Nano)), []int64{f.r4, f.r3}},
			{"/runs?schedule_id=999", []int64{}},
			{"/runs?limit=2", []int64{f.r4, f.r3}},
			{"/runs?limit=2&offset=2", []int64{f.r2, f.r1}},
			{"/runs?offset=3", []int64{f.r1}},
			{"/runs?offset=4", []int64{}},
		}
		for _, c := range cases {
			t.Run(c.path, func(t *testing.T) {
				if got := ids(c.path); fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("got runs %v, want %v", got, c.want)
				}
			})
		}
		if n := e.total(t, "/runs?limit=1"); n != 4 {
			t.Errorf("X-Total-Count with limit=1: %d, want 4", n)
		}
		if n := e.total(t, fmt.Sprintf("/runs?target_id=%d&offset=1", f.tb.ID)); n != 2 {
			t.Errorf("X-Total-Count of a filtered page: %d, want 2", n)
		}

		t.Run("fields", func(t *testing.T) {
			var list []run
			e.expect(t, http.MethodGet, "/runs?status_filter=FAILED", nil, http.StatusOK, &list)
			r := list[0]
			if r.ScheduleID != f.sb.ID || r.TargetID != f.tb.ID || r.Status != "FAILED" || r.StatusCode == nil || *r.StatusCode != 500 {
				t.Errorf("run %+v", r)
			}
			if r.ScheduledAt != "2030-01-02T03:04:05.000Z" || r.StartedAt != "2030-01-02T03:04:05.025Z" || r.LatenessMs != 25 {
				t.Errorf("scheduled_at %s, started_at %s, lateness_ms %d", r.ScheduledAt, r.StartedAt, r.LatenessMs)
			}
			if r.FinishedAt == nil || *r.FinishedAt != "2030-01-02T03:04:05.225Z" || r.LatencyMs == nil || *r.LatencyMs != 200 {
				t.Errorf("finished_at %v, latency_ms %v", r.FinishedAt, r.LatencyMs)
			}
			if r.ErrorType == nil || *r.ErrorType != "http_5xx" || r.ErrorMessage == nil || r.ResponseSize == nil {
				t.Errorf("error_type %v, error_message %v, response_size %v", r.ErrorType, r.ErrorMessage, r.ResponseSize)
			}
		})

		t.Run("bad parameters", func(t *testing.T) {
			for _, c := range []struct{ query, loc string }{
				{"status_filter=OK", "query.status_filter"},
				{"status_filter=success", "query.status_filter"},
				{"status=DONE", "query.status"},
				{"status=SUCCESS&status_filter=FAILED", "query.status"},
				{"schedule_id=abc", "query.schedule_id"},
				{"schedule_id=0", "query.schedule_id"},
				{"target_id=-1", "query.target_id"},
				{"since=yesterday", "query.since"},
				{"until=2030-01-02", "query.until"},
				{"limit=0", "query.limit"},
				{"limit=1001", "query.limit"},
				{"limit=ten", "query.limit"},
				{"offset=-1", "query.offset"},
				{"offset=10001", "query.offset"},
				{"offset=1000000", "query.offset"},
				{"cursor=x", "query.cursor"},
				{"cursor=aWQ6MA", "query.cursor"},       // id:0
				{"cursor=aWQ6LTc", "query.cursor"},      // id:-7
				{"cursor=aWQ6Kzc", "query.cursor"},      // id:+7
				{"cursor=eDo3", "query.cursor"},         // x:7
				{"cursor=aWQ6Nw%3D%3D", "query.cursor"}, // id:7, padded
			} {
				e.expectProblem(t, http.MethodGet, "/runs?"+c.query, nil, 422, c.loc)
			}
			p := e.expectProblem(t, http.MethodGet, "/runs?offset=10001", nil, 422, "query.offset")
			if !strings.Contains(p.Detail, "at most 10000") || !strings.Contains(p.Detail, "cursor") {
				t.Errorf("offset over the bound: %q, want it to say the bound and to page with cursor", p.Detail)
			}
		})

		t.Run("cursor", func(t *testing.T) {
			r := e.expect(t, http.MethodGet, "/runs?limit=1", nil, http.StatusOK, nil)
			cursor := r.header.Get("X-Next-Cursor")
			if cursor == "" {
				t.Fatalf("the first of 4 runs came without X-Next-Cursor")
			}
			var page []run
			e.expect(t, http.MethodGet, "/runs?limit=2&cursor="+cursor, nil, http.StatusOK, &page)
			if len(page) != 2 || page[0].ID != f.r3 || page[1].ID != f.r2 {
				t.Errorf("the page after the cursor: %+v, want runs %d and %d", page, f.r3, f.r2)
			}
			for _, q := range []string{"offset=0", "offset=1"} {
				p := e.expectProblem(t, http.MethodGet, "/runs?cursor="+cursor+"&"+q, nil, 422, "query.cursor")
				if !strings.Contains(p.Detail, "offset") {
					t.Errorf("cursor with %s: %q, want it to name offset", q, p.Detail)
				}
			}
			// The deepest offset the list takes is its count's bound.
			e.expect(t, http.MethodGet, "/runs?offset=10000", nil, http.StatusOK, nil)
		})
	})
}

func TestRuns_Get(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		f := newRunFixture(t, driver)
		e := f.e
		var d runDetail
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", f.r2), nil, http.StatusOK, &d)
		if d.ID != f.r2 || d.Status != "FAILED" || d.LatenessMs != 25 {
			t.Errorf("run %+v", d.run)
		}
		if d.RequestMethod == nil || *d.RequestMethod != "POST" || d.RequestURL == nil || *d.RequestURL != "https://b.example.com/" {
			t.Errorf("request_method %v, request_url %v", d.RequestMethod, d.RequestURL)
		}
		if d.Timings.DNSMs == nil || *d.Timings.DNSMs != 1.5 || d.Timings.ConnectMs == nil || d.Timings.TLSMs != nil || d.Timings.FirstByteMs != nil {
			t.Errorf("timings %+v", d.Timings)
		}
		if d.ResponseBody == nil || *d.ResponseBody != "{}" || d.ResponseHeaders["Content-Type"] != "application/json" {
			t.Errorf("response_body %v, response_headers %v", d.ResponseBody, d.ResponseHeaders)
		}
		if d.NodeID == nil || *d.NodeID != storetest.NodeID {
			t.Errorf("node_id %v", d.NodeID)
		}
		if len(d.Attempts) != 1 {
			t.Fatalf("attempts %+v", d.Attempts)
		}
		a := d.Attempts[0]
		if a.ID != f.r2*apicron.AttemptIDBase+1 || a.RunID != f.r2 || a.AttemptNumber != 1 || a.Status != "FAILED" || a.StartedAt != d.StartedAt || a.FinishedAt != *d.FinishedAt ||
			a.StatusCode == nil || *a.StatusCode != 500 || a.Timings.DNSMs == nil || a.ErrorType == nil {
			t.Errorf("attempt %+v", a)
		}

		t.Run("retried", func(t *testing.T) {
			e.clock.Add(10 * time.Second)
			now := e.clock.Now()
			res, err := e.db.Claim(t.Context(), now, now, []int64{f.sa.ID}, nil)
			if err != nil || res[0].Job == nil {
				t.Fatalf("claim: %v %+v", err, res)
			}
			id := res[0].Job.RunID
			failed := apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrHTTP5xx, ErrorMessage: "server error"}
			ok := apicron.Outcome{Status: apicron.Success}
			result := apicron.RunResult{RunID: id, ScheduleID: f.sa.ID, StartedAt: now, FinishedAt: now.Add(time.Second), Outcome: ok,
				Attempts: []apicron.Attempt{
					{Number: 1, StartedAt: now, FinishedAt: now.Add(100 * time.Millisecond), Outcome: failed},
					{Number: 2, StartedAt: now.Add(500 * time.Millisecond), FinishedAt: now.Add(time.Second), Outcome: ok},
				}}
			if err := e.db.Finish(t.Context(), []apicron.RunResult{result}); err != nil {
				t.Fatal(err)
			}
			var d runDetail
			r := e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", id), nil, http.StatusOK, &d)
			if len(d.Attempts) != 2 {
				t.Fatalf("attempts of a retried run: %s", r.body)
			}
			for i, a := range d.Attempts {
				if n := int64(i + 1); a.AttemptNumber != i+1 || a.RunID != id || a.ID != id*apicron.AttemptIDBase+n {
					t.Errorf("attempt %d: id %d, run_id %d, attempt_number %d; want id %d, run_id %d", i+1, a.ID, a.RunID, a.AttemptNumber, id*apicron.AttemptIDBase+n, id)
				}
			}
		})

		t.Run("without a response", func(t *testing.T) {
			var d runDetail
			r := e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", f.r4), nil, http.StatusOK, &d)
			if d.StatusCode != nil || d.ResponseBody != nil || d.ResponseHeaders == nil || len(d.ResponseHeaders) != 0 {
				t.Errorf("run without a response: %s", r.body)
			}
		})

		t.Run("running", func(t *testing.T) {
			e.clock.Add(10 * time.Second)
			res, err := e.db.Claim(t.Context(), e.clock.Now(), e.clock.Now(), []int64{f.sa.ID}, nil)
			if err != nil || res[0].Job == nil {
				t.Fatalf("claim: %v %+v", err, res)
			}
			var d runDetail
			r := e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", res[0].Job.RunID), nil, http.StatusOK, &d)
			if d.Status != "RUNNING" || d.FinishedAt != nil || d.LatencyMs != nil || d.Attempts == nil || len(d.Attempts) != 0 {
				t.Errorf("running run: %s", r.body)
			}
			if n := e.total(t, "/runs?status=RUNNING"); n != 1 {
				t.Errorf("status=RUNNING counts %d", n)
			}
		})
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		t.Run("empty", func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, driver)
			var m map[string]any
			e.expect(t, http.MethodGet, "/metrics", nil, http.StatusOK, &m)
			for _, k := range []string{"total_targets", "total_schedules", "total_runs", "runs_last_hour", "success_rate", "avg_latency_ms",
				"p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "skipped_overlap", "missed", "running_runs"} {
				if v, ok := m[k]; !ok || v != 0.0 {
					t.Errorf("%s = %v, want 0", k, v)
				}
			}
			byStatus, _ := m["schedules_by_status"].(map[string]any)
			for _, st := range apicron.ScheduleStatuses {
				if byStatus[string(st)] != 0.0 {
					t.Errorf("schedules_by_status[%s] = %v, want 0", st, byStatus[string(st)])
				}
			}
			runsByStatus, _ := m["runs_by_status"].(map[string]any)
			for _, st := range apicron.RunStatuses {
				if runsByStatus[string(st)] != 0.0 {
					t.Errorf("runs_by_status[%s] = %v, want 0", st, runsByStatus[string(st)])
				}
			}
			var list []map[string]any
			r := e.expect(t, http.MethodGet, "/metrics/schedules", nil, http.StatusOK, &list)
			if string(r.body) != "[]\n" || r.header.Get("X-Total-Count") != "0" {
				t.Errorf("schedule metrics of nothing: %q, X-Total-Count %q", r.body, r.header.Get("X-Total-Count"))
			}
		})

		t.Run("with runs", func(t *testing.T) {
			t.Parallel()
			f := newRunFixture(t, driver)
			e := f.e
			e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/pause", f.sb.ID), nil, http.StatusOK, nil)
			var m struct {
				TotalTargets      int64            `json:"total_targets"`
				TotalSchedules    int64            `json:"total_schedules"`
				SchedulesByStatus map[string]int64 `json:"schedules_by_status"`
				TotalRuns         int64            `json:"total_runs"`
				RunsLastHour      int64            `json:"runs_last_hour"`
				SuccessRate       float64          `json:"success_rate"`
				AvgLatencyMs      float64          `json:"avg_latency_ms"`
				P50LatencyMs      float64          `json:"p50_latency_ms"`
				P99LatencyMs      float64          `json:"p99_latency_ms"`
				RunsByStatus      map[string]int64 `json:"runs_by_status"`
			}
			e.expect(t, http.MethodGet, "/metrics", nil, http.StatusOK, &m)
			if m.TotalTargets != 2 || m.TotalSchedules != 2 || m.SchedulesByStatus["ACTIVE"] != 1 || m.SchedulesByStatus["PAUSED"] != 1 {
				t.Errorf("targets and schedules: %+v", m)
			}
			if m.TotalRuns != 4 || m.RunsLastHour != 4 || m.SuccessRate != 50 || m.AvgLatencyMs != 250 {
				t.Errorf("runs: %+v, want 4 runs, success_rate 50 (a percentage), avg_latency_ms 250", m)
			}
			if m.RunsByStatus["SUCCESS"] != 2 || m.RunsByStatus["FAILED"] != 1 || m.RunsByStatus["TIMEOUT"] != 1 || m.RunsByStatus["DNS_ERROR"] != 0 {
				t.Errorf("runs_by_status %v", m.RunsByStatus)
			}
			if m.P50LatencyMs < 190 || m.P50LatencyMs > 210 || m.P99LatencyMs < 380 || m.P99LatencyMs > 420 {
				t.Errorf("p50 %v, p99 %v: want about 200 and 400", m.P50LatencyMs, m.P99LatencyMs)
			}

			var list []struct {
				ScheduleID     int64            `json:"schedule_id"`
				ScheduleName   string           `json:"schedule_name"`
				Status         string           `json:"status"`
				TotalRuns      int64            `json:"total_runs"`
				SuccessfulRuns int64            `json:"successful_runs"`
				FailedRuns     int64            `json:"failed_runs"`
				AvgLatencyMs   float64          `json:"avg_latency_ms"`
				RunsByStatus   map[string]int64 `json:"runs_by_status"`
				LastRunAt      *string          `json:"last_run_at"`
				LastStatus     *string          `json:"last_status"`
				NextRunAt      *string          `json:"next_run_at"`
			}
			r := e.expect(t, http.MethodGet, "/metrics/schedules", nil, http.StatusOK, &list)
			if len(list) != 2 || r.header.Get("X-Total-Count") != "2" {
				t.Fatalf("schedule metrics %s", r.body)
			}
			a, b := list[0], list[1]
			if a.ScheduleID != f.sa.ID || a.ScheduleName != "s" || a.Status != "ACTIVE" || a.TotalRuns != 2 || a.SuccessfulRuns != 2 ||
				a.FailedRuns != 0 || a.AvgLatencyMs != 200 || a.NextRunAt == nil || a.LastStatus == nil || *a.LastStatus != "SUCCESS" || a.LastRunAt == nil {
				t.Errorf("metrics of schedule a: %+v", a)
			}
			if b.ScheduleID != f.sb.ID || b.Status != "PAUSED" || b.TotalRuns != 2 || b.FailedRuns != 2 || b.NextRunAt != nil ||
				b.RunsByStatus["FAILED"] != 1 || b.RunsByStatus["TIMEOUT"] != 1 || b.RunsByStatus["RUNNING"] != 0 || len(b.RunsByStatus) != len(apicron.RunStatuses) {
				t.Errorf("metrics of schedule b: %+v", b)
			}
			var page []map[string]any
			r = e.expect(t, http.MethodGet, "/metrics/schedules?limit=1&offset=1", nil, http.StatusOK, &page)
			if len(page) != 1 || page[0]["schedule_id"] != float64(f.sb.ID) || r.header.Get("X-Total-Count") != "2" {
				t.Errorf("second page: %s", r.body)
			}
			e.expectProblem(t, http.MethodGet, "/metrics/schedules?limit=1001", nil, 422, "query.limit")
		})
	})
}

// nextLink returns the path and query of a list's Link rel="next", checking
// that it carries the cursor of X-Next-Cursor; "" on the last page, which
// must have neither.
func nextLink(t *testing.T, r *response) string {
	t.Helper()
	link, cursor := r.header.Get("Link"), r.header.Get("X-Next-Cursor")
	if link == "" || cursor == "" {
		if link != "" || cursor != "" {
			t.Fatalf("Link %q with X-Next-Cursor %q: want both or neither", link, cursor)
		}
		return ""
	}
	target, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	if !ok || !strings.HasPrefix(link, "</runs?") {
		t.Fatalf(`Link %q: want </runs?...>; rel="next"`, link)
	}
	u, err := url.Parse(target)
	if err != nil || u.Query().Get("cursor") != cursor || u.Query().Has("offset") {
		t.Fatalf("Link %q: want the cursor %q and no offset (%v)", link, cursor, err)
	}
	return target
}

// Paging by cursor, following each page's Link, lists every run the filter
// selected when paging began exactly once, newest first, although runs are
// recorded between the pages: an offset would shift by as many and show
// runs twice. Each page but the last is full.
func TestRuns_Cursor(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		ta := mustCreateTarget(t, e, `{"name": "a", "url": "https://a.example.com/"}`)
		tb := mustCreateTarget(t, e, `{"name": "b", "url": "https://b.example.com/"}`)
		schedules := []schedule{mustCreateSchedule(t, e, ta.ID, 10), mustCreateSchedule(t, e, ta.ID, 10), mustCreateSchedule(t, e, tb.ID, 10)}
		statuses := []apicron.RunStatus{apicron.Success, apicron.Failed, apicron.Success, apicron.Timeout, apicron.Success}
		n := 0
		record := func() { // one run of each schedule, 10 s after the last
			e.clock.Add(10 * time.Second)
			for _, s := range schedules {
				mustRun(t, e, s.ID, statuses[n%len(statuses)], 200, 10)
				n++
			}
		}
		for range 8 {
			record()
		}
		at := func(step int) string {
			return url.QueryEscape(testStart.Add(time.Duration(step) * 10 * time.Second).Format(time.RFC3339))
		}
		for _, filter := range []string{
			"",
			fmt.Sprintf("schedule_id=%d", schedules[1].ID),
			fmt.Sprintf("target_id=%d", ta.ID),
			"status=SUCCESS",
			"status_filter=FAILED",
			"since=" + at(3),
			"until=" + at(6),
			"since=" + at(2) + "&until=" + at(7),
			fmt.Sprintf("schedule_id=%d&status=SUCCESS&since=%s", schedules[0].ID, at(2)),
		} {
			t.Run(filter, func(t *testing.T) {
				var want []run
				e.expect(t, http.MethodGet, "/runs?limit=1000&"+filter, nil, http.StatusOK, &want)
				if len(want) < 3 {
					t.Fatalf("the filter selects %d runs: too few to page", len(want))
				}
				const limit = 2
				var got []int64
				path := fmt.Sprintf("/runs?limit=%d&%s", limit, filter)
				for pages := 0; path != ""; pages++ {
					if pages > len(want) {
						t.Fatalf("more pages than runs: %v", got)
					}
					var page []run
					r := e.expect(t, http.MethodGet, path, nil, http.StatusOK, &page)
					path = nextLink(t, r)
					if len(page) > limit || (path != "" && len(page) != limit) {
						t.Fatalf("GET %s: %d runs, limit %d (next %q)", r.header.Get("Link"), len(page), limit, path)
					}
					for _, x := range page {
						got = append(got, x.ID)
					}
					record() // newer runs, which the pages to come must not show
				}
				var wantIDs []int64
				for _, x := range want {
					wantIDs = append(wantIDs, x.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(wantIDs) {
					t.Errorf("paged by cursor: %v\nwant:            %v", got, wantIDs)
				}
			})
		}
	})
}

// The OpenAPI document states the bound GET /runs holds offset and its
// count to, which its tags spell out (a tag cannot name the constant).
func TestRuns_DocumentsOffsetBound(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "sqlite")
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			} `json:"parameters"`
			Responses map[string]struct {
				Headers map[string]struct {
					Schema struct {
						Description string `json:"description"`
					} `json:"schema"`
				} `json:"headers"`
			} `json:"responses"`
		} `json:"paths"`
	}
	e.expect(t, http.MethodGet, "/openapi.json", nil, http.StatusOK, &doc)
	op := doc.Paths["/runs"]["get"]
	bound := strconv.Itoa(apicron.MaxRunOffset)
	texts := map[string]string{}
	for _, p := range op.Parameters {
		texts["parameter "+p.Name] = p.Description
	}
	for name, h := range op.Responses["200"].Headers {
		texts["header "+name] = h.Schema.Description
	}
	for _, what := range []string{"parameter cursor", "header X-Total-Count", "header X-Total-Count-Capped"} {
		if !strings.Contains(texts[what], bound) {
			t.Errorf("%s: %q does not state the bound %s", what, texts[what], bound)
		}
	}
	for _, what := range []string{"header X-Next-Cursor", "header Link"} {
		if texts[what] == "" {
			t.Errorf("%s is not documented", what)
		}
	}
}

// GET /runs?trigger= selects the runs one kind of start made.
func TestRuns_TriggerFilter(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		s := mustCreateSchedule(t, e, tg.ID, 60)
		scheduled := mustRun(t, e, s.ID, apicron.Success, 200, 5)
		job, err := e.db.TriggerRun(context.Background(), s.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		at := e.clock.Now()
		code := 200
		if err := e.db.Finish(context.Background(), []apicron.RunResult{{RunID: job.RunID, ScheduleID: s.ID, StartedAt: at, FinishedAt: at,
			Outcome: apicron.Outcome{Status: apicron.Success, StatusCode: &code}}}); err != nil {
			t.Fatal(err)
		}
		for trigger, want := range map[string][]int64{"manual": {job.RunID}, "schedule": {scheduled}, "backfill": {}} {
			var runs []struct {
				ID      int64  `json:"id"`
				Trigger string `json:"trigger"`
			}
			e.expect(t, http.MethodGet, "/runs?trigger="+trigger, nil, http.StatusOK, &runs)
			var got []int64
			for _, r := range runs {
				got = append(got, r.ID)
				if r.Trigger != trigger {
					t.Errorf("?trigger=%s listed run %d of trigger %s", trigger, r.ID, r.Trigger)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) && (len(got) != 0 || len(want) != 0) {
				t.Errorf("?trigger=%s: runs %v, want %v", trigger, got, want)
			}
		}
		e.expectProblem(t, http.MethodGet, "/runs?trigger=cron", nil, http.StatusUnprocessableEntity, "query.trigger")
	})
}
