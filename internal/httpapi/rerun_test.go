package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// retry_interrupted: false unless set, set on create and by PATCH, a
// value not a boolean refused naming the field (nothing changed); a run
// says how many times it was sent again and, on GET /runs/{id}, why.
func TestAPI_RetryInterrupted(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		type sched struct {
			ID               int64 `json:"id"`
			RetryInterrupted bool  `json:"retry_interrupted"`
		}
		var plain, again sched
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "plain", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 60}`, tg.ID),
			http.StatusCreated, &plain)
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "again", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 60, "retry_interrupted": true}`, tg.ID),
			http.StatusCreated, &again)
		if plain.RetryInterrupted || !again.RetryInterrupted {
			t.Fatalf("created: plain %v, again %v", plain.RetryInterrupted, again.RetryInterrupted)
		}
		e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", again.ID), `{"retry_interrupted": "yes"}`,
			http.StatusUnprocessableEntity, "body.retry_interrupted")
		var got sched
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", again.ID), nil, http.StatusOK, &got)
		if !got.RetryInterrupted {
			t.Fatal("a refused PATCH changed retry_interrupted")
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", plain.ID), `{"retry_interrupted": true}`, http.StatusOK, &got)
		if !got.RetryInterrupted {
			t.Fatal("PATCH did not set retry_interrupted")
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", plain.ID), `{"name": "renamed"}`, http.StatusOK, &got)
		if !got.RetryInterrupted {
			t.Fatal("a PATCH without it changed retry_interrupted")
		}

		// A run left RUNNING by a stopped process, given back at start.
		ctx := context.Background()
		now := e.clock.Now()
		res, err := e.db.Claim(ctx, now, now, []int64{again.ID}, nil)
		if err != nil || res[0].Job == nil {
			t.Fatalf("claim: %v %v", res, err)
		}
		if _, jobs, err := e.db.ResumeRunning(ctx, now.Add(time.Second), "apicron stopped before the run finished"); err != nil || len(jobs) != 1 {
			t.Fatalf("resume: %v %v", jobs, err)
		}
		var list []struct {
			ID          int64   `json:"id"`
			Reruns      int     `json:"reruns"`
			RerunReason *string `json:"rerun_reason"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs?schedule_id=%d", again.ID), nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].Reruns != 1 {
			t.Fatalf("runs: %+v", list)
		}
		var run struct {
			Status      string  `json:"status"`
			Reruns      int     `json:"reruns"`
			RerunReason *string `json:"rerun_reason"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", list[0].ID), nil, http.StatusOK, &run)
		if run.Status != string(apicron.Running) || run.Reruns != 1 || run.RerunReason == nil ||
			*run.RerunReason != "apicron stopped before the run finished" {
			t.Fatalf("run: %+v", run)
		}
	})
}
