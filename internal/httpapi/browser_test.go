package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/storetest"
)

// The tests in this file mount, through the real handler, what a web page
// the operator opens can make the browser send to an apicron on 127.0.0.1.

// send sends a request built by the test as it is, and reads the answer.
func (e *testEnv) send(t *testing.T, req *http.Request) *response {
	t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// newRequest builds a request to the test server with body as it is (none
// when nil) and the header fields given as name, value pairs; it sets no
// Content-Type of its own.
func (e *testEnv) newRequest(t *testing.T, method, path string, body io.Reader, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return req
}

// unsized hides the length of a reader, so that the client sends it chunked.
type unsized struct{ io.Reader }

// countTargets returns how many targets the store holds.
func countTargets(t *testing.T, e *testEnv) int {
	t.Helper()
	_, n, err := e.db.FindTargets(context.Background(), apicron.Page{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowser_BodyNotDeclaredJSON: fetch(url, {method: 'POST', mode:
// 'no-cors', body: new Blob([json])}) sends a body without a Content-Type;
// a string body goes as text/plain, a FormData as multipart/form-data. A page
// of any origin may send those without a preflight. Every one is refused
// with 415 and stores nothing; JSON, with parameters or as a +json type, is
// read; a POST without a body needs no type.
func TestBrowser_BodyNotDeclaredJSON(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		sch := mustCreateSchedule(t, e, tg.ID, 60)
		body := `{"name": "planted", "url": "https://attacker.example/"}`
		refused := []struct {
			name, method, path string
			body               io.Reader
			header             []string
			says               string
		}{
			{"no Content-Type (a Blob)", http.MethodPost, "/targets", strings.NewReader(body), nil, "without a Content-Type"},
			{"no Content-Type, chunked", http.MethodPost, "/targets", unsized{strings.NewReader(body)}, nil, "without a Content-Type"},
			{"text/plain (a string)", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "text/plain;charset=UTF-8"}, "not text/plain"},
			{"form", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "application/x-www-form-urlencoded"}, "application/x-www-form-urlencoded"},
			{"multipart", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "multipart/form-data; boundary=x"}, "multipart/form-data"},
			{"not a media type", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "application/json, text/plain"}, "not a valid media type"},
			{"two types", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "application/json", "Content-Type", "text/plain"}, "more than one"},
			{"a schedule", http.MethodPost, "/schedules", strings.NewReader(`{"name": "s", "target_id": 1, "schedule_type": "INTERVAL", "interval_seconds": 1}`), nil, "without a Content-Type"},
			{"PUT a target", http.MethodPut, "/targets/1", strings.NewReader(`{"url": "https://attacker.example/"}`), nil, "without a Content-Type"},
			{"PATCH a target", http.MethodPatch, "/targets/1", strings.NewReader(`{"url": "https://attacker.example/"}`), []string{"Content-Type", "text/plain"}, "text/plain"},
			{"PATCH a schedule", http.MethodPatch, "/schedules/1", strings.NewReader(`{"interval_seconds": 1}`), nil, "without a Content-Type"},
		}
		for _, c := range refused {
			r := e.send(t, e.newRequest(t, c.method, c.path, c.body, c.header...))
			var p problem
			if r.status != http.StatusUnsupportedMediaType || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s: %s %s: got %s, want a 415 problem", c.name, c.method, c.path, r)
				continue
			}
			if err := json.Unmarshal(r.body, &p); err != nil || !strings.Contains(p.Detail, "Content-Type: application/json") || !strings.Contains(p.Detail, c.says) {
				t.Errorf("%s: detail %q, want it to ask for application/json and say %q", c.name, p.Detail, c.says)
			}
		}
		if n := countTargets(t, e); n != 1 {
			t.Errorf("%d targets after the refused requests, want 1", n)
		}
		var got target
		e.expect(t, http.MethodGet, "/targets/1", nil, http.StatusOK, &got)
		if got.URL != tg.URL {
			t.Errorf("target URL %q after the refused updates, want %q", got.URL, tg.URL)
		}
		var gotSch schedule
		e.expect(t, http.MethodGet, "/schedules/1", nil, http.StatusOK, &gotSch)
		if gotSch.IntervalSeconds != sch.IntervalSeconds {
			t.Errorf("schedule interval %d after the refused update, want %d", gotSch.IntervalSeconds, sch.IntervalSeconds)
		}

		accepted := []struct {
			name, method, path string
			body               io.Reader
			header             []string
			status             int
		}{
			{"application/json", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "application/json"}, 201},
			{"with a charset", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "application/json; charset=utf-8"}, 201},
			{"in upper case", http.MethodPost, "/targets", strings.NewReader(body), []string{"Content-Type", "Application/JSON"}, 201},
			{"chunked", http.MethodPost, "/targets", unsized{strings.NewReader(body)}, []string{"Content-Type", "application/json"}, 201},
			{"a +json type", http.MethodPatch, "/targets/1", strings.NewReader(`{"name": "renamed"}`), []string{"Content-Type", "application/merge-patch+json"}, 200},
			{"pause without a body", http.MethodPost, "/schedules/1/pause", nil, nil, 200},
			{"resume, Content-Length: 0", http.MethodPost, "/schedules/1/resume", strings.NewReader(""), nil, 200},
			{"delete without a body", http.MethodDelete, "/schedules/1", nil, nil, 204},
		}
		for _, c := range accepted {
			if r := e.send(t, e.newRequest(t, c.method, c.path, c.body, c.header...)); r.status != c.status {
				t.Errorf("%s: %s %s: got %s, want %d", c.name, c.method, c.path, r, c.status)
			}
		}
	})
}

