package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/storetest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// timedSchedule decodes a schedule with its bounds and policies.
type timedSchedule struct {
	schedule
	RunAt         *string `json:"run_at"`
	StartAt       *string `json:"start_at"`
	EndAt         *string `json:"end_at"`
	MaxRuns       *int    `json:"max_runs"`
	RunCount      int64   `json:"run_count"`
	JitterSeconds int     `json:"jitter_seconds"`
	MisfireGrace  *int    `json:"misfire_grace_seconds"`
	PauseReason   *string `json:"pause_reason"`
	PausedUntil   *string `json:"paused_until"`
	NextFireAt    *string `json:"next_fire_at"`
}

// The test clock is at 2030-01-02T03:04:05Z.
func TestSchedules_OnceBoundsJitter(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")

		var once timedSchedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(
			`{"name": "new-year", "target_id": %d, "schedule_type": "ONCE", "run_at": "2030-01-03T00:00:00+01:00"}`, tg.ID),
			http.StatusCreated, &once)
		if once.ScheduleType != "ONCE" || deref(once.RunAt) != "2030-01-02T23:00:00.000Z" || deref(once.NextRunAt) != "2030-01-02T23:00:00.000Z" ||
			once.Status != "ACTIVE" {
			t.Errorf("ONCE created %+v, run_at %s, next %s", once, deref(once.RunAt), deref(once.NextRunAt))
		}
		r := e.do(t, http.MethodGet, fmt.Sprintf("/schedules/%d", once.ID), nil)
		if !strings.Contains(string(r.body), `"interval_seconds":null`) {
			t.Errorf("ONCE JSON %s, want interval_seconds null", r.body)
		}
		// In the past: refused, unless the grace covers it; then due at once.
		past := `{"name": "late", "target_id": %d, "schedule_type": "ONCE", "run_at": "2030-01-02T03:00:00Z"%s}`
		e.expectProblem(t, http.MethodPost, "/schedules", fmt.Sprintf(past, tg.ID, ""), http.StatusUnprocessableEntity, "body.run_at")
		e.expectProblem(t, http.MethodPost, "/schedules", fmt.Sprintf(past, tg.ID, `, "misfire_grace_seconds": 60`),
			http.StatusUnprocessableEntity, "body.run_at")
		var late timedSchedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(past, tg.ID, `, "misfire_grace_seconds": 600`), http.StatusCreated, &late)
		if deref(late.NextRunAt) != "2030-01-02T03:00:00.000Z" || deref(late.MisfireGrace) != 600 {
			t.Errorf("late ONCE: next %s grace %v, want its run_at, due at once", deref(late.NextRunAt), late.MisfireGrace)
		}
		for _, bad := range []struct{ body, loc string }{
			{`{"name": "x", "target_id": %d, "schedule_type": "ONCE"}`, "body.run_at"},
			{`{"name": "x", "target_id": %d, "schedule_type": "ONCE", "run_at": "2031-01-01T00:00:00Z", "interval_seconds": 5}`, "body.interval_seconds"},
			{`{"name": "x", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 5, "run_at": "2031-01-01T00:00:00Z"}`, "body.run_at"},
			{`{"name": "x", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 5, "jitter_seconds": 6}`, "body.jitter_seconds"},
			{`{"name": "x", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 5, "end_at": "2030-01-01T00:00:00Z"}`, "body.end_at"},
			{`{"name": "x", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 5, "start_at": "2031-01-01T00:00:00Z", "end_at": "2030-06-01T00:00:00Z"}`, "body.end_at"},
			{`{"name": "x", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 5, "max_runs": 0}`, "body.max_runs"},
			{`{"name": "x", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 5, "start_at": "tomorrow"}`, "body.start_at"},
		} {
			e.expectProblem(t, http.MethodPost, "/schedules", fmt.Sprintf(bad.body, tg.ID), http.StatusUnprocessableEntity, bad.loc)
		}
		if n := e.total(t, "/schedules"); n != 2 {
			t.Errorf("%d schedules after the refused ones, want 2", n)
		}

		// Bounds, max_runs and jitter round-trip; next_fire_at adds the jitter.
		var iv timedSchedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "boxed", "target_id": %d, "schedule_type": "INTERVAL",
			"interval_seconds": 60, "start_at": "2030-01-02T04:00:00Z", "end_at": "2030-01-02T05:00:00Z", "max_runs": 10,
			"jitter_seconds": 30}`, tg.ID), http.StatusCreated, &iv)
		if deref(iv.StartAt) != "2030-01-02T04:00:00.000Z" || deref(iv.EndAt) != "2030-01-02T05:00:00.000Z" || deref(iv.MaxRuns) != 10 ||
			iv.JitterSeconds != 30 || deref(iv.NextRunAt) != "2030-01-02T04:00:00.000Z" || iv.RunCount != 0 {
			t.Fatalf("boxed: %+v", iv)
		}
		next, _ := time.Parse(time.RFC3339, deref(iv.NextRunAt))
		wantFire := next.Add(apicron.Jitter(iv.ID, next, 30)).UTC().Format(apicron.TimeFormat)
		if deref(iv.NextFireAt) != wantFire {
			t.Errorf("next_fire_at %s, want %s", deref(iv.NextFireAt), wantFire)
		}
		var p struct {
			Occurrences []struct {
				At     string `json:"at"`
				FireAt string `json:"fire_at"`
			} `json:"occurrences"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d/preview?n=100", iv.ID), nil, http.StatusOK, &p)
		if len(p.Occurrences) != 60 || p.Occurrences[0].FireAt != wantFire || p.Occurrences[59].At != "2030-01-02T04:59:00.000Z" {
			t.Errorf("preview of [04:00, 05:00) every minute: %d occurrences, first fires %s", len(p.Occurrences), p.Occurrences[0].FireAt)
		}
		// Clearing: null end_at and max_runs.
		var u timedSchedule
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", iv.ID), `{"end_at": null, "max_runs": null}`, http.StatusOK, &u)
		if u.EndAt != nil || u.MaxRuns != nil || deref(u.StartAt) == "" {
			t.Errorf("after clearing: end_at %v max_runs %v start_at %v", u.EndAt, u.MaxRuns, u.StartAt)
		}
		e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", iv.ID), `{"jitter_seconds": null}`,
			http.StatusUnprocessableEntity, "body.jitter_seconds")
	})
}

