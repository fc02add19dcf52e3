package executor

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

func mustAssertions(t *testing.T, js string) []apicron.Assertion {
	t.Helper()
	var list []apicron.Assertion
	if err := json.Unmarshal([]byte(js), &list); err != nil {
		t.Fatal(err)
	}
	if err := CheckAssertions("assertions", list); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return list
}

// TestAssertions runs each assertion kind against a real loopback server
// and checks the run's class and, when one fails, which and what it saw.
func TestAssertions(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/up":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status": "up", "checks": {"db": {"latency": 12.5}}, "version": 3, "items": [1, 2]}`))
		case "/slow":
			time.Sleep(120 * time.Millisecond)
			_, _ = w.Write([]byte("ok"))
		case "/not-modified":
			w.WriteHeader(http.StatusNotModified)
		case "/gone":
			w.WriteHeader(http.StatusNotFound)
		case "/broken":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/text":
			_, _ = w.Write([]byte("all systems nominal"))
		}
	})
	cases := []struct {
		name, path, assertions string
		status                 apicron.RunStatus
		errType                string
		failed                 int    // index of the failing assertion, -1 none
		actual                 string // part of what it saw
	}{
		{"all hold", "/up", `[{"type": "status", "in": ["2xx"]}, {"type": "latency_ms", "below": 5000},
			{"type": "header", "name": "content-type", "matches": "json"}, {"type": "body_contains", "value": "\"up\""},
			{"type": "body_matches", "regex": "\"version\":\\s*3"}, {"type": "json_path", "path": "$.status", "equals": "up"},
			{"type": "json_path", "path": "$.checks.db.latency", "below": 50, "above": 1}, {"type": "json_path", "path": "$.items[1]", "equals": 2.0},
			{"type": "json_path", "path": "$.missing", "exists": false}, {"type": "json_path", "path": "$.version", "not_equals": 2}]`,
			apicron.Success, "", -1, ""},
		{"status class refuses 2xx", "/up", `[{"type": "status", "in": ["3xx"]}]`, apicron.Failed, apicron.ErrAssertion, 0, "200"},
		{"status allows 304", "/not-modified", `[{"type": "status", "in": [200, 304]}]`, apicron.Success, "", -1, ""},
		{"status allows a 404", "/gone", `[{"type": "status", "in": [404]}, {"type": "latency_ms", "below": 5000}]`, apicron.Success, "", -1, ""},
		{"a refused 5xx stays http_5xx", "/broken", `[{"type": "status", "in": ["2xx"]}]`, apicron.Failed, apicron.ErrHTTP5xx, 0, "503"},
		{"without a status check 5xx fails as ever", "/broken", `[{"type": "body_contains", "value": "x"}]`, apicron.Failed, apicron.ErrHTTP5xx, -2, ""},
		{"latency", "/slow", `[{"type": "latency_ms", "below": 50}]`, apicron.Failed, apicron.ErrAssertion, 0, " ms"},
		{"header missing", "/text", `[{"type": "header", "name": "X-Version", "equals": "3"}]`, apicron.Failed, apicron.ErrAssertion, 0, "no X-Version header"},
		{"header equals", "/up", `[{"type": "header", "name": "Content-Type", "equals": "text/html"}]`, apicron.Failed, apicron.ErrAssertion, 0, "application/json"},
		{"body contains", "/text", `[{"type": "body_contains", "value": "degraded"}]`, apicron.Failed, apicron.ErrAssertion, 0, "all systems nominal"},
		{"body matches", "/text", `[{"type": "body_matches", "regex": "^ok$"}]`, apicron.Failed, apicron.ErrAssertion, 0, "nominal"},
		{"json path equals", "/up", `[{"type": "json_path", "path": "$.status", "equals": "down"}]`, apicron.Failed, apicron.ErrAssertion, 0, `"up"`},
		{"json path on text", "/text", `[{"type": "json_path", "path": "$.status", "exists": true}]`, apicron.Failed, apicron.ErrAssertion, 0, "not JSON"},
		{"json path below", "/up", `[{"type": "json_path", "path": "$.checks.db.latency", "below": 10}]`, apicron.Failed, apicron.ErrAssertion, 0, "12.5"},
		{"the first failing one is named", "/up", `[{"type": "status", "in": ["2xx"]}, {"type": "body_contains", "value": "up"},
			{"type": "json_path", "path": "$.version", "above": 5}, {"type": "body_contains", "value": "nope"}]`, apicron.Failed, apicron.ErrAssertion, 2, "3"},
	}
	e := New(Config{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := newTestJob(srv.URL + c.path)
			job.Assertions = mustAssertions(t, c.assertions)
			res := execute(t, e, job, 5*time.Second)
			if res.Status != c.status || res.ErrorType != c.errType {
				t.Fatalf("%s %s (%s), want %s %s", res.Status, res.ErrorType, res.ErrorMessage, c.status, c.errType)
			}
			f := res.FailedAssertion
			switch {
			case c.failed == -1 || c.failed == -2:
				if f != nil {
					t.Errorf("failed assertion %+v, want none", f)
				}
			case f == nil:
				t.Errorf("no failed assertion, want #%d", c.failed)
			case f.Index != c.failed || !strings.Contains(f.Actual, c.actual) || f.Expected == "" ||
				!strings.Contains(res.ErrorMessage, "assertion") || f.Check.Type == "":
				t.Errorf("failed %+v (%s), want #%d seeing %q", f, res.ErrorMessage, c.failed, c.actual)
			}
			if res.Status == apicron.Success && (res.ErrorType != "" || res.ErrorMessage != "") {
				t.Errorf("a success with error %q %q", res.ErrorType, res.ErrorMessage)
			}
		})
	}
}

// TestAssertions_NotRetried: an assertion failure is an answer, not a
// transient fault: the run does not retry it.
func TestAssertions_NotRetried(t *testing.T) {
	t.Parallel()
	var n int
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		_, _ = w.Write([]byte(`{"status": "down"}`))
	})
	job := newTestJob(srv.URL)
	job.MaxRetries = 3
	job.Assertions = mustAssertions(t, `[{"type": "json_path", "path": "$.status", "equals": "up"}]`)
	res := execute(t, New(Config{}), job, 5*time.Second)
	if res.ErrorType != apicron.ErrAssertion || len(res.Attempts) != 1 || n != 1 {
		t.Errorf("%s after %d attempts (%d requests), want one", res.ErrorType, len(res.Attempts), n)
	}
}

func TestCheckAssertions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ js, want string }{
		{`[{"type": "status"}]`, `needs "in"`},
		{`[{"type": "status", "in": ["6xx"]}]`, "class"},
		{`[{"type": "status", "in": [99]}]`, "between 100 and 599"},
		{`[{"type": "latency_ms", "below": 0}]`, "positive"},
		{`[{"type": "header", "name": "X"}]`, `one of "equals" and "matches"`},
		{`[{"type": "header", "name": "X", "matches": "("}]`, "regular expression"},
		{`[{"type": "body_matches", "regex": "[a-"}]`, "regular expression"},
		{`[{"type": "json_path", "path": "$.a[", "exists": true}]`, "RFC 9535"},
		{`[{"type": "json_path", "path": "$.a"}]`, "exactly one of"},
		{`[{"type": "json_path", "path": "$.a", "equals": 1, "exists": true}]`, "exactly one of"},
		{`[{"type": "body_contains", "value": "x", "regex": "y"}]`, `takes no "regex"`},
		{`[{"type": "ping"}]`, "type must be one of"},
	} {
		var list []apicron.Assertion
		if err := json.Unmarshal([]byte(c.js), &list); err != nil {
			t.Fatal(err)
		}
		err := CheckAssertions("assertions", list)
		if e, ok := err.(*apicron.Error); !ok || e.Code != apicron.EINVALID || !strings.Contains(e.Error(), c.want) ||
			!strings.HasPrefix(e.Field, "assertions[0]") {
			t.Errorf("%s: %v, want invalid assertions[0] saying %q", c.js, err, c.want)
		}
	}
}

// TestReadWholeBody: the assertions see the first MiB, the size counts the
// rest, and a body past the limit is cut as readBody cuts it.
func TestReadWholeBody(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("a", MaxAssertedBody) + "tail"
	size, stored, head, truncated, err := readWholeBody(strings.NewReader(body), 10<<20)
	if err != nil || size != int64(len(body)) || len(head) != MaxAssertedBody || truncated || len(stored) != apicron.MaxStoredBody {
		t.Errorf("size %d head %d truncated %v stored %d err %v", size, len(head), truncated, len(stored), err)
	}
	size, _, head, truncated, _ = readWholeBody(strings.NewReader(body), 100)
	if size != 100 || len(head) != 100 || !truncated {
		t.Errorf("past the limit: size %d head %d truncated %v", size, len(head), truncated)
	}
	size, _, head, truncated, _ = readWholeBody(strings.NewReader("short"), 10<<20)
	if size != 5 || string(head) != "short" || truncated {
		t.Errorf("short: size %d head %q truncated %v", size, head, truncated)
	}
}

// TestAssertions_Limits: a body past the MiB the checks read says so
// instead of misjudging it, and a sensitive header's value is not quoted.
func TestAssertions_Limits(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=SECRET123")
		_, _ = w.Write([]byte(`{"pad": "` + strings.Repeat("x", MaxAssertedBody) + `", "status": "up"}`))
	})
	e := New(Config{})
	job := newTestJob(srv.URL)
	job.Assertions = mustAssertions(t, `[{"type": "json_path", "path": "$.status", "equals": "up"}]`)
	res := execute(t, e, job, 5*time.Second)
	if res.FailedAssertion == nil || !strings.Contains(res.FailedAssertion.Actual, "over 1 MiB") {
		t.Errorf("json_path on a 1 MiB+ body: %+v", res.FailedAssertion)
	}
	job.Assertions = mustAssertions(t, `[{"type": "header", "name": "Set-Cookie", "matches": "^theme="}]`)
	res = execute(t, e, job, 5*time.Second)
	if res.FailedAssertion == nil || strings.Contains(res.FailedAssertion.Actual, "SECRET123") || strings.Contains(res.ErrorMessage, "SECRET123") {
		t.Errorf("a Set-Cookie check quotes the cookie: %+v %s", res.FailedAssertion, res.ErrorMessage)
	}
}
