package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
	"github.com/apicron/apicron/internal/web"
)

// formEnv is the dashboard alone over a real store, posted to as a
// same-origin browser does.
type formEnv struct {
	ui    *web.Handler
	db    *store.DB
	clock *storetest.Clock
}

func newFormEnv(t *testing.T) *formEnv {
	t.Helper()
	e := &formEnv{clock: storetest.NewClock(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC))}
	e.db = storetest.Open(t, "sqlite", e.clock)
	ui, err := web.New(web.Config{Store: e.db, Dispatcher: &dispatched{}, Clock: e.clock,
		Executor: executor.New(executor.Config{}), AssertionCheckFunc: executor.CheckAssertions, DefaultTimezone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	e.ui = ui
	return e
}

// post sends a form and returns the status, the Location and the body.
func (e *formEnv) post(t *testing.T, path string, form url.Values) (int, string, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	e.ui.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Header().Get("Location"), string(b)
}

func (e *formEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	e.ui.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w.Code, w.Body.String()
}

func targetValues(name, rawURL string) url.Values {
	return url.Values{"name": {name}, "method": {"POST"}, "url": {rawURL}, "retry_default": {"on"}, "auth": {"none"},
		"header_name": {"X-Api-Key", "X-Team", ""}, "header_value": {"k3y-secret", "payments", ""}, "header_secret": {"0"}}
}

// A target made and edited from its form keeps its secret header when the
// mask comes back, and a validation error is shown beside its field
// without echoing a secret.
func TestTargetForm_CreateEditKeepsSecrets(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	code, loc, body := e.post(t, "/ui/targets", targetValues("billing", "https://billing.example/hook"))
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/targets/") {
		t.Fatalf("create: %d %q %s", code, loc, body)
	}
	list, _, err := e.db.FindTargets(context.Background(), apicron.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("targets: %v %v", list, err)
	}
	tg := list[0]
	if tg.Headers["X-Api-Key"] != "k3y-secret" || !tg.IsSecretHeader("X-Api-Key") {
		t.Fatalf("stored headers %v, secret %v", tg.Headers, tg.SecretHeaders)
	}
	_, page := e.get(t, loc)
	if strings.Contains(page, "k3y-secret") || !strings.Contains(page, `value="********"`) {
		t.Fatalf("the edit form shows the secret in clear or not masked")
	}

	v := targetValues("billing-2", "https://billing.example/v2")
	v["header_value"] = []string{apicron.MaskedValue, "payments", ""}
	v.Set("auth", "bearer")
	v.Set("auth_token", "tok-123")
	if code, _, body := e.post(t, loc, v); code != http.StatusSeeOther {
		t.Fatalf("update: %d %s", code, body)
	}
	tg, _ = e.db.FindTargetByID(context.Background(), tg.ID)
	if tg.Name != "billing-2" || tg.Headers["X-Api-Key"] != "k3y-secret" || tg.Headers["Authorization"] != "Bearer tok-123" {
		t.Fatalf("after update: %s %v", tg.Name, tg.Headers)
	}
	// Sent back masked, the token stays; a bad URL is refused beside its field.
	v.Set("auth_token", apicron.MaskedValue)
	v.Set("url", "ftp://nope")
	v["header_value"] = []string{"typed-new-secret", "payments", ""}
	code, _, body = e.post(t, loc, v)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-url"`) {
		t.Fatalf("bad url: %d, no message beside the field: %s", code, body)
	}
	if strings.Contains(body, "typed-new-secret") || strings.Contains(body, "tok-123") {
		t.Error("the re-rendered form echoes a secret")
	}
	if !strings.Contains(body, "ftp://nope") {
		t.Error("the re-rendered form lost what was typed")
	}
	v.Set("url", "https://billing.example/v3")
	v["header_value"] = []string{apicron.MaskedValue, "payments", ""}
	if code, _, body := e.post(t, loc, v); code != http.StatusSeeOther {
		t.Fatalf("update: %d %s", code, body)
	}
	tg, _ = e.db.FindTargetByID(context.Background(), tg.ID)
	if tg.Headers["Authorization"] != "Bearer tok-123" || tg.Headers["X-Api-Key"] != "k3y-secret" {
		t.Fatalf("masks did not keep the secrets: %v", tg.Headers)
	}
	// Bad assertions JSON is refused on its field.
	v.Set("assertions", `[{"type": "nope"}]`)
	if code, _, body := e.post(t, loc, v); code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-assertions"`) {
		t.Fatalf("bad assertions: %d %s", code, body)
	}
	// Generate a signing secret: shown once.
	v.Set("assertions", `[{"type": "status", "in": ["2xx"]}]`)
	v.Set("signing_generate", "on")
	code, _, body = e.post(t, loc, v)
	if code != http.StatusOK || !strings.Contains(body, `id="generated-secret">whsec_`) {
		t.Fatalf("generate: %d %s", code, body)
	}
	tg, _ = e.db.FindTargetByID(context.Background(), tg.ID)
	if len(tg.SigningSecrets) != 1 || len(tg.Assertions) != 1 {
		t.Fatalf("signing %v, assertions %v", tg.SigningSecrets, tg.Assertions)
	}
}

