package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// An edit form whose target lies beyond the first page of choices still
// offers it, selected: saved unchanged, the schedule keeps its target.
func TestScheduleForm_TargetBeyondTheChoices(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	ctx := context.Background()
	var last *apicron.Target
	for i := range 201 {
		last = &apicron.Target{Name: fmt.Sprintf("t%d", i), URL: "https://example.com/", Method: "GET"}
		if err := e.db.CreateTarget(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	s := &apicron.Schedule{Name: "s", TargetID: last.ID, Type: apicron.Interval, IntervalSeconds: 60}
	if err := e.db.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	_, page := e.get(t, fmt.Sprintf("/ui/schedules/%d/edit", s.ID))
	if !strings.Contains(page, fmt.Sprintf(`<option value="%d" selected>`, last.ID)) {
		t.Fatalf("the edit form does not offer target %d, selected", last.ID)
	}
}

// After a refused save, a password or token typed in comes back empty, not
// as the stored one's mask: sent again, a mask would keep the old secret of
// another scheme. The mask of a scheme the target lacks is refused.
func TestTargetForm_AuthSwitchAfterAnError(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	ctx := context.Background()
	tg := &apicron.Target{Name: "t", URL: "https://example.com/", Method: "GET", Headers: map[string]string{"Authorization": "Bearer old-token"}}
	if err := e.db.CreateTarget(ctx, tg); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/ui/targets/%d", tg.ID)
	v := url.Values{"name": {"t"}, "method": {"GET"}, "url": {"ftp://nope"}, "retry_default": {"on"}, "auth": {"basic"},
		"auth_username": {"u"}, "auth_password": {"new-pass"}}
	code, _, body := e.post(t, path, v)
	if code != http.StatusUnprocessableEntity || strings.Contains(body, `value="new-pass"`) || strings.Contains(body, `id="auth_password" name="auth_password" type="password" value="********"`) {
		i := strings.Index(body, "auth_password")
		t.Fatalf("bad url: %d; the password must come back empty: %s", code, body[max(i-200, 0):min(i+300, len(body))])
	}
	v.Set("url", "https://example.com/")
	v.Set("auth_password", apicron.MaskedValue)
	if code, _, _ := e.post(t, path, v); code != http.StatusUnprocessableEntity {
		t.Fatalf("basic with the mask of a bearer token: %d, want 422", code)
	}
	got, _ := e.db.FindTargetByID(ctx, tg.ID)
	if got.Headers["Authorization"] != "Bearer old-token" {
		t.Fatalf("Authorization %q changed by refused saves", got.Headers["Authorization"])
	}
}

// "none" removes an OAuth 2.0 configuration too.
func TestTargetForm_NoneRemovesOAuth2(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	ctx := context.Background()
	tg := &apicron.Target{Name: "t", URL: "https://example.com/", Method: "GET",
		OAuth2: &apicron.OAuth2{TokenURL: "https://auth.example.com/token", ClientID: "id", ClientSecret: "s3cret"}}
	if err := e.db.CreateTarget(ctx, tg); err != nil {
		t.Fatal(err)
	}
	v := url.Values{"name": {"t"}, "method": {"GET"}, "url": {"https://example.com/"}, "retry_default": {"on"}, "auth": {"none"}}
	if code, _, body := e.post(t, fmt.Sprintf("/ui/targets/%d", tg.ID), v); code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", code, body)
	}
	if got, _ := e.db.FindTargetByID(ctx, tg.ID); got.OAuth2 != nil {
		t.Fatalf("OAuth2 %+v kept after choosing none", got.OAuth2)
	}
}

// Saving a form whose times were not edited leaves them, so a ONCE
// schedule whose run_at has passed can still be renamed; a time in a DST
// gap is refused, saying so.
func TestScheduleForm_TimesLeftAlone(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	ctx := context.Background()
	tg := &apicron.Target{Name: "t", URL: "https://example.com/", Method: "GET"}
	if err := e.db.CreateTarget(ctx, tg); err != nil {
		t.Fatal(err)
	}
	runAt := e.clock.Now().Add(time.Hour)
	s := &apicron.Schedule{Name: "once", TargetID: tg.ID, Type: apicron.Once, RunAt: &runAt, Timezone: "Europe/Paris"}
	if err := e.db.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(runAt.Add(2 * time.Hour))
	shown := runAt.In(mustZone(t, "Europe/Paris")).Format("2006-01-02T15:04")
	v := url.Values{"name": {"renamed"}, "target_id": {fmt.Sprint(tg.ID)}, "schedule_type": {"ONCE"}, "run_at": {shown},
		"timezone": {"Europe/Paris"}, "overlap_policy": {"skip"}, "misfire_policy": {"coalesce"}}
	if code, _, body := e.post(t, fmt.Sprintf("/ui/schedules/%d", s.ID), v); code != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", code, body)
	}
	if got, _ := e.db.FindScheduleByID(ctx, s.ID); got.Name != "renamed" || !got.RunAt.Equal(runAt) {
		t.Fatalf("after rename: %q, run_at %v (was %v)", got.Name, got.RunAt, runAt)
	}
	v = url.Values{"name": {"gap"}, "target_id": {fmt.Sprint(tg.ID)}, "schedule_type": {"INTERVAL"}, "interval_seconds": {"60"},
		"start_at": {"2026-03-29T02:30"}, "timezone": {"Europe/Paris"}, "overlap_policy": {"skip"}, "misfire_policy": {"coalesce"}}
	if code, _, body := e.post(t, "/ui/schedules", v); code != http.StatusUnprocessableEntity || !strings.Contains(body, "does not exist in Europe/Paris") {
		i := strings.Index(body, "does not exist")
		t.Fatalf("a start in the DST gap: %d, want 422 saying the time does not exist: %s", code, body[max(i-300, 0):min(i+300, len(body))])
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
