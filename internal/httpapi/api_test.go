package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/storetest"
)

// TestSeedExamples sends the bodies and requests of the seed's README,
// sections 1 to 5 of "API Usage", verbatim.
func TestSeedExamples(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)

		// 1. Create a Target
		var tg target
		e.expect(t, http.MethodPost, "/targets", `{
    "name": "httpbin-test",
    "url": "https://httpbin.org/get",
    "method": "GET",
    "headers": {"User-Agent": "API-Scheduler/1.0"}
  }`, http.StatusCreated, &tg)
		if tg.ID != 1 || tg.Name != "httpbin-test" || tg.Headers["User-Agent"] != "API-Scheduler/1.0" {
			t.Errorf("target %+v", tg)
		}

		// 2. Create a Schedule
		var s schedule
		e.expect(t, http.MethodPost, "/schedules", `{
    "name": "every-30-seconds",
    "target_id": 1,
    "schedule_type": "INTERVAL",
    "interval_seconds": 30
  }`, http.StatusCreated, &s)
		if s.ID != 1 || s.Status != "ACTIVE" || s.IntervalSeconds != 30 {
			t.Errorf("interval schedule %+v", s)
		}
		e.expect(t, http.MethodPost, "/schedules", `{
    "name": "5-minute-test",
    "target_id": 1,
    "schedule_type": "WINDOW",
    "interval_seconds": 10,
    "duration_seconds": 300
  }`, http.StatusCreated, &s)
		if s.ID != 2 || s.ScheduleType != "WINDOW" || s.DurationSeconds == nil || *s.DurationSeconds != 300 {
			t.Errorf("window schedule %+v", s)
		}

		// 3. Pause/Resume Schedule
		e.expect(t, http.MethodPost, "/schedules/1/pause", nil, http.StatusOK, &s)
		if s.Status != "PAUSED" {
			t.Errorf("after pause: %+v", s)
		}
		e.expect(t, http.MethodPost, "/schedules/1/resume", nil, http.StatusOK, &s)
		if s.Status != "ACTIVE" {
			t.Errorf("after resume: %+v", s)
		}

		// 4. View Runs (the engine is not running here; make one run as it would).
		mustRun(t, e, 1, apicron.Success, 200, 42)
		var runs []run
		e.expect(t, http.MethodGet, "/runs", nil, http.StatusOK, &runs)
		if len(runs) != 1 {
			t.Errorf("runs %+v", runs)
		}
		e.expect(t, http.MethodGet, "/runs?schedule_id=1", nil, http.StatusOK, &runs)
		if len(runs) != 1 {
			t.Errorf("runs of schedule 1: %+v", runs)
		}
		e.expect(t, http.MethodGet, "/runs?status_filter=SUCCESS", nil, http.StatusOK, &runs)
		if len(runs) != 1 {
			t.Errorf("successful runs: %+v", runs)
		}
		var d runDetail
		e.expect(t, http.MethodGet, "/runs/1", nil, http.StatusOK, &d)
		if d.ID != 1 || len(d.Attempts) != 1 {
			t.Errorf("run 1: %+v", d)
		}

		// 5. View Metrics
		var m map[string]any
		e.expect(t, http.MethodGet, "/metrics", nil, http.StatusOK, &m)
		if m["total_targets"] != 1.0 || m["total_schedules"] != 2.0 || m["total_runs"] != 1.0 || m["success_rate"] != 100.0 {
			t.Errorf("metrics %v", m)
		}
		var ms []map[string]any
		e.expect(t, http.MethodGet, "/metrics/schedules", nil, http.StatusOK, &ms)
		if len(ms) != 2 {
			t.Errorf("schedule metrics %v", ms)
		}
	})
}

