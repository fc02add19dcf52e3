package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/storetest"
)

type preview struct {
	ScheduleType string `json:"schedule_type"`
	Timezone     string `json:"timezone"`
	Status       string `json:"status"`
	Occurrences  []struct {
		At        string  `json:"at"`
		Local     string  `json:"local"`
		UTCOffset string  `json:"utc_offset"`
		Zone      string  `json:"zone"`
		DSTRule   *string `json:"dst_rule"`
	} `json:"occurrences"`
}

func TestSchedules_Cron(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.DefaultTimezone = "Europe/Paris" })
		tg := mustCreateTarget(t, e, "")
		// The clock is at 2030-01-02 03:04:05 UTC, 04:04:05 in Paris.
		var s schedule
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(
			`{"name": "weekday-nine", "target_id": %d, "schedule_type": "CRON", "cron_expression": "0 9 * * MON-FRI"}`, tg.ID),
			http.StatusCreated, &s)
		if s.ScheduleType != "CRON" || s.CronExpression == nil || *s.CronExpression != "0 9 * * MON-FRI" ||
			s.Timezone != "Europe/Paris" || s.Status != "ACTIVE" || s.NextRunAt == nil || *s.NextRunAt != "2030-01-02T08:00:00.000Z" {
			t.Fatalf("created %+v (next %v), want a CRON schedule in Europe/Paris next at 2030-01-02T08:00:00Z", s, deref(s.NextRunAt))
		}
		r := e.do(t, http.MethodGet, fmt.Sprintf("/schedules/%d", s.ID), nil)
		if !strings.Contains(string(r.body), `"interval_seconds":null`) {
			t.Errorf("CRON schedule JSON %s, want interval_seconds null", r.body)
		}

		// Preview: the next three weekdays at 09:00 Paris time.
		var p preview
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d/preview?n=3", s.ID), nil, http.StatusOK, &p)
		want := []string{"2030-01-02T09:00:00+01:00", "2030-01-03T09:00:00+01:00", "2030-01-04T09:00:00+01:00"}
		if len(p.Occurrences) != 3 || p.Timezone != "Europe/Paris" {
			t.Fatalf("preview %+v", p)
		}
		for i, o := range p.Occurrences {
			if o.Local != want[i] || o.UTCOffset != "+01:00" || o.Zone != "CET" || o.DSTRule != nil {
				t.Errorf("occurrence %d: %+v, want local %s", i, o, want[i])
			}
		}

		// A new zone replans from now; a bad one changes nothing.
		var u schedule
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", s.ID), `{"timezone": "America/New_York"}`, http.StatusOK, &u)
		if u.Timezone != "America/New_York" || deref(u.NextRunAt) != "2030-01-02T14:00:00.000Z" {
			t.Fatalf("after the zone change: %s next %s, want America/New_York next 2030-01-02T14:00:00Z", u.Timezone, deref(u.NextRunAt))
		}
		for body, loc := range map[string]string{
			`{"timezone": "Mars/Olympus"}`:                    "body.timezone",
			`{"cron_expression": "0 25 * * *"}`:               "body.cron_expression",
			`{"cron_expression": null}`:                       "body.cron_expression",
			`{"interval_seconds": 60}`:                        "body.interval_seconds",
			`{"cron_expression": "0 0 31 2 *"}`:               "body.cron_expression",
			`{"cron_expression": "@every 5m"}`:                "body.cron_expression",
			`{"timezone": "` + strings.Repeat("x", 65) + `"}`: "body.timezone",
		} {
			e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", s.ID), body, http.StatusUnprocessableEntity, loc)
		}
		var after schedule
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", s.ID), nil, http.StatusOK, &after)
		if after.Timezone != "America/New_York" || deref(after.CronExpression) != "0 9 * * MON-FRI" || deref(after.NextRunAt) != "2030-01-02T14:00:00.000Z" {
			t.Fatalf("refused updates changed the schedule: %+v", after)
		}

		// A paused schedule previews as if resumed now; a stopped one... is not reachable for CRON yet.
		e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/pause", s.ID), nil, http.StatusOK, nil)
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d/preview", s.ID), nil, http.StatusOK, &p)
		if p.Status != "PAUSED" || len(p.Occurrences) != 10 || p.Occurrences[0].At != "2030-01-02T14:00:00.000Z" {
			t.Fatalf("paused preview %+v", p)
		}
		e.expectProblem(t, http.MethodGet, fmt.Sprintf("/schedules/%d/preview?n=101", s.ID), nil, http.StatusUnprocessableEntity, "query.n")
		e.expectProblem(t, http.MethodGet, "/schedules/999/preview", nil, http.StatusNotFound, "")
	})
}

