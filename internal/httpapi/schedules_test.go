package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"time"

	"github.com/apicron/apicron/internal/storetest"
)

func TestSchedules_CRUD(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		other := mustCreateTarget(t, e, "")

		var s schedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": " every-30 ", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 30}`, tg.ID), http.StatusCreated, &s)
		if s.ID <= 0 || s.JobID != fmt.Sprintf("schedule-%d", s.ID) || s.Name != "every-30" || s.TargetID != tg.ID || s.ScheduleType != "INTERVAL" || s.IntervalSeconds != 30 || s.Status != "ACTIVE" {
			t.Errorf("created %+v", s)
		}
		if s.DurationSeconds != nil || s.StoppedReason != nil || s.EndsAt != nil || s.RemainingSeconds != nil {
			t.Errorf("created %+v: want duration_seconds, stopped_reason, ends_at, remaining_seconds null", s)
		}
		if s.NextRunAt == nil || *s.NextRunAt != "2030-01-02T03:04:05.000Z" {
			t.Errorf("next_run_at = %v, want the first occurrence now", s.NextRunAt)
		}
		if got := e.notifier.take(); !slices.Equal(got, []int64{s.ID}) {
			t.Errorf("notified %v after create, want [%d]", got, s.ID)
		}
		path := fmt.Sprintf("/schedules/%d", s.ID)

		var w schedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "w", "target_id": %d, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 300}`, other.ID), http.StatusCreated, &w)
		if w.DurationSeconds == nil || *w.DurationSeconds != 300 || w.EndsAt == nil || *w.EndsAt != "2030-01-02T03:09:05.000Z" {
			t.Errorf("window %+v: want duration_seconds 300 and ends_at 5 minutes on", w)
		}
		e.notifier.take()

		t.Run("get", func(t *testing.T) {
			var got schedule
			e.expect(t, http.MethodGet, path, nil, http.StatusOK, &got)
			if got.ID != s.ID || got.JobID != s.JobID || got.Name != s.Name || got.UpdatedAt != s.UpdatedAt || *got.NextRunAt != *s.NextRunAt {
				t.Errorf("got %+v, want %+v", got, s)
			}
		})

		t.Run("list and filters", func(t *testing.T) {
			var list []schedule
			r := e.expect(t, http.MethodGet, "/schedules", nil, http.StatusOK, &list)
			if len(list) != 2 || r.header.Get("X-Total-Count") != "2" {
				t.Fatalf("list %+v, X-Total-Count %q", list, r.header.Get("X-Total-Count"))
			}
			e.expect(t, http.MethodGet, fmt.Sprintf("/schedules?target_id=%d", other.ID), nil, http.StatusOK, &list)
			if len(list) != 1 || list[0].ID != w.ID {
				t.Errorf("target_id filter: %+v", list)
			}
			if n := e.total(t, "/schedules?target_id=999"); n != 0 {
				t.Errorf("unknown target_id filter counts %d", n)
			}
			e.expect(t, http.MethodPost, path+"/pause", nil, http.StatusOK, nil)
			e.expect(t, http.MethodGet, "/schedules?status=PAUSED", nil, http.StatusOK, &list)
			if len(list) != 1 || list[0].ID != s.ID {
				t.Errorf("status filter: %+v", list)
			}
			if n := e.total(t, fmt.Sprintf("/schedules?status=ACTIVE&target_id=%d", tg.ID)); n != 0 {
				t.Errorf("status and target_id: %d, want 0", n)
			}
			if n := e.total(t, "/schedules?status=STOPPED"); n != 0 {
				t.Errorf("status=STOPPED: %d, want 0", n)
			}
			e.expect(t, http.MethodPost, path+"/resume", nil, http.StatusOK, nil)
			e.expectProblem(t, http.MethodGet, "/schedules?status=RUNNING", nil, 422, "query.status")
			e.expectProblem(t, http.MethodGet, "/schedules?status=active", nil, 422, "query.status")
			e.expectProblem(t, http.MethodGet, "/schedules?target_id=x", nil, 422, "query.target_id")
			e.expectProblem(t, http.MethodGet, "/schedules?target_id=0", nil, 422, "query.target_id")
			e.notifier.take()
		})

		t.Run("put a subset", func(t *testing.T) {
			var got schedule
			e.expect(t, http.MethodPut, path, `{"name": "every-10", "interval_seconds": 10}`, http.StatusOK, &got)
			if got.Name != "every-10" || got.IntervalSeconds != 10 || got.TargetID != tg.ID || got.ScheduleType != "INTERVAL" || got.Status != "ACTIVE" {
				t.Errorf("got %+v", got)
			}
			if ids := e.notifier.take(); !slices.Equal(ids, []int64{s.ID}) {
				t.Errorf("notified %v after update, want [%d]", ids, s.ID)
			}
		})

		t.Run("patch is put", func(t *testing.T) {
			var got schedule
			e.expect(t, http.MethodPatch, path, fmt.Sprintf(`{"target_id": %d}`, other.ID), http.StatusOK, &got)
			if got.TargetID != other.ID || got.Name != "every-10" {
				t.Errorf("got %+v", got)
			}
			e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", w.ID), `{"duration_seconds": 600}`, http.StatusOK, &got)
			if got.DurationSeconds == nil || *got.DurationSeconds != 600 || got.EndsAt == nil || *got.EndsAt != "2030-01-02T03:14:05.000Z" {
				t.Errorf("window after a longer duration: %+v", got)
			}
			e.notifier.take()
		})

		t.Run("delete", func(t *testing.T) {
			e.expect(t, http.MethodDelete, path, nil, http.StatusNoContent, nil)
			if ids := e.notifier.take(); !slices.Equal(ids, []int64{s.ID}) {
				t.Errorf("notified %v after delete, want [%d]", ids, s.ID)
			}
			e.expectProblem(t, http.MethodGet, path, nil, http.StatusNotFound, "")
			e.expectProblem(t, http.MethodDelete, path, nil, http.StatusNotFound, "")
			if ids := e.notifier.take(); len(ids) != 0 {
				t.Errorf("notified %v after a refused delete", ids)
			}
		})
	})
}

// TestSchedules_Validation checks every rule of apicron.Schedule.Validate and
// of the request, on create and update, and that a refused request stores nothing.
func TestSchedules_Validation(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		interval := mustCreateSchedule(t, e, tg.ID, 60)
		var window schedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "w", "target_id": %d, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 300}`, tg.ID), http.StatusCreated, &window)
		e.notifier.take()

		sched := func(fields string) string {
			return fmt.Sprintf(`{"name": "s", "target_id": %d%s}`, tg.ID, fields)
		}
		every := func(interval string) string {
			return sched(`, "schedule_type": "INTERVAL", "interval_seconds": ` + interval)
		}
		cases := []struct {
			name   string
			body   string
			status int
			loc    string
			// update applies the same body to the INTERVAL (or, with "window", the WINDOW) schedule.
			update string
		}{
			{"zero interval", every("0"), 422, "body.interval_seconds", `{"interval_seconds": 0}`},
			{"negative interval", every("-5"), 422, "body.interval_seconds", `{"interval_seconds": -5}`},
			{"interval over a year", every("31536001"), 422, "body.interval_seconds", `{"interval_seconds": 31536001}`},
			{"huge interval", every("1e20"), 422, "body.interval_seconds", `{"interval_seconds": 1e20}`},
			{"fractional interval", every("1.5"), 422, "body.interval_seconds", `{"interval_seconds": 1.5}`},
			{"interval as a string", every(`"10"`), 422, "body.interval_seconds", `{"interval_seconds": "10"}`},
			{"null interval", every("null"), 422, "body.interval_seconds", `{"interval_seconds": null}`},
			{"interval as a bool", every("true"), 422, "body.interval_seconds", `{"interval_seconds": true}`},
			{"missing interval", sched(`, "schedule_type": "INTERVAL"`), 422, "body.interval_seconds", ""},
			{"window without duration", sched(`, "schedule_type": "WINDOW", "interval_seconds": 10`), 422, "body.duration_seconds", ""},
			{"window shorter than interval", sched(`, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 9`), 422, "body.duration_seconds", `window{"duration_seconds": 9}`},
			{"window interval longer than duration", "", 0, "body.duration_seconds", `window{"interval_seconds": 301}`},
			{"window over ten years", sched(`, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 315360001`), 422, "body.duration_seconds", `window{"duration_seconds": 315360001}`},
			{"zero duration", sched(`, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 0`), 422, "body.duration_seconds", `window{"duration_seconds": 0}`},
			{"fractional duration", sched(`, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 30.5`), 422, "body.duration_seconds", `window{"duration_seconds": 30.5}`},
			{"duration on an interval schedule", sched(`, "schedule_type": "INTERVAL", "interval_seconds": 10, "duration_seconds": 300`), 422, "body.duration_seconds", `{"duration_seconds": 300}`},
			{"unknown schedule type", sched(`, "schedule_type": "HOURLY", "interval_seconds": 10`), 422, "body.schedule_type", `{"schedule_type": "HOURLY"}`},
			{"lower-case schedule type", sched(`, "schedule_type": "interval", "interval_seconds": 10`), 422, "body.schedule_type", ""},
			{"missing schedule type", sched(`, "interval_seconds": 10`), 422, "body.schedule_type", ""},
			{"schedule type cannot change", "", 0, "body.schedule_type", `{"schedule_type": "WINDOW", "duration_seconds": 600}`},
			{"target that does not exist", `{"name": "s", "target_id": 999, "schedule_type": "INTERVAL", "interval_seconds": 10}`, 422, "body.target_id", `{"target_id": 999}`},
			{"zero target", `{"name": "s", "target_id": 0, "schedule_type": "INTERVAL", "interval_seconds": 10}`, 422, "body.target_id", `{"target_id": 0}`},
			{"target as a string", `{"name": "s", "target_id": "1", "schedule_type": "INTERVAL", "interval_seconds": 10}`, 422, "body.target_id", `{"target_id": "1"}`},
			{"missing target", `{"name": "s", "schedule_type": "INTERVAL", "interval_seconds": 10}`, 422, "body.target_id", ""},
			{"empty name", fmt.Sprintf(`{"name": "", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 10}`, tg.ID), 422, "body.name", `{"name": ""}`},
			{"blank name", fmt.Sprintf(`{"name": "  ", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 10}`, tg.ID), 422, "body.name", `{"name": "  "}`},
			{"name over 200", fmt.Sprintf(`{"name": "%s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 10}`, strings.Repeat("n", 201), tg.ID), 422, "body.name", `{"name": "` + strings.Repeat("n", 201) + `"}`},
			{"missing name", fmt.Sprintf(`{"target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 10}`, tg.ID), 422, "body.name", `{"name": null}`},
			{"unknown field", every(`10, "status": "PAUSED"`), 422, "body.status", `{"status": "PAUSED"}`},
			{"cron field", every(`10, "cron": "* * * * *"`), 422, "body.cron", `{"cron": "* * * * *"}`},
			{"malformed JSON", `{"name": "s", "target_id": 1,`, 400, "body", `{"name": `},
			{"not an object", `"s"`, 422, "body", `[]`},
			{"body over 1 MiB", every(`10, "x": "` + strings.Repeat("x", 1<<20) + `"`), 413, "", `{"name": "` + strings.Repeat("x", 1<<20) + `"}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.total(t, "/schedules")
				if c.body != "" {
					loc := c.loc
					if c.status == 413 {
						loc = ""
					}
					p := e.expectProblem(t, http.MethodPost, "/schedules", c.body, c.status, loc)
					if c.status == 422 && loc != "body" && !strings.Contains(p.Detail, strings.TrimPrefix(c.loc, "body.")) {
						t.Errorf("detail %q does not name the field of %s", p.Detail, c.loc)
					}
				}
				if c.update != "" {
					s, body := interval, c.update
					if b, ok := strings.CutPrefix(body, "window"); ok {
						s, body = window, b
					}
					path := fmt.Sprintf("/schedules/%d", s.ID)
					status, loc := c.status, c.loc
					if status == 0 {
						status = 422
					}
					if status == 413 {
						loc = ""
					}
					was := e.expect(t, http.MethodGet, path, nil, http.StatusOK, nil)
					e.expectProblem(t, http.MethodPut, path, body, status, loc)
					now := e.expect(t, http.MethodGet, path, nil, http.StatusOK, nil)
					if string(was.body) != string(now.body) {
						t.Errorf("refused update changed the schedule: %s -> %s", was.body, now.body)
					}
				}
				if after := e.total(t, "/schedules"); after != before {
					t.Errorf("X-Total-Count %d -> %d: a refused schedule was stored", before, after)
				}
				if ids := e.notifier.take(); len(ids) != 0 {
					t.Errorf("notified %v about a refused request", ids)
				}
			})
		}

		t.Run("limits are inclusive", func(t *testing.T) {
			for _, body := range []string{
				every("1"),
				every("31536000"),
				every("10.0"),
				every("1e3"),
				sched(`, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 10`),
				sched(`, "schedule_type": "WINDOW", "interval_seconds": 1, "duration_seconds": 315360000`),
				sched(`, "schedule_type": "INTERVAL", "interval_seconds": 10, "duration_seconds": null`),
			} {
				var s schedule
				e.expect(t, http.MethodPost, "/schedules", body, http.StatusCreated, &s)
			}
			var s schedule
			e.expect(t, http.MethodPost, "/schedules", every("1e3"), http.StatusCreated, &s)
			if s.IntervalSeconds != 1000 {
				t.Errorf("1e3 stored as %d", s.IntervalSeconds)
			}
		})
	})
}

func TestSchedules_PauseResume(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		s := mustCreateSchedule(t, e, tg.ID, 30)
		path := fmt.Sprintf("/schedules/%d", s.ID)
		e.notifier.take()

		var got schedule
		e.expect(t, http.MethodPost, path+"/pause", nil, http.StatusOK, &got)
		if got.Status != "PAUSED" || got.NextRunAt != nil {
			t.Errorf("after pause: %+v, want PAUSED without next_run_at", got)
		}
		e.expect(t, http.MethodPost, path+"/pause", nil, http.StatusOK, &got)
		if got.Status != "PAUSED" {
			t.Errorf("pausing a paused schedule: %+v", got)
		}
		e.clock.Add(45 * time.Second)
		e.expect(t, http.MethodPost, path+"/resume", nil, http.StatusOK, &got)
		// Created at 03:04:05 every 30 s: the grid continues, and 03:04:35 fell while paused.
		if got.Status != "ACTIVE" || got.NextRunAt == nil || *got.NextRunAt != "2030-01-02T03:05:05.000Z" {
			t.Errorf("after resume: %+v, want ACTIVE and due at the grid's next point", got)
		}
		e.expect(t, http.MethodPost, path+"/resume", nil, http.StatusOK, &got)
		if got.Status != "ACTIVE" {
			t.Errorf("resuming an active schedule: %+v", got)
		}
		if ids := e.notifier.take(); len(ids) != 4 {
			t.Errorf("notified %v, want one per pause and resume", ids)
		}

		t.Run("window keeps its remaining time", func(t *testing.T) {
			var w schedule
			e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "w", "target_id": %d, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 300}`, tg.ID), http.StatusCreated, &w)
			wpath := fmt.Sprintf("/schedules/%d", w.ID)
			e.clock.Add(100 * time.Second)
			e.expect(t, http.MethodPost, wpath+"/pause", nil, http.StatusOK, &got)
			if got.Status != "PAUSED" || got.RemainingSeconds == nil || *got.RemainingSeconds != 200 || got.EndsAt != nil {
				t.Errorf("paused window: %+v, want remaining_seconds 200", got)
			}
			e.clock.Add(time.Hour)
			e.expect(t, http.MethodPost, wpath+"/resume", nil, http.StatusOK, &got)
			want := e.clock.Now().Add(200 * time.Second).Format("2006-01-02T15:04:05.000Z")
			if got.Status != "ACTIVE" || got.RemainingSeconds != nil || got.EndsAt == nil || *got.EndsAt != want {
				t.Errorf("resumed window: %+v, want ends_at %s", got, want)
			}
		})

		t.Run("a stopped window cannot be resumed or paused", func(t *testing.T) {
			var w schedule
			e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "short", "target_id": %d, "schedule_type": "WINDOW", "interval_seconds": 1, "duration_seconds": 2}`, tg.ID), http.StatusCreated, &w)
			e.clock.Add(3 * time.Second)
			if _, err := e.db.Claim(context.Background(), e.clock.Now(), e.clock.Now(), []int64{w.ID}, nil); err != nil {
				t.Fatal(err)
			}
			wpath := fmt.Sprintf("/schedules/%d", w.ID)
			e.expect(t, http.MethodGet, wpath, nil, http.StatusOK, &got)
			if got.Status != "STOPPED" || got.StoppedReason == nil || *got.StoppedReason != "window_elapsed" || got.NextRunAt != nil {
				t.Fatalf("elapsed window: %+v, want STOPPED (window_elapsed)", got)
			}
			e.notifier.take()
			p := e.expectProblem(t, http.MethodPost, wpath+"/resume", nil, http.StatusConflict, "")
			if !strings.Contains(p.Detail, "STOPPED") {
				t.Errorf("detail %q does not say why", p.Detail)
			}
			e.expectProblem(t, http.MethodPost, wpath+"/pause", nil, http.StatusConflict, "")
			if ids := e.notifier.take(); len(ids) != 0 {
				t.Errorf("notified %v about refused transitions", ids)
			}
			e.expect(t, http.MethodGet, wpath, nil, http.StatusOK, &got)
			if got.Status != "STOPPED" {
				t.Errorf("after refused transitions: %+v", got)
			}
			if n := e.total(t, "/schedules?status=STOPPED"); n != 1 {
				t.Errorf("status=STOPPED counts %d", n)
			}
		})
	})
}

func TestTargets_DeleteWithSchedules(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		s1 := mustCreateSchedule(t, e, tg.ID, 10)
		s2 := mustCreateSchedule(t, e, tg.ID, 20)
		path := fmt.Sprintf("/targets/%d", tg.ID)

		p := e.expectProblem(t, http.MethodDelete, path, nil, http.StatusConflict, "")
		if !strings.Contains(p.Detail, "2 schedule") {
			t.Errorf("detail %q does not say how many schedules use the target", p.Detail)
		}
		e.expect(t, http.MethodGet, path, nil, http.StatusOK, nil)

		e.expect(t, http.MethodDelete, fmt.Sprintf("/schedules/%d", s1.ID), nil, http.StatusNoContent, nil)
		p = e.expectProblem(t, http.MethodDelete, path, nil, http.StatusConflict, "")
		if !strings.Contains(p.Detail, "1 schedule") {
			t.Errorf("detail %q does not say how many schedules use the target", p.Detail)
		}
		e.expect(t, http.MethodDelete, fmt.Sprintf("/schedules/%d", s2.ID), nil, http.StatusNoContent, nil)
		e.expect(t, http.MethodDelete, path, nil, http.StatusNoContent, nil)
		if n := e.total(t, "/targets"); n != 0 {
			t.Errorf("%d targets left", n)
		}
	})
}