// TestNotFound checks that every route with an id answers 404 for an unknown one.
func TestNotFound(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/targets/999", nil},
			{http.MethodPut, "/targets/999", `{"name": "x"}`},
			{http.MethodPatch, "/targets/999", `{"name": "x"}`},
			{http.MethodDelete, "/targets/999", nil},
			{http.MethodGet, "/schedules/999", nil},
			{http.MethodPut, "/schedules/999", `{"name": "x"}`},
			{http.MethodPatch, "/schedules/999", `{"interval_seconds": 5}`},
			{http.MethodDelete, "/schedules/999", nil},
			{http.MethodPost, "/schedules/999/pause", nil},
			{http.MethodPost, "/schedules/999/resume", nil},
			{http.MethodGet, "/runs/999", nil},
			{http.MethodGet, "/targets/0", nil},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				p := e.expectProblem(t, c.method, c.path, c.body, http.StatusNotFound, "")
				if !strings.Contains(p.Detail, "not found") {
					t.Errorf("detail %q", p.Detail)
				}
			})
		}
		if ids := e.notifier.take(); len(ids) != 0 {
			t.Errorf("notified %v about schedules that do not exist", ids)
		}
		e.expectProblem(t, http.MethodGet, "/targets/abc", nil, 422, "path.id")
		e.expectProblem(t, http.MethodPost, "/schedules/1.5/pause", nil, 422, "path.id")
	})
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		e.expectProblem(t, http.MethodGet, "/nope", nil, http.StatusNotFound, "")
		e.expectProblem(t, http.MethodGet, "/targets/1/runs", nil, http.StatusNotFound, "")
		r := e.do(t, http.MethodDelete, "/targets", nil)
		if r.status != http.StatusMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "POST") {
			t.Errorf("DELETE /targets: %s, Allow %q", r, r.header.Get("Allow"))
		}
		e.expectProblem(t, http.MethodGet, "/schedules/1/pause", nil, http.StatusMethodNotAllowed, "")
	})
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		var doc struct {
			OpenAPI string                               `json:"openapi"`
			Info    struct{ Title, Version string }      `json:"info"`
			Paths   map[string]map[string]map[string]any `json:"paths"`
		}
		r := e.expect(t, http.MethodGet, "/openapi.json", nil, http.StatusOK, &doc)
		if !strings.Contains(r.header.Get("Content-Type"), "json") || !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Info.Version != "9.9.9" {
			t.Errorf("openapi %s, info %+v, content type %q", doc.OpenAPI, doc.Info, r.header.Get("Content-Type"))
		}
		want := map[string][]string{
			"/targets":                    {"post", "get"},
			"/targets/{id}":               {"get", "put", "patch", "delete"},
			"/schedules":                  {"post", "get"},
			"/schedules/{id}":             {"get", "put", "patch", "delete"},
			"/schedules/{id}/pause":       {"post"},
			"/schedules/{id}/resume":      {"post"},
			"/schedules/{id}/preview":     {"get"},
			"/schedules/preview":          {"post"},
			"/schedules/{id}/trigger":     {"post"},
			"/targets/{id}/test":          {"post"},
			"/schedules/{id}/backfill":    {"post"},
			"/schedules/{id}/backfills":   {"get"},
			"/schedules/{id}/events":      {"get"},
			"/schedules/{id}/occurrences": {"get"},
			"/runs":                       {"get"},
			"/runs/{id}":                  {"get"},
			"/metrics":                    {"get"},
			"/metrics/schedules":          {"get"},
			"/metrics/prometheus":         {"get"},
			"/health":                     {"get"},
			"/notifiers":                  {"post", "get"},
			"/notifiers/{id}":             {"get", "put", "patch", "delete"},
			"/notifiers/{id}/test":        {"post"},
			"/notifications":              {"get"},
			"/alerts/default":             {"get", "put", "delete"},
		}
		for path, methods := range want {
			for _, m := range methods {
				if _, ok := doc.Paths[path][m]; !ok {
					t.Errorf("openapi.json lacks %s %s", strings.ToUpper(m), path)
				}
			}
		}
		if len(doc.Paths) != len(want) {
			t.Errorf("openapi.json has %d paths, want %d", len(doc.Paths), len(want))
		}
		params := map[string]bool{}
		for _, p := range doc.Paths["/runs"]["get"]["parameters"].([]any) {
			params[p.(map[string]any)["name"].(string)] = true
		}
		for _, name := range []string{"limit", "offset", "schedule_id", "target_id", "status_filter", "status", "since", "until"} {
			if !params[name] {
				t.Errorf("GET /runs does not document query parameter %s", name)
			}
		}

		r = e.expect(t, http.MethodGet, "/openapi.yaml", nil, http.StatusOK, nil)
		if !strings.Contains(string(r.body), "openapi: 3.1") || !strings.Contains(string(r.body), "/schedules/{id}/pause") {
			t.Errorf("openapi.yaml: %.200s", r.body)
		}
		for _, page := range []struct{ path, want string }{{"/docs", "openapi.yaml"}, {"/redoc", "/openapi.json"}} {
			r = e.expect(t, http.MethodGet, page.path, nil, http.StatusOK, nil)
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "<html") || !strings.Contains(string(r.body), page.want) {
				t.Errorf("%s: %q %.300s", page.path, r.header.Get("Content-Type"), r.body)
			}
		}
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		t.Run("ok", func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, driver)
			var h map[string]any
			e.expect(t, http.MethodGet, "/health", nil, http.StatusOK, &h)
			if h["status"] != "ok" || h["version"] != "9.9.9" || h["node_id"] != "node-a" || h["database"] != "ok" || h["time"] != "2030-01-02T03:04:05.000Z" {
				t.Errorf("health %v", h)
			}
		})

		t.Run("database down", func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, driver)
			e.db.Close()
			var h map[string]any
			e.expect(t, http.MethodGet, "/health", nil, http.StatusServiceUnavailable, &h)
			if h["status"] != "unavailable" || h["database"] == "ok" || h["database"] == "" || h["version"] != "9.9.9" {
				t.Errorf("health %v", h)
			}
		})

		t.Run("health func", func(t *testing.T) {
			t.Parallel()
			var fail bool
			e := newTestEnv(t, driver, func(c *httpapi.Config) {
				c.HealthFunc = func(context.Context) (apicron.EngineHealth, error) {
					eh := apicron.EngineHealth{Role: apicron.RoleLeader, Scheduled: 3, InFlight: 2, LeaseEpoch: 7}
					if fail {
						eh.WriteFaults = []string{"claim failing since then"}
						return eh, errors.New("scheduler stopped")
					}
					return eh, nil
				}
			})
			var h map[string]any
			e.expect(t, http.MethodGet, "/health", nil, http.StatusOK, &h)
			engine, _ := h["engine"].(map[string]any)
			if h["status"] != "ok" || h["role"] != "leader" || engine["scheduled"] != 3.0 || engine["in_flight"] != 2.0 ||
				engine["lease_epoch"] != 7.0 || engine["database_writes"] != "ok" || h["error"] != nil {
				t.Errorf("health %v", h)
			}
			fail = true
			e.expect(t, http.MethodGet, "/health", nil, http.StatusServiceUnavailable, &h)
			engine, _ = h["engine"].(map[string]any)
			if h["status"] != "unavailable" || h["database"] != "ok" || h["error"] != "internal error" ||
				engine["database_writes"] != "claim failing since then" {
				t.Errorf("health %v", h)
			}
		})
	})
}