func TestSchedules_PauseReasonUntil(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		s := mustCreateSchedule(t, e, tg.ID, 60)
		path := fmt.Sprintf("/schedules/%d/pause", s.ID)
		e.expectProblem(t, http.MethodPost, path, `{"until": "2030-01-01T00:00:00Z"}`, http.StatusUnprocessableEntity, "body.until")
		e.expectProblem(t, http.MethodPost, path, `{"reason": "`+strings.Repeat("x", 501)+`"}`, http.StatusUnprocessableEntity, "body.reason")
		e.expectProblem(t, http.MethodPost, path, `{"why": "x"}`, http.StatusUnprocessableEntity, "")
		var got timedSchedule
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", s.ID), nil, http.StatusOK, &got)
		if got.Status != "ACTIVE" {
			t.Fatalf("refused pauses left it %s", got.Status)
		}
		e.expect(t, http.MethodPost, path, `{"reason": "upstream maintenance", "until": "2030-01-02T06:00:00Z"}`, http.StatusOK, &got)
		if got.Status != "PAUSED" || deref(got.PauseReason) != "upstream maintenance" || deref(got.PausedUntil) != "2030-01-02T06:00:00.000Z" {
			t.Errorf("paused: %s reason %s until %s", got.Status, deref(got.PauseReason), deref(got.PausedUntil))
		}
		// A second pause with a body replaces them; resume clears both.
		e.expect(t, http.MethodPost, path, `{"reason": "longer"}`, http.StatusOK, &got)
		if deref(got.PauseReason) != "longer" || got.PausedUntil != nil {
			t.Errorf("paused again: reason %s until %v", deref(got.PauseReason), got.PausedUntil)
		}
		e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/resume", s.ID), nil, http.StatusOK, &got)
		if got.Status != "ACTIVE" || got.PauseReason != nil || got.PausedUntil != nil {
			t.Errorf("resumed: %s reason %v until %v", got.Status, got.PauseReason, got.PausedUntil)
		}
	})
}

// recordingDispatcher keeps the jobs the API submits.
type recordingDispatcher struct {
	mu   sync.Mutex
	jobs []*apicron.Job
}

func (d *recordingDispatcher) Submit(j *apicron.Job) {
	d.mu.Lock()
	d.jobs = append(d.jobs, j)
	d.mu.Unlock()
}

