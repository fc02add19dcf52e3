package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/storetest"
)

const (
	fullToken = "full-token-0123456789abcdef"
	readToken = "read-token-0123456789abcdef"
)

// withTokens configures the API with one full and one read-only token.
func withTokens(c *httpapi.Config) {
	c.Tokens = []string{"other-full-token-0123456789", fullToken}
	c.ReadTokens = []string{readToken}
}

// doWith sends a request with the given Authorization header values (none
// when empty) and a JSON body (when not "").
func (e *testEnv) doWith(t *testing.T, method, path string, auth []string, body string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(token string) []string { return []string{"Bearer " + token} }

func TestAuth(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver, withTokens)
		target := `{"name": "t", "url": "https://example.com/"}`

		tests := []struct {
			name      string
			method    string
			path      string
			auth      []string
			body      string
			status    int
			challenge string // the WWW-Authenticate header of a 401 or 403
		}{
			{"no token", http.MethodGet, "/targets", nil, "", 401, `Bearer realm="apicron"`},
			{"no token, write", http.MethodPost, "/targets", nil, target, 401, `Bearer realm="apicron"`},
			{"wrong token", http.MethodGet, "/targets", bearer("wrong-token-0123456789abcdef"), "", 401, `Bearer realm="apicron", error="invalid_token"`},
			{"a prefix of the token", http.MethodGet, "/targets", bearer(fullToken[:20]), "", 401, `Bearer realm="apicron", error="invalid_token"`},
			{"the token and more", http.MethodGet, "/targets", bearer(fullToken + "x"), "", 401, `Bearer realm="apicron", error="invalid_token"`},
			{"another scheme", http.MethodGet, "/targets", []string{"Basic " + fullToken}, "", 401, `Bearer realm="apicron"`},
			{"bare token", http.MethodGet, "/targets", []string{fullToken}, "", 401, `Bearer realm="apicron"`},
			{"empty bearer", http.MethodGet, "/targets", []string{"Bearer "}, "", 401, `Bearer realm="apicron"`},
			{"two headers", http.MethodGet, "/targets", []string{"Bearer " + fullToken, "Bearer " + fullToken}, "", 401, `Bearer realm="apicron"`},
			{"full token", http.MethodGet, "/targets", bearer(fullToken), "", 200, ""},
			{"full token, second of two", http.MethodGet, "/targets", bearer("other-full-token-0123456789"), "", 200, ""},
			{"scheme in any case", http.MethodGet, "/targets", []string{"bearer  " + fullToken}, "", 200, ""},
			{"full token, write", http.MethodPost, "/targets", bearer(fullToken), target, 201, ""},
			{"read token, GET", http.MethodGet, "/targets", bearer(readToken), "", 200, ""},
			{"read token, HEAD", http.MethodHead, "/targets", bearer(readToken), "", 200, ""},
			{"read token, GET metrics", http.MethodGet, "/metrics", bearer(readToken), "", 200, ""},
			{"read token, POST", http.MethodPost, "/targets", bearer(readToken), target, 403, `Bearer realm="apicron", error="insufficient_scope"`},
			{"read token, DELETE", http.MethodDelete, "/targets/1", bearer(readToken), "", 403, `Bearer realm="apicron", error="insufficient_scope"`},
			{"read token, PUT", http.MethodPut, "/targets/1", bearer(readToken), `{"name": "x"}`, 403, `Bearer realm="apicron", error="insufficient_scope"`},
			{"health is open", http.MethodGet, "/health", nil, "", 200, ""},
			{"health is open to a wrong token", http.MethodGet, "/health", bearer("wrong"), "", 200, ""},
			{"openapi.json", http.MethodGet, "/openapi.json", nil, "", 401, `Bearer realm="apicron"`},
			{"openapi.yaml", http.MethodGet, "/openapi.yaml", nil, "", 401, `Bearer realm="apicron"`},
			{"docs", http.MethodGet, "/docs", nil, "", 401, `Bearer realm="apicron"`},
			{"redoc", http.MethodGet, "/redoc", nil, "", 401, `Bearer realm="apicron"`},
			{"unknown route", http.MethodGet, "/nope", nil, "", 401, `Bearer realm="apicron"`},
			{"unknown route with a token", http.MethodGet, "/nope", bearer(readToken), "", 404, ""},
			{"openapi.json with a read token", http.MethodGet, "/openapi.json", bearer(readToken), "", 200, ""},
		}
		for _, tt := range tests {
			r := e.doWith(t, tt.method, tt.path, tt.auth, tt.body)
			if r.status != tt.status {
				t.Errorf("%s: %s %s: got %s, want %d", tt.name, tt.method, tt.path, r, tt.status)
				continue
			}
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("%s: WWW-Authenticate %q, want %q", tt.name, got, tt.challenge)
			}
			if tt.status == 401 || tt.status == 403 {
				var p problem
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || json.Unmarshal(r.body, &p) != nil || p.Status != tt.status || p.Detail == "" {
					t.Errorf("%s: %s %q, want a problem+json body", tt.name, ct, r.body)
				}
			}
		}
		// Only the full token's POST stored a target.
		if _, n, err := e.db.FindTargets(context.Background(), apicron.Page{Limit: 10}); err != nil || n != 1 {
			t.Errorf("%d targets stored (%v), want 1", n, err)
		}
	})
}