// failingStore is the real store with one method failing, to see how the API
// reports errors the store did not classify and errors of a dependency.
type failingStore struct {
	apicron.Store
	err error
}

func (s failingStore) FindTargets(context.Context, apicron.Page) ([]*apicron.Target, int, error) {
	return nil, 0, s.err
}

func TestErrors_Internal(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		for _, c := range []struct {
			name   string
			err    error
			status int
			detail string
		}{
			{"unclassified", errors.New("sql: connection reset by peer at 10.0.0.7"), 500, "internal error"},
			{"wrapped internal", apicron.Errorf(apicron.EINTERNAL, "disk full at /var/lib"), 500, "internal error"},
			{"unavailable", apicron.Errorf(apicron.EUNAVAILABLE, "database unavailable"), 503, "database unavailable"},
			{"unauthorized", apicron.Errorf(apicron.EUNAUTHORIZED, "token required"), 401, "token required"},
			{"too large", apicron.Errorf(apicron.ETOOLARGE, "too many targets"), 413, "too many targets"},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				e := newTestEnv(t, driver, func(cfg *httpapi.Config) { cfg.Store = failingStore{Store: cfg.Store, err: c.err} })
				p := e.expectProblem(t, http.MethodGet, "/targets", nil, c.status, "")
				if p.Detail != c.detail {
					t.Errorf("detail %q, want %q", p.Detail, c.detail)
				}
				logs := e.logs.String()
				if c.status == 500 && (strings.Count(logs, "level=ERROR") != 1 || !strings.Contains(logs, c.err.Error())) {
					t.Errorf("want the internal error logged once, got logs:\n%s", logs)
				}
				if c.status != 500 && strings.Contains(logs, "level=ERROR") {
					t.Errorf("a %d logged an error:\n%s", c.status, logs)
				}
			})
		}
	})
}

