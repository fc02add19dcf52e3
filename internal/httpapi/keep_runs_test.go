package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// keepSchedule decodes a schedule's id and keep_runs.
type keepSchedule struct {
	ID       int64 `json:"id"`
	KeepRuns *int  `json:"keep_runs"`
}

// TestSchedules_KeepRuns: keep_runs is optional on create, returned by every
// schedule response, set by PUT and PATCH, cleared by null, left as it is
// when absent, and refused with a 422 on body.keep_runs outside 1..1000000.
func TestSchedules_KeepRuns(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		body := func(keep string) string {
			return fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 10%s}`, tg.ID, keep)
		}

		var plain, capped, nullKeep keepSchedule
		e.expect(t, http.MethodPost, "/schedules", body(""), http.StatusCreated, &plain)
		e.expect(t, http.MethodPost, "/schedules", body(`, "keep_runs": 100`), http.StatusCreated, &capped)
		e.expect(t, http.MethodPost, "/schedules", body(`, "keep_runs": null`), http.StatusCreated, &nullKeep)
		if plain.KeepRuns != nil || nullKeep.KeepRuns != nil || capped.KeepRuns == nil || *capped.KeepRuns != 100 {
			t.Fatalf("created keep_runs %v, %v, %v; want null, 100, null", plain.KeepRuns, capped.KeepRuns, nullKeep.KeepRuns)
		}
		raw := e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", plain.ID), nil, http.StatusOK, nil)
		if !strings.Contains(string(raw.body), `"keep_runs":null`) {
			t.Errorf("GET of a schedule without a cap: %s, want \"keep_runs\":null", raw.body)
		}
		var list []keepSchedule
		e.expect(t, http.MethodGet, "/schedules", nil, http.StatusOK, &list)
		if len(list) != 3 || list[1].KeepRuns == nil || *list[1].KeepRuns != 100 {
			t.Fatalf("list: %+v", list)
		}

		path := fmt.Sprintf("/schedules/%d", capped.ID)
		var got keepSchedule
		for _, c := range []struct {
			method, body string
			want         *int
		}{
			{http.MethodPatch, `{"keep_runs": 5}`, ptr(5)},
			{http.MethodPatch, `{"name": "renamed"}`, ptr(5)}, // absent: left as it is
			{http.MethodPut, `{"keep_runs": 1}`, ptr(1)},
			{http.MethodPatch, `{"keep_runs": 1000000}`, ptr(1000000)},
			{http.MethodPatch, `{"keep_runs": 2e1}`, ptr(20)},
			{http.MethodPatch, `{"keep_runs": null}`, nil}, // back to the service default
			{http.MethodPatch, `{"interval_seconds": 20}`, nil},
			{http.MethodPatch, `{"keep_runs": 3}`, ptr(3)},
		} {
			e.expect(t, c.method, path, c.body, http.StatusOK, &got)
			if (got.KeepRuns == nil) != (c.want == nil) || got.KeepRuns != nil && *got.KeepRuns != *c.want {
				t.Fatalf("%s %s: keep_runs %v, want %v", c.method, c.body, got.KeepRuns, c.want)
			}
		}
		e.expect(t, http.MethodPost, path+"/pause", nil, http.StatusOK, &got)
		if got.KeepRuns == nil || *got.KeepRuns != 3 {
			t.Fatalf("pause answered keep_runs %v, want 3", got.KeepRuns)
		}
		e.expect(t, http.MethodPost, path+"/resume", nil, http.StatusOK, &got)

		e.notifier.take()
		for _, bad := range []string{"0", "-1", "1000001", "1e7", "1.5", `"5"`, "false", "[]", "{}"} {
			for _, c := range []struct{ method, path, body string }{
				{http.MethodPost, "/schedules", body(`, "keep_runs": ` + bad)},
				{http.MethodPut, path, `{"keep_runs": ` + bad + `}`},
				{http.MethodPatch, path, `{"keep_runs": ` + bad + `}`},
			} {
				p := e.expectProblem(t, c.method, c.path, c.body, 422, "body.keep_runs")
				if !strings.Contains(p.Detail, "keep_runs") {
					t.Errorf("%s keep_runs %s: detail %q does not name keep_runs", c.method, bad, p.Detail)
				}
			}
		}
		if n := e.total(t, "/schedules"); n != 3 {
			t.Errorf("%d schedules after refused creates, want 3", n)
		}
		if ids := e.notifier.take(); len(ids) != 0 {
			t.Errorf("notified %v about refused requests", ids)
		}
		e.expect(t, http.MethodGet, path, nil, http.StatusOK, &got)
		if got.KeepRuns == nil || *got.KeepRuns != 3 {
			t.Fatalf("refused updates changed keep_runs to %v", got.KeepRuns)
		}
	})
}

// TestSchedules_KeepRunsPruning: after a retention pass a capped schedule
// lists only its newest runs, while /metrics and /metrics/schedules still
// count every run.
func TestSchedules_KeepRunsPruning(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		var s keepSchedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 10, "keep_runs": 2}`, tg.ID), http.StatusCreated, &s)
		var ids []int64
		for i := 0; i < 5; i++ {
			status := apicron.Success
			if i == 1 {
				status = apicron.Failed
			}
			ids = append(ids, mustRun(t, e, s.ID, status, 200, 10))
			e.clock.Add(10 * time.Second)
		}
		if n, err := e.db.PruneKeptRuns(context.Background(), 0, 1000); err != nil || n != 3 {
			t.Fatalf("PruneKeptRuns = %d, %v; want 3", n, err)
		}

		var runs []struct {
			ID int64 `json:"id"`
		}
		r := e.expect(t, http.MethodGet, fmt.Sprintf("/runs?schedule_id=%d", s.ID), nil, http.StatusOK, &runs)
		if len(runs) != 2 || runs[0].ID != ids[4] || runs[1].ID != ids[3] || r.header.Get("X-Total-Count") != "2" {
			t.Fatalf("runs after pruning: %+v (X-Total-Count %s), want %d and %d", runs, r.header.Get("X-Total-Count"), ids[4], ids[3])
		}
		e.expectProblem(t, http.MethodGet, fmt.Sprintf("/runs/%d", ids[0]), nil, http.StatusNotFound, "")

		var m map[string]any
		e.expect(t, http.MethodGet, "/metrics", nil, http.StatusOK, &m)
		if m["total_runs"] != 5.0 || m["success_rate"] != 80.0 {
			t.Errorf("metrics after pruning: total_runs %v, success_rate %v; want 5 and 80", m["total_runs"], m["success_rate"])
		}
		var ms []map[string]any
		e.expect(t, http.MethodGet, "/metrics/schedules", nil, http.StatusOK, &ms)
		if len(ms) != 1 || ms[0]["total_runs"] != 5.0 || ms[0]["successful_runs"] != 4.0 || ms[0]["failed_runs"] != 1.0 {
			t.Errorf("schedule metrics after pruning: %v, want 5 runs, 4 successful, 1 failed", ms)
		}
	})
}