func TestSchedules_CronValidation(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		body := func(fields string) string {
			return fmt.Sprintf(`{"name": "c", "target_id": %d, "schedule_type": "CRON"%s}`, tg.ID, fields)
		}
		for _, c := range []struct{ body, loc, says string }{
			{body(``), "body.cron_expression", "required"},
			{body(`, "cron_expression": ""`), "body.cron_expression", "required"},
			{body(`, "cron_expression": "* * * *"`), "body.cron_expression", "5 fields"},
			{body(`, "cron_expression": "0 9 * * MON-XYZ"`), "body.cron_expression", "day of week field"},
			{body(`, "cron_expression": "*/0 * * * *"`), "body.cron_expression", "step"},
			{body(`, "cron_expression": "0 0 30 2 *"`), "body.cron_expression", "never matches"},
			{body(`, "cron_expression": "0 9 * * *", "timezone": "Europe/Atlantis"`), "body.timezone", "unknown time zone"},
			{body(`, "cron_expression": "0 9 * * *", "timezone": "Local"`), "body.timezone", "IANA"},
			{body(`, "cron_expression": "0 9 * * *", "interval_seconds": 60`), "body.interval_seconds", "not allowed on CRON"},
			{body(`, "cron_expression": "0 9 * * *", "duration_seconds": 60`), "body.duration_seconds", "only allowed on WINDOW"},
			{fmt.Sprintf(`{"name": "i", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 5, "cron_expression": "* * * * *"}`, tg.ID),
				"body.cron_expression", "only allowed on CRON"},
			{fmt.Sprintf(`{"name": "i", "target_id": %d, "schedule_type": "INTERVAL"}`, tg.ID), "body.interval_seconds", "required for INTERVAL"},
		} {
			before := e.total(t, "/schedules")
			p := e.expectProblem(t, http.MethodPost, "/schedules", c.body, http.StatusUnprocessableEntity, c.loc)
			if !strings.Contains(p.Detail, c.says) {
				t.Errorf("%s: detail %q, want it to say %q", c.body, p.Detail, c.says)
			}
			if after := e.total(t, "/schedules"); after != before {
				t.Errorf("%s: a refused create changed the schedules (%d -> %d)", c.body, before, after)
			}
		}
		// The UTC default, and an INTERVAL schedule shows its zone too.
		var s schedule
		e.expect(t, http.MethodPost, "/schedules", body(`, "cron_expression": "@hourly"`), http.StatusCreated, &s)
		if s.Timezone != "UTC" || deref(s.NextRunAt) != "2030-01-02T04:00:00.000Z" {
			t.Fatalf("@hourly in the default zone: %s next %s", s.Timezone, deref(s.NextRunAt))
		}
	})
}

func TestSchedules_PreviewUnsaved(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		e.clock.Set(time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC))
		before := e.total(t, "/schedules")
		var p preview
		e.expect(t, http.MethodPost, "/schedules/preview?n=3",
			`{"name": "report", "target_id": 7, "schedule_type": "CRON", "cron_expression": "30 2 * * *", "timezone": "America/New_York"}`,
			http.StatusOK, &p)
		if len(p.Occurrences) != 3 {
			t.Fatalf("preview %+v", p)
		}
		gap := p.Occurrences[1]
		if p.Occurrences[0].Local != "2026-03-07T02:30:00-05:00" || gap.Local != "2026-03-08T03:00:00-04:00" ||
			gap.At != "2026-03-08T07:00:00.000Z" || gap.Zone != "EDT" || gap.DSTRule == nil || *gap.DSTRule != "gap" ||
			p.Occurrences[2].Local != "2026-03-09T02:30:00-04:00" {
			t.Fatalf("preview through the spring gap: %+v", p.Occurrences)
		}
		// The fall back: an hourly expression fires at both 01:00s.
		e.clock.Set(time.Date(2026, 11, 1, 4, 30, 0, 0, time.UTC))
		e.expect(t, http.MethodPost, "/schedules/preview?n=3", `{"schedule_type": "CRON", "cron_expression": "0 * * * *", "timezone": "America/New_York"}`,
			http.StatusOK, &p)
		got := []string{}
		for _, o := range p.Occurrences {
			got = append(got, o.Local+" "+deref(o.DSTRule))
		}
		if strings.Join(got, ", ") != "2026-11-01T01:00:00-04:00 both_first, 2026-11-01T01:00:00-05:00 both_second, 2026-11-01T02:00:00-05:00 " {
			t.Fatalf("preview through the fall back: %v", got)
		}
		// INTERVAL previews its grid from now.
		e.expect(t, http.MethodPost, "/schedules/preview?n=2", `{"schedule_type": "INTERVAL", "interval_seconds": 90}`, http.StatusOK, &p)
		if len(p.Occurrences) != 2 || p.Occurrences[0].At != "2026-11-01T04:30:00.000Z" || p.Occurrences[1].At != "2026-11-01T04:31:30.000Z" {
			t.Fatalf("interval preview %+v", p.Occurrences)
		}
		e.expectProblem(t, http.MethodPost, "/schedules/preview", `{"schedule_type": "CRON", "cron_expression": "61 * * * *"}`, http.StatusUnprocessableEntity, "body.cron_expression")
		e.expectProblem(t, http.MethodPost, "/schedules/preview", `{"schedule_type": "CRON", "cron_expression": "* * * * *", "status": "x"}`, http.StatusUnprocessableEntity, "body.status")
		if after := e.total(t, "/schedules"); after != before {
			t.Fatalf("preview stored a schedule (%d -> %d)", before, after)
		}
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
