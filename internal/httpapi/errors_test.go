package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/apicron/apicron"
)

// goisms are what an error message must not show a client: Go types, Go's
// date layout, numbers in exponent notation, encoding/json's prefix.
var goisms = []string{"Go struct", "float64", "int64", "2006-01-02", "e+0", "json: ", "Go value", "unmarshal"}

// TestErrors_NoGoIsms sends each field of each body a value of each wrong
// type, out of range and too long, malformed bodies, and each parameter a
// wrong type, an out-of-range number and bad dates: every answer is a 4xx
// problem whose detail and messages speak of the API, not of Go, and say
// what was expected.
func TestErrors_NoGoIsms(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "sqlite")
	tg := mustCreateTarget(t, e, "")
	mustCreateSchedule(t, e, tg.ID, 10)

	type field struct {
		name string
		kind string // string, integer, number, object, array
		// out-of-range or too long values, with what the message must say
		bad map[string]string
	}
	long := func(n int) string { return `"` + strings.Repeat("a", n) + `"` }
	many := func(n int, obj bool) string {
		var parts []string
		for i := range n {
			if obj {
				parts = append(parts, fmt.Sprintf(`"X-H%d": "v"`, i))
			} else {
				parts = append(parts, fmt.Sprintf(`"X-H%d"`, i))
			}
		}
		if obj {
			return "{" + strings.Join(parts, ", ") + "}"
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	targetFields := []field{
		{"name", "string", map[string]string{long(apicron.MaxNameLength + 1): fmt.Sprintf("at most %d characters", apicron.MaxNameLength), `""`: "must not be empty"}},
		{"url", "string", map[string]string{long(apicron.MaxURLLength + 1): fmt.Sprintf("at most %d characters", apicron.MaxURLLength), `"ftp://x/"`: "http or https"}},
		{"method", "string", map[string]string{`"FETCH"`: "must be one of GET, POST"}},
		{"headers", "object", map[string]string{`{"A": 1}`: "a string", many(apicron.MaxHeaders+1, true): fmt.Sprintf("at most %d", apicron.MaxHeaders)}},
		{"secret_headers", "array", map[string]string{`[1]`: "a string", many(apicron.MaxSecretHeaders+1, false): fmt.Sprintf("at most %d", apicron.MaxSecretHeaders)}},
		{"body_template", "string", map[string]string{long(apicron.MaxBodyTemplateBytes + 1): fmt.Sprintf("at most %d", apicron.MaxBodyTemplateBytes), `"{{"`: "body_template"}},
		{"timeout_seconds", "number", map[string]string{"0": "greater than 0", "1e9": fmt.Sprintf("at most %d", apicron.MaxTimeoutSeconds), "-1": "greater than 0", "1e400": "the number 1e400 is out of range"}},
		{"max_retries", "integer", map[string]string{"11": fmt.Sprintf("at most %d", apicron.MaxRetriesLimit), "-1": "at least 0", "1e300": "at most"}},
	}
	scheduleFields := []field{
		{"name", "string", map[string]string{long(apicron.MaxNameLength + 1): fmt.Sprintf("at most %d characters", apicron.MaxNameLength)}},
		{"target_id", "integer", map[string]string{"0": "at least 1", "1e300": "at most 9007199254740991", "9223372036854775808": "at most 9007199254740991"}},
		{"schedule_type", "string", map[string]string{`"HOURLY"`: "must be one of INTERVAL, WINDOW, CRON"}},
		{"interval_seconds", "integer", map[string]string{"0": "at least 1", "31536001": "at most 31536000", "1e9": "at most 31536000", "3.5e7": "at most 31536000"}},
		{"duration_seconds", "integer", map[string]string{"0": "at least 1", "1e12": "at most 315360000"}},
		{"keep_runs", "integer", map[string]string{"0": "at least 1", "1e7": "at most 1000000"}},
	}
	wrong := map[string][]string{
		"string":  {"1", "1.5", "true", "[]", "{}"},
		"integer": {`"1"`, "1.5", "true", "[]", "{}"},
		"number":  {`"1"`, "true", "[]", "{}"},
		"object":  {`"x"`, "1", "[]", "true"},
		"array":   {`"x"`, "1", "{}", "true"},
	}
	expect := map[string]string{"string": "a string", "integer": "an integer", "number": "a number", "object": "an object", "array": "an array"}

	type request struct{ method, path, body, want string }
	var reqs []request
	bodies := []struct {
		method, path string
		base         map[string]string // a valid body's other fields
		fields       []field
	}{
		{http.MethodPost, "/targets", map[string]string{"name": `"n"`, "url": `"https://example.com/"`}, targetFields},
		{http.MethodPut, "/targets/1", map[string]string{}, targetFields},
		{http.MethodPatch, "/targets/1", map[string]string{}, targetFields},
		{http.MethodPost, "/schedules", map[string]string{"name": `"s"`, "target_id": "1", "schedule_type": `"WINDOW"`, "interval_seconds": "10", "duration_seconds": "60"}, scheduleFields},
		{http.MethodPut, "/schedules/1", map[string]string{}, scheduleFields},
		{http.MethodPatch, "/schedules/1", map[string]string{}, scheduleFields},
	}
	for _, b := range bodies {
		with := func(name, value string) string {
			parts := []string{fmt.Sprintf("%q: %s", name, value)}
			for k, v := range b.base {
				if k != name {
					parts = append(parts, fmt.Sprintf("%q: %s", k, v))
				}
			}
			return "{" + strings.Join(parts, ", ") + "}"
		}
		for _, f := range b.fields {
			for _, v := range wrong[f.kind] {
				reqs = append(reqs, request{b.method, b.path, with(f.name, v), expect[f.kind]})
			}
			for v, want := range f.bad {
				reqs = append(reqs, request{b.method, b.path, with(f.name, v), want})
			}
		}
		reqs = append(reqs,
			request{b.method, b.path, with("title", `"x"`), "is not a field of this body; the fields are name"},
			request{b.method, b.path, `{`, "not valid JSON"},
			request{b.method, b.path, `{"name": }`, "not valid JSON"},
			request{b.method, b.path, `{"name": "x"} {}`, "not valid JSON"},
			request{b.method, b.path, `{"name": "x",}`, "not valid JSON"},
			request{b.method, b.path, `[]`, "an object"},
			request{b.method, b.path, `"x"`, "an object"},
			request{b.method, b.path, `1e400`, "the body: the number 1e400 is out of range"},
			request{b.method, b.path, `null`, ""},
		)
	}
	reqs = append(reqs,
		request{http.MethodPost, "/targets", `{"url": "https://example.com/"}`, "body.name: is required"},
		request{http.MethodPost, "/schedules", `{"name": "s", "target_id": 1, "schedule_type": "INTERVAL", "interval_seconds": 10, "duration_seconds": 60}`, "duration_seconds"},
		request{http.MethodPost, "/schedules", `{"name": "s", "target_id": 1, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 5}`, "duration_seconds"},
		request{http.MethodPost, "/schedules", `{"name": "s", "target_id": 999, "schedule_type": "INTERVAL", "interval_seconds": 10}`, "target"},
	)
	// Parameters.
	for _, path := range []string{"/targets", "/schedules", "/runs", "/metrics/schedules"} {
		for _, p := range []string{"limit", "offset"} {
			for v, want := range map[string]string{"abc": "an integer", "1.5": "an integer", "1e3": "an integer", "-5": "at least", "99999999999999999999": "at most 9223372036854775807"} {
				reqs = append(reqs, request{http.MethodGet, path + "?" + p + "=" + v, "", want})
			}
		}
		reqs = append(reqs, request{http.MethodGet, path + "?limit=1001", "", "at most 1000"})
	}
	for _, p := range []string{"schedule_id", "target_id"} {
		for v, want := range map[string]string{"abc": "an integer", "0": "at least 1", "1.0": "an integer", "99999999999999999999": "at most"} {
			reqs = append(reqs, request{http.MethodGet, "/runs?" + p + "=" + v, "", want})
		}
	}
	for _, p := range []string{"since", "until"} {
		for _, v := range []string{"yesterday", "2026-01-02", "2026-01-02T15:04:05", "2026-01-02%2015:04:05Z", "1700000000", "2026-13-02T15:04:05Z"} {
			reqs = append(reqs, request{http.MethodGet, "/runs?" + p + "=" + v, "", "an RFC 3339 date-time such as 2026-01-02T15:04:05Z"})
		}
	}
	for _, v := range []string{"status_filter", "status"} {
		reqs = append(reqs, request{http.MethodGet, "/runs?" + v + "=OK", "", "must be one of RUNNING, SUCCESS"})
	}
	reqs = append(reqs,
		request{http.MethodGet, "/runs?status=SUCCESS&status_filter=FAILED", "", "contradicts"},
		request{http.MethodGet, "/schedules?status=active", "", "must be one of ACTIVE"},
		request{http.MethodGet, "/schedules?target_id=x", "", "an integer"},
	)
	for _, path := range []string{"/targets/%s", "/schedules/%s", "/runs/%s", "/schedules/%s/pause"} {
		for v, want := range map[string]string{"abc": "an integer", "1.5": "an integer", "99999999999999999999": "at most", "1e3": "an integer"} {
			method := http.MethodGet
			if strings.HasSuffix(path, "pause") {
				method = http.MethodPost
			}
			reqs = append(reqs, request{method, fmt.Sprintf(path, v), "", want})
		}
	}

	for _, r := range reqs {
		var body any
		if r.body != "" {
			body = r.body
		}
		resp := e.do(t, r.method, r.path, body)
		var p problem
		if err := json.Unmarshal(resp.body, &p); err != nil || resp.status < 400 || resp.status >= 500 || p.Detail == "" {
			t.Errorf("%s %s %.80s: %s, want a 4xx problem", r.method, r.path, r.body, resp)
			continue
		}
		texts := []string{p.Detail}
		for _, d := range p.Errors {
			texts = append(texts, d.Message)
		}
		for _, s := range texts {
			for _, g := range goisms {
				if strings.Contains(s, g) {
					t.Errorf("%s %s %.80s: %q shows %q", r.method, r.path, r.body, s, g)
				}
			}
		}
		if r.want != "" && !strings.Contains(p.Detail, r.want) {
			t.Errorf("%s %s %.80s: detail %q, want it to say %q", r.method, r.path, r.body, p.Detail, r.want)
		}
	}
	if n := e.total(t, "/targets"); n != 1 {
		t.Errorf("%d targets after refused requests, want 1", n)
	}
	if n := e.total(t, "/schedules"); n != 1 {
		t.Errorf("%d schedules after refused requests, want 1", n)
	}
	t.Logf("%d requests", len(reqs))
}