func TestAuth_TokensNotLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := newTestEnv(t, "sqlite", withTokens, func(c *httpapi.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.doWith(t, http.MethodGet, "/targets", bearer("wrong-token-0123456789abcdef"), "")
	e.doWith(t, http.MethodPost, "/targets", bearer(readToken), `{"name": "t", "url": "https://example.com/"}`)
	e.doWith(t, http.MethodGet, "/targets", nil, "")
	for _, want := range []string{"invalid token refused", "read-only token refused", "request without a token refused"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	for _, secret := range []string{"wrong-token", "read-token", "full-token", "Bearer"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
}

func TestAuth_OpenAPIDocumentsTheScheme(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "sqlite", withTokens)
	r := e.doWith(t, http.MethodGet, "/openapi.json", bearer(fullToken), "")
	var doc struct {
		Security   []map[string][]string `json:"security"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type   string `json:"type"`
				Scheme string `json:"scheme"`
			} `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			Security  *[]map[string][]string `json:"security"`
			Responses map[string]any         `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
	if s := doc.Components.SecuritySchemes["bearer"]; s.Type != "http" || s.Scheme != "bearer" || len(doc.Security) != 1 {
		t.Errorf("security scheme %+v, security %v: want a global http bearer scheme", doc.Components.SecuritySchemes, doc.Security)
	}
	if h := doc.Paths["/health"]["get"]; h.Security == nil || len(*h.Security) != 0 {
		t.Errorf("/health security %v, want [] (open)", h.Security)
	}
	if _, ok := doc.Paths["/targets"]["post"].Responses["401"]; !ok {
		t.Errorf("POST /targets documents no 401")
	}
	if _, ok := doc.Paths["/targets"]["post"].Responses["403"]; !ok {
		t.Errorf("POST /targets documents no 403")
	}

	// Without tokens the document declares no scheme.
	open := newTestEnv(t, "sqlite")
	r = open.doWith(t, http.MethodGet, "/openapi.json", nil, "")
	if r.status != 200 || strings.Contains(string(r.body), "securitySchemes") {
		t.Errorf("open API: %d, document with a security scheme", r.status)
	}
}

func TestNew_InvalidTokens(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, "sqlite", storetest.NewClock(testStart))
	for _, cfg := range []httpapi.Config{
		{Store: db, Tokens: []string{" "}},
		{Store: db, Tokens: []string{"same-token-0123456789"}, ReadTokens: []string{"same-token-0123456789"}},
	} {
		if _, err := httpapi.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestTargets_OutboundPolicy(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		policy := mustPolicy(t, nil, false)
		e := newTestEnv(t, driver, func(c *httpapi.Config) { c.URLCheckFunc = policy.CheckURL })
		for _, url := range []string{
			"http://169.254.169.254/latest/meta-data/",
			" http://169.254.169.254:80/?key=1",
			"http://[::ffff:169.254.169.254]/",
			"http://[fd00:ec2::254]/",
			"http://100.100.100.200/",
		} {
			p := e.expectProblem(t, http.MethodPost, "/targets", map[string]any{"name": "meta", "url": url}, http.StatusUnprocessableEntity, "body.url")
			if !strings.Contains(p.Detail, "outbound policy") || strings.Contains(p.Detail, "latest") || strings.Contains(p.Detail, "key=") {
				t.Errorf("POST url %q: detail %q, want the rule and not the URL", url, p.Detail)
			}
		}
		if n := e.total(t, "/targets"); n != 0 {
			t.Errorf("%d targets stored, want none", n)
		}
		// Names and templated hosts pass; they are checked when dialled.
		tg := mustCreateTarget(t, e, `{"name": "ok", "url": "http://metadata.example/"}`)
		mustCreateTarget(t, e, `{"name": "tmpl", "url": "http://host-{{.RunID}}.example/"}`)
		e.expectProblem(t, http.MethodPut, fmt.Sprintf("/targets/%d", tg.ID), `{"url": "http://169.254.169.254/"}`, http.StatusUnprocessableEntity, "body.url")
		e.expectProblem(t, http.MethodPatch, fmt.Sprintf("/targets/%d", tg.ID), `{"url": "http://[fe80::1%25eth0]/"}`, http.StatusUnprocessableEntity, "body.url")
		var got target
		e.expect(t, http.MethodGet, fmt.Sprintf("/targets/%d", tg.ID), nil, http.StatusOK, &got)
		if got.URL != "http://metadata.example/" {
			t.Errorf("url %q after refused updates", got.URL)
		}
		// An update that leaves the URL alone is not checked again.
		e.expect(t, http.MethodPut, fmt.Sprintf("/targets/%d", tg.ID), `{"name": "renamed"}`, http.StatusOK, nil)
	})
}

// secretTarget decodes a target with its secret header names.
type secretTarget struct {
	ID            int64             `json:"id"`
	Headers       map[string]string `json:"headers"`
	SecretHeaders []string          `json:"secret_headers"`
}

// checkNoSecrets fails if a response body holds a secret: every secret
// value in these tests contains "s3cret".
func checkNoSecrets(t *testing.T, what string, body []byte) {
	t.Helper()
	if strings.Contains(string(body), "s3cret") {
		t.Errorf("%s shows a secret: %s", what, body)
	}
}

func TestTargets_SecretHeaders(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		body := `{"name": "s", "url": "https://example.com/", "secret_headers": ["x-custom"], "headers": {
			"Authorization": "Bearer s3cret-auth", "proxy-authorization": "s3cret-proxy", "COOKIE": "session=s3cret-cookie",
			"X-Api-Key": "s3cret-api-key", "X-Custom": "s3cret-custom", "X-Plain": "visible"}}`
		var created secretTarget
		r := e.expect(t, http.MethodPost, "/targets", body, http.StatusCreated, &created)
		checkNoSecrets(t, "POST /targets", r.body)
		want := map[string]string{
			"Authorization": apicron.MaskedValue, "proxy-authorization": apicron.MaskedValue, "COOKIE": apicron.MaskedValue,
			"X-Api-Key": apicron.MaskedValue, "X-Custom": apicron.MaskedValue, "X-Plain": "visible",
		}
		if fmt.Sprint(created.Headers) != fmt.Sprint(want) || fmt.Sprint(created.SecretHeaders) != "[x-custom]" {
			t.Errorf("created headers %v, secret_headers %v; want %v, [x-custom]", created.Headers, created.SecretHeaders, want)
		}
		path := fmt.Sprintf("/targets/%d", created.ID)

		var got secretTarget
		r = e.expect(t, http.MethodGet, path, nil, http.StatusOK, &got)
		checkNoSecrets(t, "GET target", r.body)
		if fmt.Sprint(got.Headers) != fmt.Sprint(want) {
			t.Errorf("GET headers %v, want %v", got.Headers, want)
		}
		r = e.expect(t, http.MethodGet, "/targets", nil, http.StatusOK, nil)
		checkNoSecrets(t, "GET /targets", r.body)

		// GET, modify, PUT back: the masks keep the stored secrets.
		got.Headers["X-Plain"] = "changed"
		upd, _ := json.Marshal(map[string]any{"headers": got.Headers, "secret_headers": got.SecretHeaders})
		r = e.expect(t, http.MethodPut, path, string(upd), http.StatusOK, nil)
		checkNoSecrets(t, "PUT target", r.body)
		stored, err := e.db.FindTargetByID(context.Background(), created.ID)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{
			"Authorization": "Bearer s3cret-auth", "proxy-authorization": "s3cret-proxy", "COOKIE": "session=s3cret-cookie",
			"X-Api-Key": "s3cret-api-key", "X-Custom": "s3cret-custom", "X-Plain": "changed",
		} {
			if stored.Headers[name] != v {
				t.Errorf("after the round trip, stored %s = %q, want %q", name, stored.Headers[name], v)
			}
		}
		if len(stored.SecretHeaders) != 1 || stored.SecretHeaders[0] != "x-custom" {
			t.Errorf("stored secret_headers %q", stored.SecretHeaders)
		}

		// A new value replaces a secret; the mask of a secret never stored is refused.
		e.expect(t, http.MethodPatch, path, `{"headers": {"Authorization": "Bearer s3cret-new"}}`, http.StatusOK, nil)
		if stored, _ = e.db.FindTargetByID(context.Background(), created.ID); stored.Headers["Authorization"] != "Bearer s3cret-new" || len(stored.Headers) != 1 {
			t.Errorf("after a new value, stored headers %v", stored.Headers)
		}
		e.expectProblem(t, http.MethodPatch, path, `{"headers": {"Cookie": "********"}}`, http.StatusUnprocessableEntity, "body.headers.Cookie")
		e.expectProblem(t, http.MethodPost, "/targets", `{"name": "m", "url": "https://example.com/", "headers": {"X-Api-Key": "********"}}`, http.StatusUnprocessableEntity, "body.headers.X-Api-Key")
		e.expectProblem(t, http.MethodPost, "/targets", `{"name": "m", "url": "https://example.com/", "secret_headers": ["bad name"]}`, http.StatusUnprocessableEntity, "body.secret_headers")
		e.expectProblem(t, http.MethodPut, path, `{"secret_headers": null}`, http.StatusUnprocessableEntity, "body.secret_headers")

		// A target without secret_headers reads back with [].
		plain := e.expect(t, http.MethodPost, "/targets", `{"name": "p", "url": "https://example.com/"}`, http.StatusCreated, nil)
		if !strings.Contains(string(plain.body), `"secret_headers":[]`) {
			t.Errorf("plain target %s, want secret_headers []", plain.body)
		}
		if logs := e.logs.String(); strings.Contains(logs, "s3cret") {
			t.Errorf("logs hold a secret:\n%s", logs)
		}
	})
}

// recordingServer is a target that remembers the paths and Authorization
// headers it got and answers 200 with a body that does not echo them, or,
// on /redirect, redirects to 127.0.0.2.
type recordingServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "path auth"
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	rs := &recordingServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.requests = append(rs.requests, r.URL.Path+" "+r.Header.Get("Authorization"))
		rs.mu.Unlock()
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://127.0.0.2:9/stolen?token=in-url", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok": true}`)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func TestRuns_SecretsAndBlockedCalls(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		srv := newRecordingServer(t)
		if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
			t.Skipf("the test server is not on 127.0.0.1: %s", srv.URL)
		}
		var execLogs syncBuffer
		logger := slog.New(slog.NewTextHandler(&execLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		// Deny private addresses but allow the test server's own: its
		// redirect to 127.0.0.2 is then blocked.
		policy := mustPolicy(t, []string{"127.0.0.1/32"}, true)
		exec := executor.New(executor.Config{Policy: policy, Logger: logger})
		e := newTestEnv(t, driver, withTokens, func(c *httpapi.Config) { c.URLCheckFunc = policy.CheckURL })

		create := func(name, url string) int64 {
			body, _ := json.Marshal(map[string]any{
				"name": name, "url": url, "secret_headers": []string{"X-Custom"},
				"headers": map[string]string{"Authorization": "Bearer s3cret-auth", "X-Custom": "s3cret-custom"},
			})
			r := e.doWith(t, http.MethodPost, "/targets", bearer(fullToken), string(body))
			if r.status != http.StatusCreated {
				t.Fatalf("create target %s: %s", url, r)
			}
			var tg secretTarget
			if err := json.Unmarshal(r.body, &tg); err != nil {
				t.Fatal(err)
			}
			r = e.doWith(t, http.MethodPost, "/schedules", bearer(fullToken),
				fmt.Sprintf(`{"name": "%s", "target_id": %d, "schedule_type": "INTERVAL", "interval_seconds": 60}`, name, tg.ID))
			var s schedule
			if r.status != http.StatusCreated || json.Unmarshal(r.body, &s) != nil {
				t.Fatalf("create schedule: %s", r)
			}
			return s.ID
		}
		okID := create("allowed", srv.URL+"/hook?x=1")
		redirectID := create("redirect", srv.URL+"/redirect")
		r := e.doWith(t, http.MethodPost, "/targets", bearer(fullToken), `{"name": "private", "url": "http://10.0.0.1/"}`)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("a private address literal with deny-private: %s, want 422", r)
		}

		okRun := mustExecute(t, e, exec, okID)
		redirectRun := mustExecute(t, e, exec, redirectID)

		srv.mu.Lock()
		got := fmt.Sprint(srv.requests)
		srv.mu.Unlock()
		if want := "[/hook Bearer s3cret-auth /redirect Bearer s3cret-auth]"; got != want {
			t.Errorf("the target got %s, want %s: the stored secret, sent", got, want)
		}

		var run struct {
			Status       string  `json:"status"`
			ErrorType    *string `json:"error_type"`
			ErrorMessage *string `json:"error_message"`
			StatusCode   *int    `json:"status_code"`
		}
		for _, token := range []string{fullToken, readToken} {
			for _, path := range []string{"/runs", fmt.Sprintf("/runs/%d", okRun), fmt.Sprintf("/runs/%d", redirectRun), "/targets", "/schedules", "/metrics/schedules"} {
				r := e.doWith(t, http.MethodGet, path, bearer(token), "")
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: %s", path, r)
				}
				checkNoSecrets(t, "GET "+path, r.body)
			}
		}
		r = e.doWith(t, http.MethodGet, fmt.Sprintf("/runs/%d", okRun), bearer(readToken), "")
		if err := json.Unmarshal(r.body, &run); err != nil || run.Status != "SUCCESS" {
			t.Errorf("allowed run: %s", r.body)
		}
		r = e.doWith(t, http.MethodGet, fmt.Sprintf("/runs/%d", redirectRun), bearer(readToken), "")
		run.ErrorType, run.ErrorMessage = nil, nil
		if err := json.Unmarshal(r.body, &run); err != nil {
			t.Fatal(err)
		}
		if run.Status != "FAILED" || run.ErrorType == nil || *run.ErrorType != apicron.ErrBlocked || run.StatusCode != nil {
			t.Errorf("redirected run: %s, want FAILED blocked", r.body)
		} else if msg := *run.ErrorMessage; msg != "blocked by the outbound policy: 127.0.0.2 is in 127.0.0.0/8 (loopback, denied by OUTBOUND_DENY_PRIVATE)" {
			t.Errorf("blocked run message %q: want the address and rule, not the URL", msg)
		}
		if logs := execLogs.String() + e.logs.String(); strings.Contains(logs, "s3cret") || strings.Contains(logs, fullToken) {
			t.Errorf("logs hold a secret:\n%s", logs)
		} else if !strings.Contains(execLogs.String(), "error_type=blocked") {
			t.Errorf("executor logs lack the blocked attempt:\n%s", execLogs.String())
		}
	})
}

