package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/storetest"
)

type notifierView struct {
	ID                     int64    `json:"id"`
	Name                   string   `json:"name"`
	Type                   string   `json:"type"`
	URL                    *string  `json:"url"`
	SigningSecrets         []string `json:"signing_secrets"`
	GeneratedSigningSecret *string  `json:"generated_signing_secret"`
	LastStatus             *string  `json:"last_status"`
	LastError              *string  `json:"last_error"`
	Email                  *struct {
		Host     string   `json:"host"`
		Port     int      `json:"port"`
		Security string   `json:"security"`
		Password string   `json:"password"`
		To       []string `json:"to"`
	} `json:"email"`
}

// sendRecorder is an AlertSender that remembers what it was asked to send
// and fails while fail is set.
type sendRecorder struct {
	mu   sync.Mutex
	sent []string
	fail error
}

func (r *sendRecorder) Send(_ context.Context, n *apicron.Notifier, id string, m *apicron.AlertMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, fmt.Sprintf("%s:%s:%s", n.Name, m.Event, id))
	return r.fail
}

func TestNotifiersAPI(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		sender := &sendRecorder{}
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.Sender = sender })

		// Bad input: 422 naming the field, nothing stored.
		e.expectProblem(t, http.MethodPost, "/notifiers", `{"name": "x", "type": "pager"}`, http.StatusUnprocessableEntity, "body.type")
		e.expectProblem(t, http.MethodPost, "/notifiers", `{"name": "x", "type": "webhook"}`, http.StatusUnprocessableEntity, "body.url")
		e.expectProblem(t, http.MethodPost, "/notifiers", `{"name": "x", "type": "email", "email": {"host": "smtp.example.com", "from": "nope", "to": ["a@example.com"]}}`,
			http.StatusUnprocessableEntity, "body.email.from")
		e.expectProblem(t, http.MethodPost, "/notifiers", `{"name": "x", "type": "email", "email": {"host": "smtp.example.com", "security": "none", "username": "u", "password": "p", "from": "a@example.com", "to": ["b@example.com"]}}`,
			http.StatusUnprocessableEntity, "body.email.security")
		e.expectProblem(t, http.MethodPost, "/notifiers", `{"name": "x", "type": "slack", "url": "https://hooks.slack.com/x", "signing_secrets": ["generate"]}`,
			http.StatusUnprocessableEntity, "body.signing_secrets")
		if n := e.total(t, "/notifiers"); n != 0 {
			t.Fatalf("%d notifiers after refused creates", n)
		}

		var hook notifierView
		e.expect(t, http.MethodPost, "/notifiers", `{"name": "ops", "type": "webhook", "url": "https://hooks.example.com/a", "signing_secrets": ["generate"]}`,
			http.StatusCreated, &hook)
		if hook.GeneratedSigningSecret == nil || !strings.HasPrefix(*hook.GeneratedSigningSecret, "whsec_") ||
			len(hook.SigningSecrets) != 1 || strings.Contains(hook.SigningSecrets[0], (*hook.GeneratedSigningSecret)[6:]) {
			t.Fatalf("created webhook notifier %+v: the generated secret shown once, masked after", hook)
		}
		e.expectProblem(t, http.MethodPost, "/notifiers", `{"name": "ops", "type": "webhook", "url": "https://hooks.example.com/b"}`, http.StatusConflict, "")

		var mail notifierView
		e.expect(t, http.MethodPost, "/notifiers", `{"name": "mail", "type": "email", "email": {"host": "smtp.example.com", "username": "u", "password": "hunter2", "from": "apicron <a@example.com>", "to": ["b@example.com"]}}`,
			http.StatusCreated, &mail)
		if mail.Email == nil || mail.Email.Password != apicron.MaskedValue || mail.Email.Port != 587 || mail.Email.Security != "starttls" {
			t.Fatalf("email notifier %+v", mail.Email)
		}
		var slack notifierView
		e.expect(t, http.MethodPost, "/notifiers", `{"name": "chat", "type": "slack", "url": "https://hooks.slack.com/services/T0/B0/SECRET"}`,
			http.StatusCreated, &slack)
		if slack.URL == nil || strings.Contains(*slack.URL, "SECRET") {
			t.Fatalf("slack URL shown as %v, want its path masked", slack.URL)
		}
		// Sent back as shown, the masks keep the secrets.
		var upd notifierView
		e.expect(t, http.MethodPatch, fmt.Sprintf("/notifiers/%d", mail.ID),
			`{"email": {"host": "smtp2.example.com", "username": "u", "password": "********", "from": "a@example.com", "to": ["c@example.com"]}}`,
			http.StatusOK, &upd)
		got, err := e.db.FindNotifierByID(context.Background(), mail.ID)
		if err != nil || got.Email.Password != "hunter2" || got.Email.Host != "smtp2.example.com" {
			t.Fatalf("after an update with the masked password: %+v, %v", got.Email, err)
		}
		e.expect(t, http.MethodPut, fmt.Sprintf("/notifiers/%d", slack.ID), fmt.Sprintf(`{"url": %q, "name": "chat2"}`, *slack.URL), http.StatusOK, nil)
		if got, _ := e.db.FindNotifierByID(context.Background(), slack.ID); got.URL != "https://hooks.slack.com/services/T0/B0/SECRET" {
			t.Fatalf("slack URL after a masked update: %q", got.URL)
		}

		// Test: sent now, outcome on the notifier and in /health.
		var res struct {
			Delivered bool    `json:"delivered"`
			Error     *string `json:"error"`
		}
		e.expect(t, http.MethodPost, fmt.Sprintf("/notifiers/%d/test", hook.ID), nil, http.StatusOK, &res)
		if !res.Delivered || len(sender.sent) != 1 || !strings.HasPrefix(sender.sent[0], "ops:test:") {
			t.Fatalf("test: %+v, sent %v", res, sender.sent)
		}
		sender.fail = errors.New("the webhook answered 500")
		e.expect(t, http.MethodPost, fmt.Sprintf("/notifiers/%d/test", hook.ID), nil, http.StatusOK, &res)
		if res.Delivered || res.Error == nil || *res.Error != "the webhook answered 500" {
			t.Fatalf("failed test: %+v", res)
		}
		var health struct {
			Status    string `json:"status"`
			Notifiers struct {
				Status  string `json:"status"`
				Failing []struct {
					ID        int64  `json:"id"`
					LastError string `json:"last_error"`
				} `json:"failing"`
			} `json:"notifiers"`
		}
		e.expect(t, http.MethodGet, "/health", nil, http.StatusOK, &health)
		if health.Status != "ok" || health.Notifiers.Status != "failing" || len(health.Notifiers.Failing) != 1 ||
			health.Notifiers.Failing[0].ID != hook.ID {
			t.Fatalf("health %+v: a failing notifier is shown, the node stays ok", health)
		}

		// Alert rules: a schedule's own, the default, and 422s.
		tg := mustCreateTarget(t, e, "")
		e.expectProblem(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 60, "alert": {"notifier_ids": [999]}}`, tg.ID),
			http.StatusUnprocessableEntity, "body.alert.notifier_ids")
		e.expectProblem(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 60, "auto_pause_after": 0}`, tg.ID),
			http.StatusUnprocessableEntity, "body.auto_pause_after")
		var sc struct {
			ID             int64 `json:"id"`
			AutoPauseAfter *int  `json:"auto_pause_after"`
			Alert          *struct {
				NotifierIDs      []int64 `json:"notifier_ids"`
				FailureThreshold int     `json:"failure_threshold"`
				SuccessThreshold int     `json:"success_threshold"`
				OnAutoPause      bool    `json:"on_auto_pause"`
			} `json:"alert"`
			AlertState *struct {
				Status              string `json:"status"`
				ConsecutiveFailures int64  `json:"consecutive_failures"`
			} `json:"alert_state"`
		}
		e.expect(t, http.MethodPost, "/schedules", fmt.Sprintf(`{"name": "s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 60, "auto_pause_after": 5, "alert": {"notifier_ids": [%d], "failure_threshold": 1}}`, tg.ID, hook.ID),
			http.StatusCreated, &sc)
		if sc.Alert == nil || sc.Alert.FailureThreshold != 1 || sc.Alert.SuccessThreshold != 1 || !sc.Alert.OnAutoPause ||
			sc.AutoPauseAfter == nil || *sc.AutoPauseAfter != 5 {
			t.Fatalf("schedule alert %+v, auto_pause_after %v", sc.Alert, sc.AutoPauseAfter)
		}
		e.expectProblem(t, http.MethodDelete, fmt.Sprintf("/notifiers/%d", hook.ID), nil, http.StatusConflict, "")
		mustRun(t, e, sc.ID, apicron.Failed, 500, 5)
		e.expect(t, http.MethodGet, fmt.Sprintf("/schedules/%d", sc.ID), nil, http.StatusOK, &sc)
		if sc.AlertState == nil || sc.AlertState.Status != "failing" || sc.AlertState.ConsecutiveFailures != 1 {
			t.Fatalf("alert state %+v", sc.AlertState)
		}
		var list []struct {
			ID         int64  `json:"id"`
			NotifierID int64  `json:"notifier_id"`
			Event      string `json:"event"`
			Status     string `json:"status"`
			Message    struct {
				Event   string `json:"event"`
				Summary string `json:"summary"`
			} `json:"message"`
		}
		e.expect(t, http.MethodGet, fmt.Sprintf("/notifications?schedule_id=%d&status=pending", sc.ID), nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].Event != "failing" || list[0].NotifierID != hook.ID || list[0].Message.Event != "failing" ||
			!strings.Contains(list[0].Message.Summary, `"s" is failing`) {
			t.Fatalf("notifications %+v", list)
		}
		e.expectProblem(t, http.MethodGet, "/notifications?status=lost", nil, http.StatusUnprocessableEntity, "query.status")

		// null returns to the default rule.
		e.expect(t, http.MethodPatch, fmt.Sprintf("/schedules/%d", sc.ID), `{"alert": null, "auto_pause_after": null}`, http.StatusOK, &sc)
		if sc.Alert != nil || sc.AutoPauseAfter != nil {
			t.Fatalf("after null: alert %+v, auto_pause_after %v", sc.Alert, sc.AutoPauseAfter)
		}
		e.expectProblem(t, http.MethodGet, "/alerts/default", nil, http.StatusNotFound, "")
		var def struct {
			NotifierIDs    []int64 `json:"notifier_ids"`
			RealertMinutes int     `json:"realert_minutes"`
		}
		e.expect(t, http.MethodPut, "/alerts/default", fmt.Sprintf(`{"notifier_ids": [%d, %d], "realert_minutes": 30}`, mail.ID, hook.ID), http.StatusOK, &def)
		if len(def.NotifierIDs) != 2 || def.RealertMinutes != 30 {
			t.Fatalf("default rule %+v", def)
		}
		e.expectProblem(t, http.MethodPut, "/alerts/default", `{"notifier_ids": [1], "failure_threshold": 0}`, http.StatusUnprocessableEntity, "body.failure_threshold")
		e.expect(t, http.MethodGet, "/alerts/default", nil, http.StatusOK, &def)
		e.expectProblem(t, http.MethodDelete, fmt.Sprintf("/notifiers/%d", mail.ID), nil, http.StatusConflict, "")
		e.expect(t, http.MethodDelete, "/alerts/default", nil, http.StatusNoContent, nil)
		e.expect(t, http.MethodDelete, fmt.Sprintf("/notifiers/%d", mail.ID), nil, http.StatusNoContent, nil)
		e.expectProblem(t, http.MethodGet, fmt.Sprintf("/notifiers/%d", mail.ID), nil, http.StatusNotFound, "")
		_ = time.Second
	})
}