// TestBrowser_CrossOrigin: a page of another origin, or another port of the
// same host, that makes the browser POST /schedules/1/pause (no body: no
// preflight), post a form, or send anything else that may change state, is
// refused with 403, with tokens or without; the API's own pages (Elements'
// "Try it" on /docs), clients that are not browsers, and reads pass.
func TestBrowser_CrossOrigin(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		for _, tokens := range []bool{false, true} {
			var mods []func(*httpapi.Config)
			var auth []string
			if tokens {
				mods = append(mods, withTokens)
				auth = []string{"Authorization", "Bearer " + fullToken}
			}
			e := newTestEnv(t, driver, mods...)
			tg := mustCreateTargetAs(t, e, auth)
			self := e.srv.URL // http://127.0.0.1:port, the origin of /docs
			header := func(h ...string) []string { return append(append([]string(nil), auth...), h...) }
			jsonBody := func(s string) io.Reader { return strings.NewReader(s) }
			newSchedule := `{"name": "s", "target_id": 1, "schedule_type": "INTERVAL", "interval_seconds": 60}`
			if r := e.send(t, e.newRequest(t, http.MethodPost, "/schedules", jsonBody(newSchedule), header("Content-Type", "application/json")...)); r.status != 201 {
				t.Fatalf("tokens %v: create schedule: %s", tokens, r)
			}

			refused := []struct {
				name, method, path string
				body               string
				header             []string
				says               string
			}{
				{"pause, cross-site", http.MethodPost, "/schedules/1/pause", "", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example"}, "cross-site"},
				{"pause, old browser", http.MethodPost, "/schedules/1/pause", "", []string{"Origin", "https://attacker.example"}, "Origin"},
				{"pause, another port", http.MethodPost, "/schedules/1/pause", "", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:3000"}, "same-site"},
				{"pause, another port, old browser", http.MethodPost, "/schedules/1/pause", "", []string{"Origin", "http://127.0.0.1:3000"}, "Origin"},
				{"a form", http.MethodPost, "/targets", `{"name": "planted", "url": "https://attacker.example/"}`, []string{"Sec-Fetch-Site", "cross-site", "Content-Type", "application/json"}, "cross-site"},
				{"update", http.MethodPatch, "/targets/1", `{"url": "https://attacker.example/"}`, []string{"Sec-Fetch-Site", "cross-site", "Content-Type", "application/json"}, "cross-site"},
				{"delete", http.MethodDelete, "/schedules/1", "", []string{"Sec-Fetch-Site", "cross-site"}, "cross-site"},
				{"an unknown value", http.MethodDelete, "/schedules/1", "", []string{"Sec-Fetch-Site", "whatever"}, "does not say it is same-origin"},
			}
			for _, c := range refused {
				var body io.Reader
				if c.body != "" {
					body = jsonBody(c.body)
				}
				r := e.send(t, e.newRequest(t, c.method, c.path, body, header(c.header...)...))
				var p problem
				if r.status != http.StatusForbidden || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") ||
					json.Unmarshal(r.body, &p) != nil || !strings.Contains(p.Detail, "cross-origin request refused") || !strings.Contains(p.Detail, c.says) {
					t.Errorf("tokens %v: %s: %s %s: got %s, want a 403 problem saying %q", tokens, c.name, c.method, c.path, r, c.says)
				}
			}
			var s schedule
			if r := e.send(t, e.newRequest(t, http.MethodGet, "/schedules/1", nil, auth...)); json.Unmarshal(r.body, &s) != nil || s.Status != "ACTIVE" {
				t.Errorf("tokens %v: schedule after the refused requests: %s, want it ACTIVE", tokens, r)
			}
			var got target
			if r := e.send(t, e.newRequest(t, http.MethodGet, "/targets/1", nil, auth...)); json.Unmarshal(r.body, &got) != nil || got.URL != tg.URL {
				t.Errorf("tokens %v: target after the refused requests: %s, want URL %s", tokens, r, tg.URL)
			}
			if n := countTargets(t, e); n != 1 {
				t.Errorf("tokens %v: %d targets, want 1", tokens, n)
			}

			allowed := []struct {
				name, method, path string
				header             []string
				status             int
			}{
				{"/docs Try it", http.MethodPost, "/schedules/1/pause", []string{"Sec-Fetch-Site", "same-origin", "Origin", self}, 200},
				{"same origin, old browser", http.MethodPost, "/schedules/1/resume", []string{"Origin", self}, 200},
				{"typed by the user", http.MethodPost, "/schedules/1/pause", []string{"Sec-Fetch-Site", "none"}, 200},
				{"curl", http.MethodPost, "/schedules/1/resume", nil, 200},
				{"a cross-site read", http.MethodGet, "/schedules/1", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example"}, 200},
			}
			for _, c := range allowed {
				if r := e.send(t, e.newRequest(t, c.method, c.path, nil, header(c.header...)...)); r.status != c.status {
					t.Errorf("tokens %v: %s: %s %s: got %s, want %d", tokens, c.name, c.method, c.path, r, c.status)
				}
			}
			if !strings.Contains(e.logs.String(), "cross-origin request refused") {
				t.Errorf("tokens %v: no log line for the refused requests:\n%s", tokens, e.logs)
			}
		}
	})
}

// mustCreateTargetAs creates the default target, sending the header fields auth.
func mustCreateTargetAs(t *testing.T, e *testEnv, auth []string) target {
	t.Helper()
	var tg target
	r := e.send(t, e.newRequest(t, http.MethodPost, "/targets", strings.NewReader(`{"name": "t", "url": "https://example.com/ping"}`),
		append([]string{"Content-Type", "application/json"}, auth...)...))
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &tg) != nil {
		t.Fatalf("create target: %s", r)
	}
	return tg
}

