package httpapi_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/apicron/apicron/internal/httpapi"
)

// With AccessLog, every request gets one JSON line with what it asked and
// got: a 200 with its body's length, a 404, a 422 with X-Request-Id, the
// dashboard's page; without it, none.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	e := newTestEnv(t, "sqlite", func(c *httpapi.Config) {
		c.AccessLog = true
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		c.UI = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "dashboard") })
	})
	get := func(path string, header map[string]string) int64 {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		return n
	}
	healthBytes := get("/health", nil)
	get("/no-such-route", nil)
	get("/runs?limit=-5", map[string]string{"X-Request-Id": "req-42"})
	get("/", nil)

	type line struct {
		Msg        string  `json:"msg"`
		Level      string  `json:"level"`
		Method     string  `json:"method"`
		Path       string  `json:"path"`
		Status     int     `json:"status"`
		Bytes      int64   `json:"bytes"`
		DurationMs float64 `json:"duration_ms"`
		Remote     string  `json:"remote"`
		RequestID  *string `json:"request_id"`
	}
	var got []line
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		if l.Msg == "http request" {
			got = append(got, l)
		}
	}
	if len(got) != 4 {
		t.Fatalf("%d access log lines, want 4:\n%s", len(got), logs)
	}
	want := []struct {
		path   string
		status int
		reqID  string
	}{{"/health", 200, ""}, {"/no-such-route", 404, ""}, {"/runs", 422, "req-42"}, {"/", 200, ""}}
	for i, w := range want {
		l := got[i]
		if l.Method != "GET" || l.Path != w.path || l.Status != w.status || l.Level != "INFO" || l.DurationMs < 0 ||
			!strings.HasPrefix(l.Remote, "127.0.0.1:") || l.Bytes <= 0 {
			t.Errorf("line %d = %+v, want GET %s %d", i, l, w.path, w.status)
		}
		if (w.reqID == "") != (l.RequestID == nil) || (l.RequestID != nil && *l.RequestID != w.reqID) {
			t.Errorf("line %d request_id = %v, want %q", i, l.RequestID, w.reqID)
		}
	}
	if got[0].Bytes != healthBytes {
		t.Errorf("bytes of /health = %d, the client read %s", got[0].Bytes, strconv.FormatInt(healthBytes, 10))
	}
	if got[3].Bytes != int64(len("dashboard")) {
		t.Errorf("bytes of / = %d, want %d", got[3].Bytes, len("dashboard"))
	}

	quiet := &syncBuffer{}
	q := newTestEnv(t, "sqlite", func(c *httpapi.Config) { c.Logger = slog.New(slog.NewJSONHandler(quiet, nil)) })
	resp, err := http.Get(q.srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if strings.Contains(quiet.String(), "http request") {
		t.Errorf("access log without AccessLog:\n%s", quiet)
	}
}