// TestNotifiers_OutboundPolicy: a notifier URL is vetted by the outbound
// policy like a target's, a masked-looking one included; only the stored
// URL's own mask is let through, as the stored URL.
func TestNotifiers_OutboundPolicy(t *testing.T) {
	e := newTestEnv(t, "sqlite", func(c *httpapi.Config) { c.URLCheckFunc = mustPolicy(t, nil, false).CheckURL })
	metadata := "http://169.254.169.254/" + apicron.MaskedValue
	e.expectProblem(t, http.MethodPost, "/notifiers", fmt.Sprintf(`{"name": "x", "type": "slack", "url": %q}`, metadata),
		http.StatusUnprocessableEntity, "body.url")
	var hook, slack notifierView
	e.expect(t, http.MethodPost, "/notifiers", `{"name": "hook", "type": "webhook", "url": "https://hooks.example.com/a"}`, http.StatusCreated, &hook)
	e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/notifiers/%d", hook.ID), fmt.Sprintf(`{"url": %q}`, metadata),
		http.StatusUnprocessableEntity, "body.url")
	e.expect(t, http.MethodPost, "/notifiers", `{"name": "chat", "type": "slack", "url": "https://hooks.example.com/services?token=SECRET123"}`,
		http.StatusCreated, &slack)
	if slack.URL == nil || strings.Contains(*slack.URL, "SECRET123") {
		t.Fatalf("slack URL shown as %v: its query is the credential too", slack.URL)
	}
	e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/notifiers/%d", slack.ID), fmt.Sprintf(`{"url": %q}`, metadata),
		http.StatusUnprocessableEntity, "body.url")
	e.expect(t, http.MethodPatch, fmt.Sprintf("/notifiers/%d", slack.ID), fmt.Sprintf(`{"url": %q}`, *slack.URL), http.StatusOK, nil)
	if got, _ := e.db.FindNotifierByID(context.Background(), slack.ID); got.URL != "https://hooks.example.com/services?token=SECRET123" {
		t.Fatalf("slack URL after its mask was sent back: %q", got.URL)
	}
}

// A write made with a dashboard session is recorded as its token's, and a
// read-only session cannot write.
func TestSession_ActorAndLevel(t *testing.T) {
	readOnly := false
	e := newTestEnv(t, "sqlite", func(c *httpapi.Config) {
		c.Tokens = []string{"full-token-0123456789abcdef"}
		c.SessionFunc = func(*http.Request) (string, bool, bool) { return "token:abcd0123", readOnly, true }
	})
	target := &apicron.Target{Name: "t", URL: "https://example.com/"}
	if err := e.db.CreateTarget(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	s := &apicron.Schedule{Name: "s", TargetID: target.ID, Type: apicron.Interval, IntervalSeconds: 60}
	if err := e.db.CreateSchedule(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/pause", s.ID), nil, http.StatusOK, nil)
	events, err := e.db.FindEvents(context.Background(), s.ID, 0, 1)
	if err != nil || len(events) != 1 || events[0].Actor != "token:abcd0123" {
		t.Fatalf("pause by a session recorded as %+v, %v; want token:abcd0123", events, err)
	}
	readOnly = true
	e.expect(t, http.MethodPost, fmt.Sprintf("/schedules/%d/resume", s.ID), nil, http.StatusForbidden, nil)
}