func TestSchedules_Trigger(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		d := &recordingDispatcher{}
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Dispatcher = d })
		tg := mustCreateTarget(t, e, "")
		s := mustCreateSchedule(t, e, tg.ID, 3600)
		path := fmt.Sprintf("/schedules/%d/trigger", s.ID)
		var tr struct {
			RunID       int64  `json:"run_id"`
			ScheduleID  int64  `json:"schedule_id"`
			ScheduledAt string `json:"scheduled_at"`
			Trigger     string `json:"trigger"`
			Forced      bool   `json:"forced"`
		}
		e.expect(t, http.MethodPost, path, nil, http.StatusAccepted, &tr)
		if tr.RunID == 0 || tr.ScheduleID != s.ID || tr.Trigger != "manual" || tr.Forced || tr.ScheduledAt != "2030-01-02T03:04:05.000Z" {
			t.Errorf("trigger: %+v", tr)
		}
		if len(d.jobs) != 1 || d.jobs[0].RunID != tr.RunID || d.jobs[0].URL != "https://example.com/ping" {
			t.Fatalf("dispatched %+v, want the run's job", d.jobs)
		}
		var run struct {
			Status  string `json:"status"`
			Trigger string `json:"trigger"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", tr.RunID), nil, http.StatusOK, &run)
		if run.Status != "RUNNING" || run.Trigger != "manual" {
			t.Errorf("run %+v, want RUNNING manual", run)
		}
		// That run is in flight: another is refused unless forced.
		e.expectProblem(t, http.MethodPost, path, nil, http.StatusConflict, "")
		e.expect(t, http.MethodPost, path+"?force=true", nil, http.StatusAccepted, &tr)
		if !tr.Forced || len(d.jobs) != 2 {
			t.Errorf("forced: %+v, %d jobs", tr, len(d.jobs))
		}
		e.expectProblem(t, http.MethodPost, "/schedules/999/trigger", nil, http.StatusNotFound, "")
		var got timedSchedule
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", s.ID), nil, http.StatusOK, &got)
		if got.RunCount != 0 || deref(got.NextRunAt) != "2030-01-02T03:04:05.000Z" {
			t.Errorf("manual runs moved the timetable: run_count %d next %s", got.RunCount, deref(got.NextRunAt))
		}

		// Without an engine there is no manual run.
		bare := newTestEnv(t, driver)
		tg2 := mustCreateTarget(t, bare, "")
		s2 := mustCreateSchedule(t, bare, tg2.ID, 60)
		bare.expectProblem(t, http.MethodPost, fmt.Sprintf("/schedules/%d/trigger", s2.ID), nil, http.StatusServiceUnavailable, "")
	})
}

func TestTargets_Test(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "s3cret" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(target.Close)
	storetest.ForEach(t, func(t *testing.T, driver string) {
		exec := executor.New(executor.Config{Policy: mustPolicy(t, []string{"127.0.0.0/8"}, false)})
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Executor = exec })
		tg := mustCreateTarget(t, e, fmt.Sprintf(`{"name": "t", "url": "%s/ping?n={{ .RunID }}", "headers": {"X-Api-Key": "s3cret"}}`, target.URL))
		var res struct {
			Status          string            `json:"status"`
			StatusCode      *int              `json:"status_code"`
			LatencyMs       *float64          `json:"latency_ms"`
			ResponseBody    *string           `json:"response_body"`
			ResponseHeaders map[string]string `json:"response_headers"`
			RequestURL      string            `json:"request_url"`
			ErrorType       *string           `json:"error_type"`
		}
		e.expect(t, http.MethodPost, fmt.Sprintf("/targets/%d/test", tg.ID), nil, http.StatusOK, &res)
		if res.Status != "SUCCESS" || deref(res.StatusCode) != 200 || deref(res.ResponseBody) != `{"ok": true}` || res.LatencyMs == nil ||
			res.ResponseHeaders["Content-Length"] != "12" || res.RequestURL != target.URL+"/ping?n=0" || res.ErrorType != nil {
			t.Errorf("test: %+v", res)
		}
		if n := e.total(t, "/runs"); n != 0 {
			t.Errorf("a test stored %d runs", n)
		}
		// A failing target is a result, classified, not an error.
		tg2 := mustCreateTarget(t, e, fmt.Sprintf(`{"name": "t2", "url": "%s/ping"}`, target.URL))
		e.expect(t, http.MethodPost, fmt.Sprintf("/targets/%d/test", tg2.ID), nil, http.StatusOK, &res)
		if res.Status != "FAILED" || deref(res.StatusCode) != 401 || deref(res.ErrorType) != "http_4xx" {
			t.Errorf("failing test: %+v", res)
		}
		e.expectProblem(t, http.MethodPost, "/targets/999/test", nil, http.StatusNotFound, "")
	})
}

func TestSchedules_Backfill(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		var s timedSchedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(
			`{"name": "hourly", "target_id": %d, "schedule_type": "CRON", "cron_expression": "0 * * * *"}`, tg.ID), http.StatusCreated, &s)
		path := fmt.Sprintf("/schedules/%d/backfill", s.ID)
		// The clock is at 2030-01-02T03:04:05Z.
		for _, bad := range []struct{ body, loc string }{
			{`{"since": "2030-01-01T00:00:00Z", "until": "2030-01-03T00:00:00Z"}`, "body.until"},
			{`{"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}`, "body.until"},
			{`{"since": "2030-01-01T00:10:00Z", "until": "2030-01-01T00:20:00Z"}`, "body.since"},
			{`{"since": "2028-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"}`, "body.until"},
			{`{"since": "2030-01-01T00:00:00Z", "until": "2030-01-02T00:00:00Z", "rate_per_second": 0}`, "body.rate_per_second"},
			{`{"since": "yesterday", "until": "2030-01-02T00:00:00Z"}`, "body.since"},
			{`{"until": "2030-01-02T00:00:00Z"}`, "body.since"},
		} {
			e.expectProblem(t, http.MethodPost, path, bad.body, http.StatusUnprocessableEntity, bad.loc)
		}
		e.expectProblem(t, http.MethodPost, "/schedules/999/backfill", `{"since": "2030-01-01T00:00:00Z", "until": "2030-01-02T00:00:00Z"}`,
			http.StatusNotFound, "")
		var b struct {
			ID            int64   `json:"id"`
			Status        string  `json:"status"`
			Occurrences   int64   `json:"occurrences"`
			RatePerSecond int     `json:"rate_per_second"`
			NextAt        *string `json:"next_at"`
		}
		e.expect(t, http.MethodPost, path, `{"since": "2030-01-01T00:00:00Z", "until": "2030-01-02T00:00:00Z"}`, http.StatusAccepted, &b)
		if b.Status != "RUNNING" || b.Occurrences != 24 || b.RatePerSecond != 10 || deref(b.NextAt) != "2030-01-01T00:00:00.000Z" {
			t.Errorf("backfill %+v, want 24 hourly occurrences at 10/s", b)
		}
		var got struct {
			Backfill *struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			} `json:"backfill"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", s.ID), nil, http.StatusOK, &got)
		if got.Backfill == nil || got.Backfill.ID != b.ID {
			t.Errorf("schedule shows backfill %+v, want %d", got.Backfill, b.ID)
		}
		var list []struct{ ID int64 }
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d/backfills", s.ID), nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("backfills %+v", list)
		}
		e.expectProblem(t, http.MethodGet, "/schedules/999/backfills", nil, http.StatusNotFound, "")
	})
}

func TestSchedules_Policies(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		d := &recordingDispatcher{}
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Dispatcher = d })
		tg := mustCreateTarget(t, e, "")
		type policies struct {
			ID            int64  `json:"id"`
			OverlapPolicy string `json:"overlap_policy"`
			MaxParallel   *int   `json:"max_parallel"`
			MisfirePolicy string `json:"misfire_policy"`
			CatchUpMax    *int   `json:"catch_up_max"`
		}
		var def policies
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", mustCreateSchedule(t, e, tg.ID, 60).ID), nil, http.StatusOK, &def)
		if def.OverlapPolicy != "skip" || def.MisfirePolicy != "coalesce" || def.MaxParallel != nil || def.CatchUpMax != nil {
			t.Errorf("defaults %+v, want skip and coalesce", def)
		}
		var p policies
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "p", "target_id": %d, "schedule_type": "INTERVAL",
			"interval_seconds": 60, "overlap_policy": "allow", "max_parallel": 2, "misfire_policy": "catch_up", "catch_up_max": 5}`, tg.ID),
			http.StatusCreated, &p)
		if p.OverlapPolicy != "allow" || deref(p.MaxParallel) != 2 || p.MisfirePolicy != "catch_up" || deref(p.CatchUpMax) != 5 {
			t.Fatalf("created %+v", p)
		}
		for _, bad := range []struct{ body, loc string }{
			{`{"overlap_policy": "queue"}`, "body.overlap_policy"},
			{`{"misfire_policy": "later"}`, "body.misfire_policy"},
			{`{"max_parallel": 0}`, "body.max_parallel"},
			{`{"overlap_policy": null}`, "body.overlap_policy"},
		} {
			e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", p.ID), bad.body, http.StatusUnprocessableEntity, bad.loc)
		}
		e.expectProblem(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "x", "target_id": %d, "schedule_type": "INTERVAL",
			"interval_seconds": 60, "max_parallel": 3}`, tg.ID), http.StatusUnprocessableEntity, "body.max_parallel")

		// allow: manual runs up to max_parallel, then 409.
		path := fmt.Sprintf("/schedules/%d/trigger", p.ID)
		e.expect(t, http.MethodPost, path, nil, http.StatusAccepted, nil)
		e.expect(t, http.MethodPost, path, nil, http.StatusAccepted, nil)
		e.expectProblem(t, http.MethodPost, path, nil, http.StatusConflict, "")

		// Another policy drops what belonged to the old one.
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", p.ID), `{"overlap_policy": "replace", "misfire_policy": "skip"}`,
			http.StatusOK, &p)
		if p.OverlapPolicy != "replace" || p.MaxParallel != nil || p.MisfirePolicy != "skip" || p.CatchUpMax != nil {
			t.Errorf("after the change %+v, want replace and skip with neither bound", p)
		}
		// replace: a manual run interrupts the two in flight.
		var tr struct {
			RunID int64 `json:"run_id"`
		}
		e.expect(t, http.MethodPost, path, nil, http.StatusAccepted, &tr)
		var runs []struct {
			ID           int64   `json:"id"`
			Status       string  `json:"status"`
			ErrorMessage *string `json:"error_message"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs?schedule_id=%d", p.ID), nil, http.StatusOK, &runs)
		interrupted := 0
		for _, r := range runs {
			if r.Status == "INTERRUPTED" && strings.Contains(deref(r.ErrorMessage), "replace") {
				interrupted++
			} else if r.ID != tr.RunID || r.Status != "RUNNING" {
				t.Errorf("run %+v", r)
			}
		}
		if interrupted != 2 || len(d.jobs) != 3 || len(d.jobs[2].Replaced) != 2 {
			t.Errorf("%d runs replaced (the last job names %d), want 2", interrupted, len(d.jobs[2].Replaced))
		}
	})
}