// TestRoot checks that / sends a client to /docs, with tokens or without,
// and that it is the only path it catches.
func TestRoot(t *testing.T) {
	t.Parallel()
	for _, mod := range []func(*httpapi.Config){func(*httpapi.Config) {}, withTokens} {
		e := newTestEnv(t, "sqlite", mod)
		client := *e.srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(method, e.srv.URL+"/", nil)
			req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/docs" {
				t.Errorf("%s /: %d, Location %q; want 302 to /docs", method, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		e.expectProblem(t, http.MethodPost, "/", nil, http.StatusMethodNotAllowed, "")
		if r := e.doWith(t, http.MethodGet, "/nope", bearer(fullToken), ""); r.status != http.StatusNotFound {
			t.Errorf("GET /nope: %s, want 404", r)
		}
	}
}

// TestAuth_BrowserPage checks that a browser refused for want of a token
// gets a page that says what to do, and that every other client still gets
// the problem.
func TestAuth_BrowserPage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, "sqlite", withTokens, withTitle(`Jobs <b>&</b>`))
	get := func(path, accept string, auth []string) *response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		for _, a := range auth {
			req.Header.Add("Authorization", a)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return &response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, c := range []struct {
		path string
		auth []string
	}{{"/docs", nil}, {"/redoc", nil}, {"/targets", nil}, {"/docs", bearer("wrong-token-0123456789abcdef")}} {
		r := get(c.path, browser, c.auth)
		body := string(r.body)
		if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s from a browser: %d %q, want 401 text/html", c.path, r.status, r.header.Get("Content-Type"))
		}
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer realm=") {
			t.Errorf("GET %s: WWW-Authenticate %q", c.path, r.header.Get("WWW-Authenticate"))
		}
		for _, want := range []string{
			"Jobs &lt;b&gt;&amp;&lt;/b&gt; needs an access token",
			`curl -H "Authorization: Bearer $API_TOKEN" ` + e.srv.URL + `/targets`,
			`curl -H "Authorization: Bearer $API_TOKEN" ` + e.srv.URL + `/openapi.json`,
			"apicron openapi", "a browser login comes with the dashboard",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: the page lacks %q:\n%s", c.path, want, body)
			}
		}
		if strings.Contains(body, "<b>") {
			t.Errorf("GET %s: the title is not escaped:\n%s", c.path, body)
		}
		for _, res := range []string{"<script", "<link", "src=", "href=", "<img", "@import", "url("} {
			if strings.Contains(body, res) {
				t.Errorf("GET %s: the page loads something (%s):\n%s", c.path, res, body)
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		style := body[strings.Index(body, "<style>")+len("<style>") : strings.Index(body, "</style>")]
		sum := sha256.Sum256([]byte(style))
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
			strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
			t.Errorf("GET %s: Content-Security-Policy %q, want nothing allowed but the page's style", c.path, csp)
		}
	}
	// Not a browser: the problem, as before.
	for _, accept := range []string{"", "*/*", "application/json", "application/problem+json, text/html;q=0"} {
		r := get("/docs", accept, nil)
		var p problem
		if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || json.Unmarshal(r.body, &p) != nil {
			t.Errorf("GET /docs, Accept %q: %d %q %s, want a 401 problem", accept, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	// With a token, the page itself.
	if r := get("/docs", browser, bearer(readToken)); r.status != http.StatusOK || !strings.Contains(string(r.body), "<elements-api") {
		t.Errorf("GET /docs with a token: %d", r.status)
	}
}

// TestHealth_Anonymous: with tokens set, /health tells a caller without a
// valid token only whether the node is healthy (status, 200 or 503), not the
// version, the node, or how many schedules and runs it holds; a token, read
// or full, gets the whole report, as does anyone when no token is set.
func TestHealth_Anonymous(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		engine := func(c *httpapi.Config) {
			c.HealthFunc = func(context.Context) (apicron.EngineHealth, error) {
				return apicron.EngineHealth{Role: apicron.RoleLeader, Scheduled: 12, InFlight: 3, LeaseEpoch: 7}, nil
			}
		}
		full := []string{"status", "version", "node_id", "database", "time", "role", "engine", "notifiers"}
		health := func(t *testing.T, e *testEnv, auth []string, status int, want []string) {
			t.Helper()
			r := e.doWith(t, http.MethodGet, "/health", auth, "")
			var h map[string]any
			if r.status != status || json.Unmarshal(r.body, &h) != nil {
				t.Fatalf("/health with %q: got %s, want %d", auth, r, status)
			}
			var keys []string
			for k := range h {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			want = slices.Sorted(slices.Values(want))
			if !slices.Equal(keys, want) {
				t.Errorf("/health with %q: fields %q, want %q: %s", auth, keys, want, r.body)
			}
		}

		e := newTestEnv(t, driver, withTokens, engine)
		health(t, e, nil, http.StatusOK, []string{"status"})
		health(t, e, bearer("wrong-token-0123456789abcdef"), http.StatusOK, []string{"status"})
		health(t, e, []string{"Basic " + fullToken}, http.StatusOK, []string{"status"})
		health(t, e, bearer(readToken), http.StatusOK, full)
		health(t, e, bearer(fullToken), http.StatusOK, full)
		if r := e.doWith(t, http.MethodGet, "/health", nil, ""); string(r.body) != `{"status":"ok"}`+"\n" {
			t.Errorf("anonymous /health: %q", r.body)
		}

		open := newTestEnv(t, driver, engine)
		health(t, open, nil, http.StatusOK, full)

		down := newTestEnv(t, driver, withTokens, engine)
		down.db.Close()
		health(t, down, nil, http.StatusServiceUnavailable, []string{"status"})
		health(t, down, bearer(readToken), http.StatusServiceUnavailable, slices.DeleteFunc(slices.Clone(full), func(f string) bool {
			return f == "notifiers" // read from the database, which is down
		}))
	})

	// The document says so: status is the one field always there.
	raw, err := httpapi.OpenAPIJSON("apicron", "1.0.0", true)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]struct{ Description string }
		Components struct {
			Schemas map[string]struct{ Required []string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas["Health"].Required; !slices.Equal(got, []string{"status"}) {
		t.Errorf("Health schema requires %q, want status alone", got)
	}
	if d := doc.Paths["/health"]["get"].Description; !strings.Contains(d, "without a valid token gets only status") {
		t.Errorf("/health description %q does not say what a caller without a token gets", d)
	}
}
