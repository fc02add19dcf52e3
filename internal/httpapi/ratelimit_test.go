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

type rateLimitJSON struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// TestTargets_RateLimit: rate_limit is created with its default burst,
// replaced, refused out of bounds with 422 on the field, and removed by
// null; a run's waited_ms is in its JSON, 0 when it did not wait.
func TestTargets_RateLimit(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		type tgt struct {
			ID        int64          `json:"id"`
			RateLimit *rateLimitJSON `json:"rate_limit"`
		}
		var plain tgt
		e.expect(t, http.MethodGet, fmt.Sprintf("/targets/%d", mustCreateTarget(t, e, "").ID), nil, http.StatusOK, &plain)
		if plain.RateLimit != nil {
			t.Errorf("a target without rate_limit shows %+v, want null", plain.RateLimit)
		}
		var c tgt
		e.expect(t, http.MethodPost, "/targets", `{"name": "r", "url": "https://example.com/", "rate_limit": {"per_second": 0.5}}`,
			http.StatusCreated, &c)
		if c.RateLimit == nil || *c.RateLimit != (rateLimitJSON{PerSecond: 0.5, Burst: 1}) {
			t.Errorf("created with per_second 0.5: %+v, want burst 1", c.RateLimit)
		}
		path := fmt.Sprintf("/targets/%d", c.ID)
		e.expect(t, http.MethodPatch, path, `{"rate_limit": {"per_second": 5, "burst": 10}}`, http.StatusOK, &c)
		if c.RateLimit == nil || *c.RateLimit != (rateLimitJSON{PerSecond: 5, Burst: 10}) {
			t.Errorf("patched: %+v", c.RateLimit)
		}
		e.expect(t, http.MethodPatch, path, `{"rate_limit": {"per_second": 2.5}}`, http.StatusOK, &c)
		if c.RateLimit == nil || *c.RateLimit != (rateLimitJSON{PerSecond: 2.5, Burst: 3}) {
			t.Errorf("patched without burst: %+v, want the default ceil(2.5) = 3", c.RateLimit)
		}
		for _, bad := range []struct{ body, loc string }{
			{`{"rate_limit": {"per_second": 0}}`, "body.rate_limit.per_second"},
			{`{"rate_limit": {"per_second": -1}}`, "body.rate_limit.per_second"},
			{`{"rate_limit": {"per_second": 0.00001}}`, "body.rate_limit.per_second"},
			{`{"rate_limit": {"per_second": 10001}}`, "body.rate_limit.per_second"},
			{`{"rate_limit": {"per_second": 1, "burst": 0}}`, "body.rate_limit.burst"},
			{`{"rate_limit": {"per_second": 1, "burst": 1.5}}`, "body.rate_limit.burst"},
			{`{"rate_limit": {"per_second": 1, "burst": 10001}}`, "body.rate_limit.burst"},
			{`{"rate_limit": {"burst": 2}}`, "body.rate_limit.per_second"},
			{`{"rate_limit": {"per_second": 1, "rps": 2}}`, "body.rate_limit.rps"},
		} {
			e.expectProblem(t, http.MethodPatch, path, bad.body, http.StatusUnprocessableEntity, bad.loc)
			e.expectProblem(t, http.MethodPost, "/targets", `{"name": "x", "url": "https://example.com/", `+bad.body[1:],
				http.StatusUnprocessableEntity, bad.loc)
		}
		e.expect(t, http.MethodGet, path, nil, http.StatusOK, &c)
		if c.RateLimit == nil || c.RateLimit.PerSecond != 2.5 {
			t.Errorf("refused updates changed the rate limit to %+v", c.RateLimit)
		}
		e.expect(t, http.MethodPatch, path, `{"name": "renamed"}`, http.StatusOK, &c)
		if c.RateLimit == nil || c.RateLimit.PerSecond != 2.5 {
			t.Errorf("an update without rate_limit changed it to %+v", c.RateLimit)
		}
		e.expect(t, http.MethodPatch, path, `{"rate_limit": null}`, http.StatusOK, &c)
		if c.RateLimit != nil {
			t.Errorf("after null: %+v, want none", c.RateLimit)
		}

		// waited_ms, in the run's JSON.
		s := mustCreateSchedule(t, e, c.ID, 10)
		now := e.clock.Now()
		res, err := e.db.Claim(context.Background(), now, now, []int64{s.ID}, nil)
		if err != nil || len(res) != 1 || res[0].Job == nil {
			t.Fatalf("claim: %+v, %v", res, err)
		}
		lat := 5.0
		if err := e.db.Finish(context.Background(), []apicron.RunResult{{RunID: res[0].Job.RunID, ScheduleID: s.ID,
			StartedAt: now.Add(1500 * time.Millisecond), FinishedAt: now.Add(1505 * time.Millisecond), Waited: 1500 * time.Millisecond,
			Outcome: apicron.Outcome{Status: apicron.Success, LatencyMs: &lat}}}); err != nil {
			t.Fatal(err)
		}
		var r struct {
			WaitedMs   *int64 `json:"waited_ms"`
			LatenessMs int64  `json:"lateness_ms"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs/%d", res[0].Job.RunID), nil, http.StatusOK, &r)
		if r.WaitedMs == nil || *r.WaitedMs != 1500 || r.LatenessMs != 1500 {
			t.Errorf("run waited_ms %v, lateness_ms %d; want 1500 and 1500", r.WaitedMs, r.LatenessMs)
		}
		other := mustRun(t, e, mustCreateSchedule(t, e, plain.ID, 10).ID, apicron.Success, 200, 10)
		var list []struct {
			ID       int64  `json:"id"`
			WaitedMs *int64 `json:"waited_ms"`
		}
		e.expect(t, http.MethodGet, "/runs", nil, http.StatusOK, &list)
		for _, l := range list {
			want := int64(0)
			if l.ID == res[0].Job.RunID {
				want = 1500
			} else if l.ID != other {
				continue
			}
			if l.WaitedMs == nil || *l.WaitedMs != want {
				t.Errorf("run %d listed with waited_ms %v, want %d", l.ID, l.WaitedMs, want)
			}
		}
	})
}
