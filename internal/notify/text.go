package notify

import (
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// maxErrorText bounds the run error message quoted in a text.
const maxErrorText = 500

// fact is one detail line of a notification: a label and its value.
type fact struct{ label, value string }

// Text renders m for people: a one-line subject and a plain-text body, the
// summary followed by the facts (schedule, target, last run, failures,
// times). The slack and email notifiers are written from it.
func Text(m *apicron.AlertMessage) (subject, body string) {
	subject = subjectLine(m)
	var b strings.Builder
	b.WriteString(subject)
	b.WriteString("\n\n")
	for _, f := range facts(m) {
		b.WriteString(f.label)
		b.WriteString(": ")
		b.WriteString(f.value)
		b.WriteByte('\n')
	}
	return subject, b.String()
}

// slackText renders m as the text of a Slack-compatible incoming webhook:
// the summary in bold, then a line per fact; &, < and > are escaped, so
// names cannot inject links or mentions.
func slackText(m *apicron.AlertMessage) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	var b strings.Builder
	b.WriteString("*" + esc.Replace(subjectLine(m)) + "*")
	for _, f := range facts(m) {
		b.WriteString("\n" + f.label + ": " + esc.Replace(f.value))
	}
	return b.String()
}

// subjectLine is m's summary on one line, or one made up of its event and
// schedule when the summary is empty.
func subjectLine(m *apicron.AlertMessage) string {
	if s := oneLine(m.Summary); s != "" {
		return s
	}
	s := eventTitle(m)
	if m.Schedule != nil {
		if name := oneLine(m.Schedule.Name); name != "" {
			return name + ": " + s
		}
	}
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

func eventTitle(m *apicron.AlertMessage) string {
	switch m.Event {
	case apicron.AlertFailing:
		if m.Realert {
			return "still failing"
		}
		return "failing"
	case apicron.AlertRecovered:
		return "recovered"
	case apicron.AlertAutoPaused:
		return "paused after consecutive failures"
	case apicron.AlertWindowEnded:
		return "window ended"
	case apicron.AlertTest:
		return "test notification"
	case "":
		return "notification"
	default:
		return oneLine(string(m.Event))
	}
}

func facts(m *apicron.AlertMessage) []fact {
	var fs []fact
	add := func(label, value string) {
		if value != "" {
			fs = append(fs, fact{label, value})
		}
	}
	add("Event", eventTitle(m))
	if s := m.Schedule; s != nil {
		add("Schedule", subjectName(s, oneLine(s.Status)))
	}
	if t := m.Target; t != nil {
		v := subjectName(t, "")
		if t.URL != "" {
			v += " " + oneLine(t.URL)
		}
		add("Target", v)
	}
	if r := m.LastRun; r != nil {
		add("Last run", runText(r))
	}
	if m.ConsecutiveFailures > 0 || m.Event == apicron.AlertFailing || m.Event == apicron.AlertAutoPaused {
		add("Consecutive failures", strconv.FormatInt(m.ConsecutiveFailures, 10))
	}
	if m.FailingSince != nil {
		add("Failing since", timeText(*m.FailingSince))
	}
	if !m.At.IsZero() {
		add("When", timeText(m.At))
	}
	return fs
}

// subjectName is "name (#id, note)", the parts it has.
func subjectName(s *apicron.AlertSubject, note string) string {
	var in []string
	if s.ID != 0 {
		in = append(in, "#"+strconv.FormatInt(s.ID, 10))
	}
	if note != "" {
		in = append(in, note)
	}
	name := oneLine(s.Name)
	switch {
	case len(in) == 0:
		return name
	case name == "":
		return strings.Join(in, ", ")
	}
	return name + " (" + strings.Join(in, ", ") + ")"
}

// runText is "#id STATUS, HTTP 500, http_5xx: message, scheduled at ...".
func runText(r *apicron.AlertRun) string {
	var parts []string
	head := string(r.Status)
	if r.ID != 0 {
		head = "#" + strconv.FormatInt(r.ID, 10) + " " + head
	}
	parts = append(parts, strings.TrimSpace(head))
	if r.StatusCode != nil {
		parts = append(parts, "HTTP "+strconv.Itoa(*r.StatusCode))
	}
	if e := oneLine(r.ErrorMessage); e != "" || r.ErrorType != "" {
		e = truncate(e, maxErrorText)
		switch {
		case r.ErrorType == "":
		case e == "":
			e = r.ErrorType
		default:
			e = r.ErrorType + ": " + e
		}
		parts = append(parts, e)
	}
	if !r.ScheduledAt.IsZero() {
		parts = append(parts, "scheduled at "+timeText(r.ScheduledAt))
	}
	return strings.Join(parts, ", ")
}

func timeText(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// oneLine folds s onto one line: runs of white space and control
// characters become one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == 0x85
	}), " ")
}