func TestSchedules_Events(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		d := &recordingDispatcher{}
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Dispatcher = d })
		tg := mustCreateTarget(t, e, "")
		var s timedSchedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(
			`{"name": "s", "target_id": %d, "schedule_type": "CRON", "cron_expression": "*/5 * * * *"}`, tg.ID), http.StatusCreated, &s)
		id := s.ID
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", id), `{"cron_expression": "*/10 * * * *", "name": "s", "jitter_seconds": 5}`, http.StatusOK, nil)
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", id), `{"name": "s"}`, http.StatusOK, nil) // no change: no event
		e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/pause", id), `{"reason": "maintenance", "until": "2030-01-02T06:00:00Z"}`, http.StatusOK, nil)
		e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/resume", id), nil, http.StatusOK, nil)
		e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/trigger", id), nil, http.StatusAccepted, nil)
		e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/backfill", id), `{"since": "2030-01-02T02:00:00Z", "until": "2030-01-02T03:00:00Z"}`,
			http.StatusAccepted, nil)
		var events []struct {
			ID     int64          `json:"id"`
			Kind   string         `json:"kind"`
			Actor  string         `json:"actor"`
			At     string         `json:"at"`
			Detail map[string]any `json:"detail"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d/events", id), nil, http.StatusOK, &events)
		var kinds []string
		for _, ev := range events {
			kinds = append(kinds, ev.Kind)
			if ev.Actor != "api" || ev.At != "2030-01-02T03:04:05.000Z" {
				t.Errorf("event %+v: want actor api (no tokens) and the clock's time", ev)
			}
		}
		if want := "backfilled triggered resumed paused updated created"; strings.Join(kinds, " ") != want {
			t.Fatalf("events %v, want %s (newest first)", kinds, want)
		}
		if ch, _ := events[4].Detail["changed"].(map[string]any); len(ch) != 2 || ch["cron_expression"] != "*/10 * * * *" || ch["jitter_seconds"] != float64(5) {
			t.Errorf("updated: %v, want cron_expression and jitter_seconds with their new values", events[4].Detail)
		}
		if p := events[3].Detail; p["reason"] != "maintenance" || p["until"] != "2030-01-02T06:00:00.000Z" {
			t.Errorf("paused: %v", p)
		}
		if tr := events[1].Detail; tr["run_id"] == nil || tr["forced"] != false {
			t.Errorf("triggered: %v", tr)
		}
		var page []struct{ ID int64 }
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d/events?limit=2&before=%d", id, events[1].ID), nil, http.StatusOK, &page)
		if len(page) != 2 || page[0].ID != events[2].ID {
			t.Errorf("page before %d: %+v", events[1].ID, page)
		}
		e.expectProblem(t, http.MethodGet, "/schedules/999/events", nil, http.StatusNotFound, "")

		// With tokens, the actor is the token's fingerprint, never the token.
		te := newTestEnv(t, driver, withTokens)
		r := te.doWith(t, http.MethodPost, "/targets", bearer(fullToken), `{"name": "t", "url": "https://example.com/"}`)
		var tgt target
		if err := json.Unmarshal(r.body, &tgt); err != nil || r.status != http.StatusCreated {
			t.Fatalf("create target: %s", r)
		}
		r = te.doWith(t, http.MethodPost, "/schedules", bearer(fullToken),
			fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 60}`, tgt.ID))
		if r.status != http.StatusCreated {
			t.Fatalf("create schedule: %s", r)
		}
		r = te.doWith(t, http.MethodGet, "/schedules/1/events", bearer(fullToken), "")
		if want := `"actor":"token:` + fingerprint(fullToken) + `"`; !strings.Contains(string(r.body), want) || strings.Contains(string(r.body), fullToken) {
			t.Errorf("events %s, want %s and not the token", r.body, want)
		}
	})
}