// A CRON schedule made from its form in a zone previews its fire times on
// that zone's wall clock, DST marks included, and a bad expression is
// shown beside its field.
func TestScheduleForm_CreateAndPreview(t *testing.T) {
	t.Parallel()
	e := newFormEnv(t)
	tg := &apicron.Target{Name: "t", URL: "https://example.com/", Method: "GET"}
	if err := e.db.CreateTarget(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	v := url.Values{"name": {"nightly"}, "target_id": {fmt.Sprint(tg.ID)}, "schedule_type": {"CRON"}, "cron_expression": {"30 2 * * *"},
		"timezone": {"Europe/Paris"}, "overlap_policy": {"skip"}, "misfire_policy": {"coalesce"}}
	_, _, body := e.post(t, "/ui/schedules/preview", v)
	// 2026-03-29 is the spring-forward night in Paris: 02:30 does not exist, and the
	// engine fires at the end of the gap, 03:00.
	if !strings.Contains(body, "2026-03-29 03:00:00 CEST") || !strings.Contains(body, "2026-03-30 02:30:00 CEST") || !strings.Contains(body, "st-idle") {
		t.Errorf("preview = %s", body)
	}
	v.Set("cron_expression", "61 * * * *")
	code, _, body := e.post(t, "/ui/schedules", v)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-cron_expression"`) || !strings.Contains(body, `value="61 * * * *"`) {
		t.Fatalf("bad cron: %d %s", code, body)
	}
	v.Set("cron_expression", "30 2 * * *")
	code, loc, body := e.post(t, "/ui/schedules", v)
	if code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", code, body)
	}
	list, _, _ := e.db.FindSchedules(context.Background(), apicron.ScheduleFilter{})
	if len(list) != 1 || list[0].Timezone != "Europe/Paris" || list[0].CronExpression != "30 2 * * *" || loc != fmt.Sprintf("/ui/schedules/%d", list[0].ID) {
		t.Fatalf("stored %+v, went to %s", list, loc)
	}
	// Edit: the kind stays, the expression changes.
	v.Set("cron_expression", "0 4 * * 1")
	if code, _, body := e.post(t, loc, v); code != http.StatusSeeOther {
		t.Fatalf("update: %d %s", code, body)
	}
	s, _ := e.db.FindScheduleByID(context.Background(), list[0].ID)
	if s.CronExpression != "0 4 * * 1" {
		t.Errorf("after edit: %q", s.CronExpression)
	}
	if code, page := e.get(t, "/ui/schedules?q=NIGHT&kind=CRON"); code != 200 || !strings.Contains(page, "nightly") {
		t.Errorf("filtered list: %d", code)
	}
	if _, page := e.get(t, "/ui/schedules?kind=ONCE"); strings.Contains(page, `data-schedule=`) {
		t.Error("the ONCE filter lists the CRON schedule")
	}
}