func TestErrors_Body(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		t.Run("validation names the field in detail and errors", func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/schedules", `{"name": "s", "target_id": 1, "schedule_type": "INTERVAL", "interval_seconds": 1.5}`)
			var raw map[string]any
			if err := json.Unmarshal(r.body, &raw); err != nil {
				t.Fatal(err)
			}
			detail, _ := raw["detail"].(string)
			if r.status != 422 || raw["status"] != 422.0 || raw["title"] != "Unprocessable Entity" || !strings.Contains(detail, "interval_seconds") {
				t.Errorf("problem %s", r.body)
			}
		})
		t.Run("the body is not echoed back", func(t *testing.T) {
			secret := "Bearer s3cr3t-token"
			r := e.do(t, http.MethodPost, "/targets", `{"name": "n", "url": "https://example.com/", "headers": {"Authorization": "`+secret+`"}, "extra": 1}`)
			if r.status != 422 || strings.Contains(string(r.body), secret) {
				t.Errorf("problem %s", r.body)
			}
			r = e.do(t, http.MethodPost, "/targets", `{"name": "n", "headers": {"Authorization": "`+secret+`"},`)
			if r.status != 400 || strings.Contains(string(r.body), secret) {
				t.Errorf("problem %s", r.body)
			}
		})
		t.Run("missing field is located", func(t *testing.T) {
			p := e.expectProblem(t, http.MethodPost, "/targets", `{"url": "https://example.com/"}`, 422, "body.name")
			if !strings.Contains(p.Detail, "name") {
				t.Errorf("detail %q", p.Detail)
			}
		})
		t.Run("domain rule", func(t *testing.T) {
			p := e.expectProblem(t, http.MethodPost, "/targets", `{"name": "n", "url": "ftp://example.com/"}`, 422, "body.url")
			if !strings.HasPrefix(p.Detail, "url must be an absolute http or https URL") || p.Errors[0].Message == p.Detail {
				t.Errorf("problem %+v", p)
			}
		})
	})
}

func TestNew_RequiresStore(t *testing.T) {
	if _, err := httpapi.New(httpapi.Config{}); err == nil {
		t.Error("New without a store: no error")
	}
}

