package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// TestText: for each event, the subject is the summary and the body has the
// summary and the key facts of the message.
func TestText(t *testing.T) {
	t.Parallel()
	base := testMessage
	cases := []struct {
		name string
		edit func(*apicron.AlertMessage)
		want []string
	}{
		{"failing", func(*apicron.AlertMessage) {}, []string{
			"Event: failing", "Schedule: nightly-sync (#7, ACTIVE)",
			"Target: billing-api (#3) https://billing.example.com/sync",
			"Last run: #42 FAILED, HTTP 503, http_5xx: service unavailable, scheduled at 2025-03-04T05:06:05Z",
			"Consecutive failures: 3", "Failing since: 2025-03-04T04:06:07Z", "When: 2025-03-04T05:06:07Z",
		}},
		{"realert", func(m *apicron.AlertMessage) { m.Realert = true }, []string{"Event: still failing", "Consecutive failures: 3"}},
		{"recovered", func(m *apicron.AlertMessage) {
			m.Event, m.Summary, m.ConsecutiveFailures, m.FailingSince = apicron.AlertRecovered, `Schedule "nightly-sync" recovered`, 0, nil
			m.LastRun.Status, m.LastRun.ErrorType, m.LastRun.ErrorMessage = apicron.Success, "", ""
			*m.LastRun.StatusCode = 200
		}, []string{"Event: recovered", "Last run: #42 SUCCESS, HTTP 200, scheduled at", "Schedule: nightly-sync"}},
		{"auto_paused", func(m *apicron.AlertMessage) {
			m.Event, m.Summary, m.Schedule.Status, m.ConsecutiveFailures = apicron.AlertAutoPaused, "nightly-sync paused after 10 failures", "PAUSED", 10
			m.LastRun.StatusCode, m.LastRun.Status, m.LastRun.ErrorType, m.LastRun.ErrorMessage = nil, apicron.Timeout, apicron.ErrTimeout, ""
		}, []string{"Event: paused after consecutive failures", "Schedule: nightly-sync (#7, PAUSED)", "Consecutive failures: 10", "Last run: #42 TIMEOUT, timeout,"}},
		{"window_ended", func(m *apicron.AlertMessage) {
			m.Event, m.Summary, m.ConsecutiveFailures, m.FailingSince, m.LastRun = apicron.AlertWindowEnded, "nightly-sync: window ended", 0, nil, nil
			m.Schedule.Status = "STOPPED"
		}, []string{"Event: window ended", "Schedule: nightly-sync (#7, STOPPED)", "When: 2025-03-04T05:06:07Z"}},
		{"test", func(m *apicron.AlertMessage) {
			*m = apicron.AlertMessage{Event: apicron.AlertTest, At: m.At, Summary: "Test notification from apicron"}
		}, []string{"Event: test notification", "When: 2025-03-04T05:06:07Z"}},
	}
	for _, c := range cases {
		m := base()
		c.edit(m)
		subject, body := Text(m)
		if subject != m.Summary {
			t.Errorf("%s: subject %q, want the summary %q", c.name, subject, m.Summary)
		}
		if !strings.HasPrefix(body, m.Summary+"\n") {
			t.Errorf("%s: body does not start with the summary:\n%s", c.name, body)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q:\n%s", c.name, w, body)
			}
		}
		if c.name == "recovered" || c.name == "window_ended" || c.name == "test" {
			if strings.Contains(body, "Consecutive failures") || strings.Contains(body, "Failing since") {
				t.Errorf("%s: body speaks of failures:\n%s", c.name, body)
			}
		}
	}
}

// TestTextOneLineSubject: the subject is one line whatever the summary (no
// header injection in an email) and is made up when the summary is empty.
func TestTextOneLineSubject(t *testing.T) {
	t.Parallel()
	m := testMessage()
	m.Summary = "nightly-sync failing\r\nBcc: victim@example.com\x00"
	subject, body := Text(m)
	if subject != "nightly-sync failing Bcc: victim@example.com" {
		t.Errorf("subject %q", subject)
	}
	if strings.ContainsAny(body, "\r\x00") {
		t.Errorf("body %q has a CR or NUL", body)
	}
	m.Summary = ""
	if subject, _ := Text(m); subject != "nightly-sync: failing" {
		t.Errorf("subject %q for an empty summary", subject)
	}
	m = &apicron.AlertMessage{Event: apicron.AlertTest, At: time.Unix(0, 0)}
	if subject, _ := Text(m); subject != "Test notification" {
		t.Errorf("subject %q for an empty test message", subject)
	}
}