func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}

func TestSchedules_Occurrences(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		var s timedSchedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(
			`{"name": "q", "target_id": %d, "schedule_type": "CRON", "cron_expression": "*/15 * * * *", "jitter_seconds": 60}`, tg.ID),
			http.StatusCreated, &s)
		// The clock is at 03:04:05: 03:00 was before the schedule existed, 03:15 and 03:30 are to come.
		var l struct {
			ScheduleID  int64 `json:"schedule_id"`
			Truncated   bool  `json:"truncated"`
			Occurrences []struct {
				At          string  `json:"at"`
				FireAt      string  `json:"fire_at"`
				Status      string  `json:"status"`
				OnTimetable bool    `json:"on_timetable"`
				Run         *string `json:"run"`
			} `json:"occurrences"`
		}
		path := fmt.Sprintf("/schedules/%d/occurrences", s.ID)
		e.expect(t, http.MethodGet, path+"?since=2030-01-02T03:00:00Z&until=2030-01-02T03:31:00Z", nil, http.StatusOK, &l)
		if l.ScheduleID != s.ID || l.Truncated || len(l.Occurrences) != 3 {
			t.Fatalf("ledger %+v", l)
		}
		for i, want := range []string{"before_created", "planned", "planned"} {
			o := l.Occurrences[i]
			if o.Status != want || !o.OnTimetable || o.Run != nil {
				t.Errorf("occurrence %d: %+v, want %s", i, o, want)
			}
		}
		if o := l.Occurrences[1]; o.At != "2030-01-02T03:15:00.000Z" || o.FireAt == o.At {
			t.Errorf("03:15: %+v, want fire_at jittered", o)
		}
		e.expect(t, http.MethodGet, path, nil, http.StatusOK, &l) // default: an hour either side
		if len(l.Occurrences) != 8 {
			t.Errorf("default range: %d occurrences, want 8 (02:15 to 04:00)", len(l.Occurrences))
		}
		e.expectProblem(t, http.MethodGet, path+"?since=2030-01-02T04:00:00Z&until=2030-01-02T03:00:00Z", nil, http.StatusUnprocessableEntity, "query.until")
		e.expectProblem(t, http.MethodGet, path+"?since=2020-01-02T04:00:00Z&until=2030-01-02T03:00:00Z", nil, http.StatusUnprocessableEntity, "query.until")
		e.expectProblem(t, http.MethodGet, path+"?since=yesterday", nil, http.StatusUnprocessableEntity, "query.since")
		e.expectProblem(t, http.MethodGet, "/schedules/999/occurrences", nil, http.StatusNotFound, "")
	})
}