// loopbackHosts is the ALLOWED_HOSTS default when HOST is loopback.
var loopbackHosts = []string{"localhost", "127.0.0.0/8", "::1"}

// withHosts sets the names the API answers to (ALLOWED_HOSTS).
func withHosts(hosts ...string) func(*httpapi.Config) {
	return func(c *httpapi.Config) { c.AllowedHosts = hosts }
}

// TestBrowser_DNSRebinding: a page on rebind.attacker.example whose name
// then resolves to 127.0.0.1 is, to the browser, same-origin with the API
// it reaches there: it sends Sec-Fetch-Site: same-origin and an Origin that
// matches its Host, and may read the answers. Every route, /health included,
// refuses a Host that is not allowed with 421 and changes nothing; the
// loopback names and addresses, with any port, pass.
func TestBrowser_DNSRebinding(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver, withHosts(loopbackHosts...))
		tg := mustCreateTarget(t, e, `{"name": "billing", "url": "https://api.example.com/charge", "headers": {"Authorization": "Bearer sk_live_x", "X-Tenant": "acme"}}`)
		const evil = "rebind.attacker.example:8000"
		page := []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://" + evil}
		for _, c := range []struct {
			method, path, body string
		}{
			{http.MethodGet, "/targets", ""},
			{http.MethodGet, "/targets/1", ""},
			{http.MethodHead, "/targets", ""},
			{http.MethodPatch, "/targets/1", `{"url": "https://attacker.example/collect"}`},
			{http.MethodPost, "/targets", `{"name": "planted", "url": "https://attacker.example/"}`},
			{http.MethodPost, "/schedules/1/pause", ""},
			{http.MethodGet, "/runs", ""},
			{http.MethodGet, "/docs", ""},
			{http.MethodGet, "/docs/assets/elements-8.5.2/web-components.min.js", ""},
			{http.MethodGet, "/openapi.json", ""},
			{http.MethodGet, "/health", ""},
			{http.MethodGet, "/", ""},
			{http.MethodGet, "/nope", ""},
		} {
			var body io.Reader
			header := page
			if c.body != "" {
				body = strings.NewReader(c.body)
				header = append([]string{"Content-Type", "application/json"}, page...)
			}
			req := e.newRequest(t, c.method, c.path, body, header...)
			req.Host = evil
			r := e.send(t, req)
			if r.status != http.StatusMisdirectedRequest {
				t.Errorf("%s %s, Host %s: got %s, want 421", c.method, c.path, evil, r)
				continue
			}
			if c.method == http.MethodHead {
				continue
			}
			var p problem
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || json.Unmarshal(r.body, &p) != nil ||
				!strings.Contains(p.Detail, "ALLOWED_HOSTS") || !strings.Contains(p.Detail, evil) || strings.Contains(string(r.body), "api.example.com") {
				t.Errorf("%s %s: %s, want a problem naming the host and ALLOWED_HOSTS, and nothing else", c.method, c.path, r)
			}
		}
		var got target
		e.expect(t, http.MethodGet, "/targets/1", nil, http.StatusOK, &got)
		if got.URL != tg.URL || countTargets(t, e) != 1 {
			t.Errorf("target %+v, %d targets, after the refused requests: want %s, 1", got, countTargets(t, e), tg.URL)
		}
		if !strings.Contains(e.logs.String(), "request for a host not in ALLOWED_HOSTS refused") {
			t.Errorf("no log line for the refused requests:\n%s", e.logs)
		}

		port := e.srv.Listener.Addr().(*net.TCPAddr).Port
		for _, host := range []string{"localhost:8000", "127.0.0.1:8000", "[::1]:8000", "127.1.2.3:8000", "localhost.:8000",
			"LocalHost", "[::ffff:127.0.0.1]:8000", "[::1]", fmt.Sprintf("127.0.0.1:%d", port)} {
			for _, c := range []struct{ method, path string }{
				{http.MethodGet, "/targets"}, {http.MethodGet, "/health"}, {http.MethodGet, "/docs"}, {http.MethodGet, "/openapi.json"},
			} {
				req := e.newRequest(t, c.method, c.path, nil)
				req.Host = host
				if r := e.send(t, req); r.status != http.StatusOK {
					t.Errorf("%s %s, Host %s: got %s, want 200", c.method, c.path, host, r)
				}
			}
			// The API's own page ("Try it" on /docs, opened on that name) may write.
			req := e.newRequest(t, http.MethodPatch, "/targets/1", strings.NewReader(`{"name": "renamed"}`),
				"Content-Type", "application/json", "Sec-Fetch-Site", "same-origin", "Origin", "http://"+host)
			req.Host = host
			if r := e.send(t, req); r.status != http.StatusOK {
				t.Errorf("PATCH /targets/1 from /docs on %s: got %s, want 200", host, r)
			}
		}
	})
}