// TestOpenAPIJSON checks that the document built without a server, which
// `apicron openapi` prints, is the one /openapi.json serves, with and without tokens.
func TestOpenAPIJSON(t *testing.T) {
	t.Parallel()
	for _, authenticated := range []bool{false, true} {
		var e *testEnv
		var auth []string
		if authenticated {
			e, auth = newTestEnv(t, "sqlite", withTokens, withTitle("Jobs API")), bearer(fullToken)
		} else {
			e = newTestEnv(t, "sqlite", withTitle("Jobs API"))
		}
		r := e.doWith(t, http.MethodGet, "/openapi.json", auth, "")
		if r.status != http.StatusOK {
			t.Fatalf("GET /openapi.json: %s", r)
		}
		doc, err := httpapi.OpenAPIJSON("Jobs API", "9.9.9", authenticated)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc, r.body) {
			t.Errorf("authenticated %v: OpenAPIJSON differs from /openapi.json:\n%s\n%s", authenticated, doc, r.body)
		}
		if got := strings.Contains(string(doc), `"securitySchemes"`); got != authenticated {
			t.Errorf("authenticated %v: document declares a security scheme: %v", authenticated, got)
		}
	}
}

// TestOpenAPI_Document checks what the document says beyond the paths: each
// operation's error statuses with the problem schema, the servers, the
// security requirement, the Health schema and the method enum.
func TestOpenAPI_Document(t *testing.T) {
	t.Parallel()
	type response struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	}
	type document struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Security []map[string][]string `json:"security"`
		Paths    map[string]map[string]struct {
			OperationID string              `json:"operationId"`
			RequestBody *json.RawMessage    `json:"requestBody"`
			Responses   map[string]response `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	conflicts := map[string]bool{"delete-target": true, "pause-schedule": true, "resume-schedule": true, "trigger-schedule": true,
		"create-notifier": true, "update-notifier": true, "patch-notifier": true, "delete-notifier": true, "test-notifier": true}
	for _, authenticated := range []bool{false, true} {
		raw, err := httpapi.OpenAPIJSON("apicron", "1.0.0", authenticated)
		if err != nil {
			t.Fatal(err)
		}
		var doc document
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
			t.Errorf("servers %+v, want one, relative: /", doc.Servers)
		}
		wantSecurity := `[{}]`
		if authenticated {
			wantSecurity = `[{"bearer":[]}]`
		}
		if b, _ := json.Marshal(doc.Security); string(b) != wantSecurity {
			t.Errorf("authenticated %v: security %s, want %s", authenticated, b, wantSecurity)
		}
		for path, item := range doc.Paths {
			for method, o := range item {
				want := []string{"422", "500"}
				if o.OperationID != "health" {
					want = append(want, "503")
				}
				if strings.Contains(path, "{id}") {
					want = append(want, "404")
				}
				if conflicts[o.OperationID] {
					want = append(want, "409")
				}
				if o.RequestBody != nil {
					want = append(want, "400", "413", "415")
				}
				if authenticated && o.OperationID != "health" {
					want = append(want, "401")
				}
				if method != "get" {
					want = append(want, "403")
				}
				if _, ok := o.Responses["default"]; ok {
					t.Errorf("%s %s documents a default response, want each error status", method, path)
				}
				var errs []string
				for code, r := range o.Responses {
					if code[0] == '2' || (o.OperationID == "health" && code == "503") {
						continue
					}
					errs = append(errs, code)
					if ref := r.Content["application/problem+json"].Schema.Ref; ref != "#/components/schemas/ErrorModel" {
						t.Errorf("%s %s %s: content %+v, want the problem schema", method, path, code, r.Content)
					}
				}
				slices.Sort(want)
				slices.Sort(errs)
				if !slices.Equal(errs, want) {
					t.Errorf("authenticated %v: %s %s documents errors %v, want %v", authenticated, method, path, errs, want)
				}
			}
		}
		health := doc.Components.Schemas["Health"].Properties
		for _, p := range []string{"status", "role", "engine", "error", "database"} {
			if _, ok := health[p]; !ok {
				t.Errorf("Health schema lacks %s", p)
			}
		}
		if got := doc.Components.Schemas["Target"].Properties["method"].Enum; !slices.Equal(got, apicron.Methods) {
			t.Errorf("Target.method enum %v, want %v", got, apicron.Methods)
		}
		for _, s := range []string{"TargetCreate", "TargetUpdate"} {
			got := doc.Components.Schemas[s].Properties["method"].Enum
			for _, m := range apicron.Methods {
				if !slices.Contains(got, m) || !slices.Contains(got, strings.ToLower(m)) {
					t.Errorf("%s.method enum %v lacks %s or its lower case", s, got, m)
				}
			}
		}
	}
}

// TestUnknownQueryParameters sends every operation of the document a query
// parameter it does not declare: each refuses it with 422, names it, lists
// the ones it takes, and changes nothing.
func TestUnknownQueryParameters(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		mustCreateSchedule(t, e, tg.ID, 10)
		e.notifier.take()
		var doc struct {
			Paths map[string]map[string]struct {
				Parameters []struct{ Name, In string } `json:"parameters"`
			} `json:"paths"`
		}
		e.expect(t, http.MethodGet, "/openapi.json", nil, http.StatusOK, &doc)
		bodies := map[string]string{
			"/targets":           `{"name": "n", "url": "https://example.com/"}`,
			"/targets/{id}":      `{"name": "renamed"}`,
			"/schedules":         `{"name": "s", "target_id": 1, "schedule_type": "INTERVAL", "interval_seconds": 5}`,
			"/schedules/{id}":    `{"interval_seconds": 5}`,
			"/schedules/preview": `{"schedule_type": "CRON", "cron_expression": "0 9 * * *"}`,
			"/notifiers":         `{"name": "n", "type": "webhook", "url": "https://example.com/hook"}`,
			"/notifiers/{id}":    `{"name": "renamed"}`,
			"/alerts/default":    `{"notifier_ids": []}`,
		}
		n := 0
		for path, item := range doc.Paths {
			for method, o := range item {
				var takes []string
				for _, p := range o.Parameters {
					if p.In == "query" {
						takes = append(takes, p.Name)
					}
				}
				var body any
				if method != "get" && method != "delete" {
					if b, ok := bodies[path]; ok {
						body = b
					}
				}
				url := strings.ReplaceAll(path, "{id}", "1") + "?limit=10&statusfilter=FAILED"
				if len(takes) == 0 {
					url = strings.ReplaceAll(path, "{id}", "1") + "?statusfilter=FAILED"
				}
				p := e.expectProblem(t, strings.ToUpper(method), url, body, http.StatusUnprocessableEntity, "query.statusfilter")
				msg := p.Errors[0].Message
				if len(takes) == 0 && !strings.Contains(msg, "takes none") {
					t.Errorf("%s %s: %q, want it to say the operation takes no query parameter", method, path, msg)
				}
				if len(takes) > 0 && !strings.Contains(msg, strings.Join(takes, ", ")) {
					t.Errorf("%s %s: %q, want the parameters it takes: %v", method, path, msg, takes)
				}
				if !strings.Contains(p.Detail, "statusfilter") {
					t.Errorf("%s %s: detail %q does not name the parameter", method, path, p.Detail)
				}
				n++
			}
		}
		if n != 39 {
			t.Errorf("tried %d operations, want all 39", n)
		}
		var tgt target
		e.expect(t, http.MethodGet, "/targets/1", nil, http.StatusOK, &tgt)
		if tgt.Name != "t" || e.total(t, "/targets") != 1 || e.total(t, "/schedules") != 1 {
			t.Errorf("a refused request changed something: target %+v", tgt)
		}
		if ids := e.notifier.take(); len(ids) != 0 {
			t.Errorf("notified %v after refused requests", ids)
		}
		// Every declared parameter is still taken, the seed's ones included.
		e.expect(t, http.MethodGet, "/runs?schedule_id=1&target_id=1&status_filter=SUCCESS&status=SUCCESS&limit=5&offset=0"+
			"&since=2030-01-01T00:00:00Z&until=2031-01-01T00:00:00Z", nil, http.StatusOK, nil)
		e.expect(t, http.MethodGet, "/schedules?status=ACTIVE&target_id=1&limit=5&offset=0", nil, http.StatusOK, nil)
	})
}