func TestTargets_Assertions(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status": "degraded"}`))
	}))
	t.Cleanup(up.Close)
	storetest.ForEach(t, func(t *testing.T, driver string) {
		exec := executor.New(executor.Config{Policy: mustPolicy(t, []string{"127.0.0.0/8"}, false)})
		e := newTestEnv(t, driver, func(c *httpapi.Config) {
			c.AssertionCheckFunc = executor.CheckAssertions
			c.Executor = exec
		})
		body := fmt.Sprintf(`{"name": "health", "url": "%s/health", "assertions": [{"type": "status", "in": ["2xx", 304]},
			{"type": "json_path", "path": "$.status", "equals": "up"}]}`, up.URL)
		var tg struct {
			ID         int64            `json:"id"`
			Assertions []map[string]any `json:"assertions"`
		}
		e.expect(t, http.MethodPost, "/targets", body, http.StatusCreated, &tg)
		if len(tg.Assertions) != 2 || tg.Assertions[1]["path"] != "$.status" || tg.Assertions[1]["equals"] != "up" ||
			fmt.Sprint(tg.Assertions[0]["in"]) != "[2xx 304]" {
			t.Fatalf("assertions %v", tg.Assertions)
		}
		for _, bad := range []struct{ body, loc string }{
			{`{"name": "x", "url": "https://example.com/", "assertions": [{"type": "json_path", "path": "$.a[", "exists": true}]}`, "body.assertions[0]"},
			{`{"name": "x", "url": "https://example.com/", "assertions": [{"type": "status", "in": ["9xx"]}]}`, "body.assertions[0]"},
			{`{"name": "x", "url": "https://example.com/", "assertions": [{"type": "latency_ms", "bellow": 5}]}`, ""},
		} {
			e.expectProblem(t, http.MethodPost, "/targets", bad.body, http.StatusUnprocessableEntity, bad.loc)
		}

		// The target test names the failed check and what it saw.
		var res struct {
			Status          string         `json:"status"`
			ErrorType       string         `json:"error_type"`
			FailedAssertion map[string]any `json:"failed_assertion"`
		}
		e.expect(t, http.MethodPost, fmt.Sprintf("/targets/%d/test", tg.ID), nil, http.StatusOK, &res)
		if res.Status != "FAILED" || res.ErrorType != "assertion" || res.FailedAssertion["index"] != float64(1) ||
			res.FailedAssertion["actual"] != `"degraded"` {
			t.Errorf("test: %+v", res)
		}

		// A schedule's own assertions replace the target's; null returns to them.
		var s struct {
			ID         int64             `json:"id"`
			Assertions *[]map[string]any `json:"assertions"`
		}
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL",
			"interval_seconds": 60, "assertions": [{"type": "body_contains", "value": "status"}]}`, tg.ID), http.StatusCreated, &s)
		if s.Assertions == nil || len(*s.Assertions) != 1 {
			t.Fatalf("schedule assertions %v", s.Assertions)
		}
		runID := mustExecute(t, e, exec, s.ID)
		var run struct {
			Status          string          `json:"status"`
			FailedAssertion json.RawMessage `json:"failed_assertion"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", runID), nil, http.StatusOK, &run)
		if run.Status != "SUCCESS" || string(run.FailedAssertion) != "null" {
			t.Errorf("run with the schedule's own check: %s %s, want SUCCESS", run.Status, run.FailedAssertion)
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", s.ID), `{"assertions": null}`, http.StatusOK, &s)
		if s.Assertions != nil {
			t.Fatalf("after null: %v, want the target's (null)", s.Assertions)
		}
		e.clock.Set(e.clock.Now().Add(time.Minute))
		runID = mustExecute(t, e, exec, s.ID)
		var failed struct {
			Status          string `json:"status"`
			ErrorType       string `json:"error_type"`
			ErrorMessage    string `json:"error_message"`
			FailedAssertion *struct {
				Index     int            `json:"index"`
				Expected  string         `json:"expected"`
				Actual    string         `json:"actual"`
				Assertion map[string]any `json:"assertion"`
			} `json:"failed_assertion"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", runID), nil, http.StatusOK, &failed)
		if f := failed.FailedAssertion; failed.Status != "FAILED" || failed.ErrorType != "assertion" || f == nil || f.Index != 1 ||
			f.Expected != `$.status equals "up"` || f.Actual != `"degraded"` || f.Assertion["type"] != "json_path" ||
			!strings.Contains(failed.ErrorMessage, "assertion 1 failed") {
			t.Errorf("run with the target's checks: %+v", failed)
		}
		// null clears a target's assertions.
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), `{"assertions": null}`, http.StatusOK, &tg)
		if len(tg.Assertions) != 0 {
			t.Errorf("after null: %v", tg.Assertions)
		}
	})
}

// TestTargets_SigningSecrets: "generate" makes a secret shown once; GET
// shows masks only; a rotation keeps the old one by its mask; and the
// requests the target gets verify under the reference verifier.
func TestTargets_SigningSecrets(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		headers []http.Header
		bodies  [][]byte
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		headers, bodies = append(headers, r.Header.Clone()), append(bodies, b)
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	storetest.ForEach(t, func(t *testing.T, driver string) {
		exec := executor.New(executor.Config{Policy: mustPolicy(t, []string{"127.0.0.0/8"}, false)})
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Executor = exec })
		type tgt struct {
			ID             int64    `json:"id"`
			SigningSecrets []string `json:"signing_secrets"`
			Generated      *string  `json:"generated_signing_secret"`
		}
		var created tgt
		e.expect(t, http.MethodPost, "/targets", fmt.Sprintf(`{"name": "hook", "url": "%s/hook", "method": "POST",
			"body_template": "{\"run\": {{.RunID}}}", "signing_secrets": ["generate"]}`, recv.URL), http.StatusCreated, &created)
		if created.Generated == nil || !strings.HasPrefix(*created.Generated, "whsec_") || len(created.SigningSecrets) != 1 ||
			created.SigningSecrets[0] != apicron.MaskSigningSecret(*created.Generated) {
			t.Fatalf("created %+v", created)
		}
		first := *created.Generated
		var got tgt
		r := e.expect(t, http.MethodGet, fmt.Sprintf("/targets/%d", created.ID), nil, http.StatusOK, &got)
		if got.Generated != nil || strings.Contains(string(r.body), first[6:]) {
			t.Errorf("GET shows the secret: %s", r.body)
		}
		// Rotation: a new secret beside the current one, kept by its mask.
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", created.ID),
			fmt.Sprintf(`{"signing_secrets": ["generate", %q]}`, got.SigningSecrets[0]), http.StatusOK, &got)
		if got.Generated == nil || len(got.SigningSecrets) != 2 || got.SigningSecrets[1] != apicron.MaskSigningSecret(first) {
			t.Fatalf("rotated %+v", got)
		}
		second := *got.Generated
		e.expect(t, http.MethodPost, fmt.Sprintf("/targets/%d/test", created.ID), nil, http.StatusOK, nil)
		mu.Lock()
		h, body := headers[len(headers)-1], bodies[len(bodies)-1]
		mu.Unlock()
		for _, s := range []string{first, second} {
			wh, err := standardwebhooks.NewWebhook(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(body, h); err != nil {
				t.Errorf("the reference verifier refuses the request under one of the two secrets: %v", err)
			}
		}
		dup := apicron.NewSigningSecret()
		for _, bad := range []string{`{"signing_secrets": ["whsec_short"]}`, `{"signing_secrets": ["generate", "generate"]}`,
			`{"signing_secrets": ["generate", "whsec_********Qk0=", "x"]}`, fmt.Sprintf(`{"signing_secrets": [%q, %q]}`, dup, dup),
			`{"signing_secrets": ["enc:v1:AAAA"]}`} {
			e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/targets/%d", created.ID), bad, http.StatusUnprocessableEntity, "")
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", created.ID), `{"signing_secrets": null}`, http.StatusOK, &got)
		if len(got.SigningSecrets) != 0 {
			t.Errorf("after null: %v", got.SigningSecrets)
		}
	})
}

func TestTargets_RetryPolicy(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		type tgt struct {
			ID                int64    `json:"id"`
			RetryOn           []string `json:"retry_on"`
			RetryBackoffMs    int      `json:"retry_backoff_ms"`
			RetryMaxBackoffMs int      `json:"retry_max_backoff_ms"`
		}
		var d tgt
		e.expect(t, http.MethodGet, fmt.Sprintf("/targets/%d", mustCreateTarget(t, e, "").ID), nil, http.StatusOK, &d)
		if strings.Join(d.RetryOn, ",") != "timeout,connection,dns,http_5xx,http_429" || d.RetryBackoffMs != 500 || d.RetryMaxBackoffMs != 30000 {
			t.Errorf("defaults %+v", d)
		}
		var c tgt
		e.expect(t, http.MethodPost, "/targets", `{"name": "r", "url": "https://example.com/", "retry_on": ["http_4xx", "assertion"],
			"retry_backoff_ms": 100, "retry_max_backoff_ms": 1000}`, http.StatusCreated, &c)
		if strings.Join(c.RetryOn, ",") != "http_4xx,assertion" || c.RetryBackoffMs != 100 || c.RetryMaxBackoffMs != 1000 {
			t.Errorf("created %+v", c)
		}
		for _, bad := range []struct{ body, loc string }{
			{`{"retry_on": ["always"]}`, "body.retry_on"},
			{`{"retry_on": ["dns", "dns"]}`, "body.retry_on"},
			{`{"retry_max_backoff_ms": 50}`, "body.retry_max_backoff_ms"},
			{`{"retry_backoff_ms": 5}`, "body.retry_backoff_ms"},
		} {
			e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/targets/%d", c.ID), bad.body, http.StatusUnprocessableEntity, bad.loc)
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", c.ID), `{"retry_on": [], "retry_backoff_ms": null, "retry_max_backoff_ms": null}`,
			http.StatusOK, &c)
		if len(c.RetryOn) != 0 || c.RetryBackoffMs != 500 || c.RetryMaxBackoffMs != 30000 {
			t.Errorf("after [] and nulls %+v, want nothing retried and the default backoff", c)
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", c.ID), `{"retry_on": null}`, http.StatusOK, &c)
		if len(c.RetryOn) != 5 {
			t.Errorf("after null %v, want the defaults", c.RetryOn)
		}
	})
}

// TestTargets_Auth: basic and bearer auth reach a loopback server that
// checks them; the API shows the scheme and the user, never the secret.
func TestTargets_Auth(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok && u == "reporter" && p == "pa:ss" {
			return
		}
		if r.Header.Get("Authorization") == "Bearer tok-123" {
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	storetest.ForEach(t, func(t *testing.T, driver string) {
		exec := executor.New(executor.Config{Policy: mustPolicy(t, []string{"127.0.0.0/8"}, false)})
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Executor = exec })
		type tgt struct {
			ID      int64             `json:"id"`
			Auth    map[string]string `json:"auth"`
			Headers map[string]string `json:"headers"`
		}
		test := func(id int64) string {
			var res struct {
				Status string `json:"status"`
			}
			e.expect(t, http.MethodPost, fmt.Sprintf("/targets/%d/test", id), nil, http.StatusOK, &res)
			return res.Status
		}
		var tg tgt
		r := e.expect(t, http.MethodPost, "/targets", fmt.Sprintf(`{"name": "a", "url": "%s/", "auth": {"type": "basic", "username": "reporter", "password": "pa:ss"}}`, srv.URL),
			http.StatusCreated, &tg)
		if tg.Auth["type"] != "basic" || tg.Auth["username"] != "reporter" || tg.Auth["password"] != "********" ||
			tg.Headers["Authorization"] != "********" || strings.Contains(string(r.body), "pa:ss") {
			t.Fatalf("created %s", r.body)
		}
		if st := test(tg.ID); st != "SUCCESS" {
			t.Errorf("basic auth: %s", st)
		}
		r = e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), `{"auth": {"type": "bearer", "token": "tok-123"}}`, http.StatusOK, &tg)
		if tg.Auth["type"] != "bearer" || tg.Auth["token"] != "********" || strings.Contains(string(r.body), "tok-123") {
			t.Fatalf("bearer: %s", r.body)
		}
		if st := test(tg.ID); st != "SUCCESS" {
			t.Errorf("bearer auth: %s", st)
		}
		// The target as GET shows it, sent back: the masked token keeps the real one.
		r = e.do(t, http.MethodGet, fmt.Sprintf("/targets/%d", tg.ID), nil)
		var whole map[string]any
		if err := json.Unmarshal(r.body, &whole); err != nil {
			t.Fatal(err)
		}
		back, _ := json.Marshal(map[string]any{"name": "renamed", "auth": whole["auth"], "headers": whole["headers"]})
		e.expect(t, http.MethodPut, fmt.Sprintf("/targets/%d", tg.ID), string(back), http.StatusOK, nil)
		if st := test(tg.ID); st != "SUCCESS" {
			t.Errorf("after the masked auth was sent back: %s, want the token kept", st)
		}
		e.expectProblem(t, http.MethodPost, "/targets", `{"name": "m", "url": "https://example.com/", "auth": {"type": "bearer", "token": "********"}}`,
			http.StatusUnprocessableEntity, "body.auth")
		for _, bad := range []struct{ body, loc string }{
			{`{"auth": {"type": "digest", "token": "x"}}`, "body.auth.type"},
			{`{"auth": {"type": "basic", "username": "a:b", "password": "x"}}`, "body.auth.username"},
			{`{"auth": {"type": "bearer"}}`, "body.auth.token"},
			{`{"auth": {"type": "bearer", "token": "x"}, "headers": {"authorization": "Bearer y"}}`, "body.auth"},
		} {
			e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), bad.body, http.StatusUnprocessableEntity, bad.loc)
		}
		var none tgt
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), `{"auth": {"type": "none"}}`, http.StatusOK, &none)
		if none.Auth != nil || none.Headers["Authorization"] != "" {
			t.Errorf("after none: auth %v headers %v", none.Auth, none.Headers)
		}
		if st := test(tg.ID); st != "FAILED" {
			t.Errorf("without auth: %s, want FAILED (401)", st)
		}
	})
}