// TestAllowedHosts: which Host headers a list allows. No list, and "*",
// allow any; "*.example.com" any name below example.com but not that name.
func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		hosts   []string
		allowed []string
		refused []string
	}{
		{nil, []string{"rebind.attacker.example", "10.0.0.1:8000", "anything"}, nil},
		{[]string{"*"}, []string{"rebind.attacker.example", "[fe80::1]:8000"}, nil},
		{loopbackHosts, []string{"localhost", "LOCALHOST:1", "localhost.", "127.0.0.1", "127.255.255.254:80", "[::1]:80", "::1"},
			[]string{"rebind.attacker.example", "localhost.attacker.example", "127.0.0.1.nip.io", "0.0.0.0:8000", "10.0.0.1", "[::2]:80"}},
		{[]string{"*.example.com", "apicron.internal.", "10.1.2.3", "[fd00::1]", "192.168.0.0/16"},
			[]string{"api.example.com", "a.b.example.com:443", "APICRON.internal", "apicron.internal.:8000", "10.1.2.3:8000", "[fd00::1]:8000", "192.168.7.7"},
			[]string{"example.com", "evil-example.com", "example.com.attacker.example", "internal", "10.1.2.4", "[fd00::2]", "192.169.0.1", "localhost"}},
	} {
		e := newTestEnv(t, "sqlite", withHosts(c.hosts...))
		for _, host := range c.allowed {
			req := e.newRequest(t, http.MethodGet, "/health", nil)
			req.Host = host
			if r := e.send(t, req); r.status != http.StatusOK {
				t.Errorf("hosts %q, Host %q: got %s, want 200", c.hosts, host, r)
			}
		}
		for _, host := range c.refused {
			req := e.newRequest(t, http.MethodGet, "/health", nil)
			req.Host = host
			if r := e.send(t, req); r.status != http.StatusMisdirectedRequest {
				t.Errorf("hosts %q, Host %q: got %s, want 421", c.hosts, host, r)
			}
		}
	}
}

func TestNew_InvalidAllowedHosts(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, "sqlite", storetest.NewClock(testStart))
	for entry, want := range map[string]string{
		"localhost:8000":         "has a port",
		"[::1]:8000":             "has a port",
		"http://apicron.example": "is a URL",
		"10.0.0.0/33":            "not a CIDR prefix",
		"::ffff:0:0/80":          "IPv4-mapped",
		"*":                      "",
		"*.":                     "not a host name",
		"a.*.example.com":        "not a host name",
		"*example.com":           "not a host name",
		"exa mple.com":           "not a host name",
		"":                       "not a host name",
	} {
		_, err := httpapi.New(httpapi.Config{Store: db, AllowedHosts: []string{"localhost", entry}})
		if (err == nil) != (want == "") || (err != nil && (!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), strconv.Quote(entry)))) {
			t.Errorf("AllowedHosts %q: %v, want an error naming it and saying %q", entry, err, want)
		}
	}
}
