package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/apicron/apicron/internal/storetest"
)

func TestTargets_CRUD(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)

		var created target
		e.expect(t, http.MethodPost, "/targets", `{"name": "  api  ", "url": " https://example.com/a ", "method": "post",
		"body_template": "{\"run\": {{.RunID}}}", "timeout_seconds": 2.5, "max_retries": 3}`, http.StatusCreated, &created)
		if created.ID <= 0 || created.Name != "api" || created.URL != "https://example.com/a" || created.Method != "POST" {
			t.Errorf("created %+v: want a normalized target with an id", created)
		}
		if created.Headers == nil || len(created.Headers) != 0 {
			t.Errorf("headers = %v, want {}", created.Headers)
		}
		if created.BodyTemplate == nil || *created.BodyTemplate != `{"run": {{.RunID}}}` {
			t.Errorf("body_template = %v", created.BodyTemplate)
		}
		if created.TimeoutSeconds == nil || *created.TimeoutSeconds != 2.5 || created.MaxRetries == nil || *created.MaxRetries != 3 {
			t.Errorf("timeout_seconds, max_retries = %v, %v", created.TimeoutSeconds, created.MaxRetries)
		}
		if created.CreatedAt != "2030-01-02T03:04:05.000Z" || created.UpdatedAt != created.CreatedAt {
			t.Errorf("created_at, updated_at = %q, %q, want the clock's time in UTC with milliseconds", created.CreatedAt, created.UpdatedAt)
		}

		t.Run("defaults", func(t *testing.T) {
			d := mustCreateTarget(t, e, `{"name": "d", "url": "http://localhost:8080/x"}`)
			if d.Method != "GET" || d.Headers == nil || len(d.Headers) != 0 || d.BodyTemplate != nil || d.TimeoutSeconds != nil || d.MaxRetries != nil {
				t.Errorf("got %+v, want method GET, headers {}, nulls", d)
			}
			r := e.expect(t, http.MethodGet, fmt.Sprintf("/targets/%d", d.ID), nil, http.StatusOK, nil)
			for _, field := range []string{`"headers":{}`, `"body_template":null`, `"timeout_seconds":null`, `"max_retries":null`} {
				if !strings.Contains(string(r.body), field) {
					t.Errorf("GET body %s lacks %s", r.body, field)
				}
			}
		})

		t.Run("get", func(t *testing.T) {
			var got target
			e.expect(t, http.MethodGet, fmt.Sprintf("/targets/%d", created.ID), nil, http.StatusOK, &got)
			if got.Name != created.Name || got.URL != created.URL {
				t.Errorf("got %+v, want %+v", got, created)
			}
		})

		t.Run("put a subset", func(t *testing.T) {
			e.clock.Add(1500 * 1e6)
			var got target
			e.expect(t, http.MethodPut, fmt.Sprintf("/targets/%d", created.ID), `{"name": "renamed", "method": "delete"}`, http.StatusOK, &got)
			if got.Name != "renamed" || got.Method != "DELETE" || got.URL != created.URL || got.MaxRetries == nil || *got.MaxRetries != 3 {
				t.Errorf("got %+v: want name and method changed, the rest kept", got)
			}
			if got.UpdatedAt == created.UpdatedAt || got.CreatedAt != created.CreatedAt {
				t.Errorf("created_at, updated_at = %q, %q: want only updated_at moved", got.CreatedAt, got.UpdatedAt)
			}
		})

		t.Run("patch is put", func(t *testing.T) {
			var got target
			e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", created.ID), `{"headers": {"X-A": "1"}, "url": "https://example.com/b"}`, http.StatusOK, &got)
			if got.Name != "renamed" || got.URL != "https://example.com/b" || got.Headers["X-A"] != "1" {
				t.Errorf("got %+v", got)
			}
		})

		t.Run("null clears optional fields", func(t *testing.T) {
			var got target
			e.expect(t, http.MethodPut, fmt.Sprintf("/targets/%d", created.ID), `{"body_template": null, "timeout_seconds": null, "max_retries": null}`, http.StatusOK, &got)
			if got.BodyTemplate != nil || got.TimeoutSeconds != nil || got.MaxRetries != nil {
				t.Errorf("got %+v, want body_template, timeout_seconds, max_retries null", got)
			}
			if got.Name != "renamed" || got.Headers["X-A"] != "1" {
				t.Errorf("got %+v: fields not in the body changed", got)
			}
		})

		t.Run("empty update changes nothing", func(t *testing.T) {
			var before, got target
			e.expect(t, http.MethodGet, fmt.Sprintf("/targets/%d", created.ID), nil, http.StatusOK, &before)
			e.expect(t, http.MethodPut, fmt.Sprintf("/targets/%d", created.ID), `{}`, http.StatusOK, &got)
			if got.Name != before.Name || got.URL != before.URL || got.Method != before.Method {
				t.Errorf("got %+v, want %+v", got, before)
			}
		})

		t.Run("list", func(t *testing.T) {
			var list []target
			r := e.expect(t, http.MethodGet, "/targets", nil, http.StatusOK, &list)
			if len(list) != 2 || r.header.Get("X-Total-Count") != "2" || list[0].ID != created.ID {
				t.Errorf("list = %+v, X-Total-Count %q: want both targets by id", list, r.header.Get("X-Total-Count"))
			}
		})

		t.Run("delete", func(t *testing.T) {
			r := e.expect(t, http.MethodDelete, fmt.Sprintf("/targets/%d", created.ID), nil, http.StatusNoContent, nil)
			if len(r.body) != 0 {
				t.Errorf("204 with body %q", r.body)
			}
			e.expectProblem(t, http.MethodGet, fmt.Sprintf("/targets/%d", created.ID), nil, http.StatusNotFound, "")
			e.expectProblem(t, http.MethodDelete, fmt.Sprintf("/targets/%d", created.ID), nil, http.StatusNotFound, "")
		})
	})
}

// TestTargets_Validation checks every rule of apicron.Target.Validate and of
// the request itself, and that a refused request stores nothing.
// TestTargets_AllowInsecureRedirects: the field defaults to false, is
// always shown, and is set on create and by a partial update.
func TestTargets_AllowInsecureRedirects(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		plain := mustCreateTarget(t, e, "")
		if plain.AllowInsecureRedirects == nil || *plain.AllowInsecureRedirects {
			t.Fatalf("default allow_insecure_redirects %v, want false", plain.AllowInsecureRedirects)
		}
		allowed := mustCreateTarget(t, e, `{"name": "a", "url": "https://example.com/", "allow_insecure_redirects": true}`)
		if allowed.AllowInsecureRedirects == nil || !*allowed.AllowInsecureRedirects {
			t.Fatalf("created with allow_insecure_redirects true, got %v", allowed.AllowInsecureRedirects)
		}
		var got target
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", allowed.ID), `{"allow_insecure_redirects": false}`, http.StatusOK, &got)
		if got.AllowInsecureRedirects == nil || *got.AllowInsecureRedirects {
			t.Fatalf("patched to false, got %v", got.AllowInsecureRedirects)
		}
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", allowed.ID), `{"allow_insecure_redirects": null}`, http.StatusUnprocessableEntity, nil)
		e.expect(t, http.MethodPatch, fmt.Sprintf("/targets/%d", allowed.ID), `{"allow_insecure_redirects": "yes"}`, http.StatusUnprocessableEntity, nil)
	})
}

func TestTargets_Validation(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		existing := mustCreateTarget(t, e, `{"name": "keep", "url": "https://example.com/keep"}`)

		obj := func(fields string) string {
			return `{"name": "n", "url": "https://example.com/"` + fields + `}`
		}
		manyHeaders := make([]string, 51)
		for i := range manyHeaders {
			manyHeaders[i] = fmt.Sprintf(`"X-H%d": "v"`, i)
		}
		cases := []struct {
			name   string
			body   string
			status int
			loc    string
		}{
			{"relative url", `{"name": "n", "url": "/relative/path"}`, 422, "body.url"},
			{"url without scheme", `{"name": "n", "url": "example.com/x"}`, 422, "body.url"},
			{"ftp url", `{"name": "n", "url": "ftp://example.com/x"}`, 422, "body.url"},
			{"url without host", `{"name": "n", "url": "http://"}`, 422, "body.url"},
			{"url without host but port", `{"name": "n", "url": "http://:80/x"}`, 422, "body.url"},
			{"url with credentials", `{"name": "n", "url": "https://u:p@example.com/"}`, 422, "body.url"},
			{"empty url", `{"name": "n", "url": ""}`, 422, "body.url"},
			{"blank url", `{"name": "n", "url": "   "}`, 422, "body.url"},
			{"missing url", `{"name": "n"}`, 422, "body.url"},
			{"url over 2048", `{"name": "n", "url": "https://example.com/` + strings.Repeat("a", 2048) + `"}`, 422, "body.url"},
			{"url template unknown field", `{"name": "n", "url": "https://example.com/{{.Nope}}"}`, 422, "body.url"},
			{"url template syntax", `{"name": "n", "url": "https://example.com/{{"}`, 422, "body.url"},
			{"unknown method", obj(`, "method": "FETCH"`), 422, "body.method"},
			{"method CONNECT", obj(`, "method": "CONNECT"`), 422, "body.method"},
			{"method TRACE", obj(`, "method": "TRACE"`), 422, "body.method"},
			{"method not a string", obj(`, "method": 1`), 422, "body.method"},
			{"header name with space", obj(`, "headers": {"Bad Header": "v"}`), 422, "body.headers"},
			{"header name with colon", obj(`, "headers": {"X-A:": "v"}`), 422, "body.headers"},
			{"empty header name", obj(`, "headers": {"": "v"}`), 422, "body.headers"},
			{"header value with CR LF", obj(`, "headers": {"X-A": "a\r\nX-B: b"}`), 422, "body.headers.X-A"},
			{"header value with LF", obj(`, "headers": {"X-A": "a\nb"}`), 422, "body.headers.X-A"},
			{"header value with CR", obj(`, "headers": {"X-A": "a\rb"}`), 422, "body.headers.X-A"},
			{"header value with NUL", obj(`, "headers": {"X-A": "a\u0000b"}`), 422, "body.headers.X-A"},
			{"header value not a string", obj(`, "headers": {"X-A": 1}`), 422, "body.headers.X-A"},
			{"header value template", obj(`, "headers": {"X-A": "{{.Nope}}"}`), 422, "body.headers.X-A"},
			{"header too large", obj(`, "headers": {"X-A": "` + strings.Repeat("v", 8<<10) + `"}`), 422, "body.headers.X-A"},
			{"too many headers", obj(`, "headers": {` + strings.Join(manyHeaders, ",") + `}`), 422, "body.headers"},
			{"headers not an object", obj(`, "headers": ["X-A"]`), 422, "body.headers"},
			{"empty name", `{"name": "", "url": "https://example.com/"}`, 422, "body.name"},
			{"blank name", `{"name": "   ", "url": "https://example.com/"}`, 422, "body.name"},
			{"missing name", `{"url": "https://example.com/"}`, 422, "body.name"},
			{"null name", `{"name": null, "url": "https://example.com/"}`, 422, "body.name"},
			{"name over 200", `{"name": "` + strings.Repeat("n", 201) + `", "url": "https://example.com/"}`, 422, "body.name"},
			{"name over 200 runes", `{"name": "` + strings.Repeat("é", 201) + `", "url": "https://example.com/"}`, 422, "body.name"},
			{"body template unknown field", obj(`, "body_template": "{{.Nope}}"`), 422, "body.body_template"},
			{"body template syntax", obj(`, "body_template": "{{if}}"`), 422, "body.body_template"},
			{"body template over 64 KiB", obj(`, "body_template": "` + strings.Repeat("b", 64<<10+1) + `"`), 422, "body.body_template"},
			{"zero timeout", obj(`, "timeout_seconds": 0`), 422, "body.timeout_seconds"},
			{"negative timeout", obj(`, "timeout_seconds": -1`), 422, "body.timeout_seconds"},
			{"timeout over an hour", obj(`, "timeout_seconds": 3601`), 422, "body.timeout_seconds"},
			{"timeout as a string", obj(`, "timeout_seconds": "5"`), 422, "body.timeout_seconds"},
			{"negative retries", obj(`, "max_retries": -1`), 422, "body.max_retries"},
			{"too many retries", obj(`, "max_retries": 11`), 422, "body.max_retries"},
			{"fractional retries", obj(`, "max_retries": 1.5`), 422, "body.max_retries"},
			{"unknown field", obj(`, "schedule": "*/5"`), 422, "body.schedule"},
			{"id is not writable", obj(`, "id": 7`), 422, "body.id"},
			{"not an object", `["name", "url"]`, 422, "body"},
			{"malformed JSON", `{"name": "n", "url": `, 400, "body"},
			{"trailing garbage", `{"name": "n", "url": "https://example.com/"} x`, 400, "body"},
			{"empty body", ``, 400, ""},
			{"body over 1 MiB", obj(`, "body_template": "` + strings.Repeat("b", 1<<20) + `"`), 413, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.total(t, "/targets")
				var body any = c.body
				if c.body == "" {
					body = nil
				}
				p := e.expectProblem(t, http.MethodPost, "/targets", body, c.status, c.loc)
				if c.loc != "" && c.loc != "body" {
					field := strings.TrimPrefix(c.loc, "body.")
					if i := strings.IndexByte(field, '.'); i > 0 {
						field = field[:i]
					}
					if !strings.Contains(p.Detail, field) {
						t.Errorf("detail %q does not name %s", p.Detail, field)
					}
				}
				if after := e.total(t, "/targets"); after != before {
					t.Errorf("X-Total-Count %d -> %d: a refused target was stored", before, after)
				}

				// The same rule holds for an update, which leaves the target as it was.
				if c.status != 422 || c.loc == "body" || strings.HasPrefix(c.name, "missing") || c.name == "id is not writable" {
					return
				}
				path := fmt.Sprintf("/targets/%d", existing.ID)
				was := e.expect(t, http.MethodGet, path, nil, http.StatusOK, nil)
				e.expectProblem(t, http.MethodPut, path, c.body, 422, c.loc)
				now := e.expect(t, http.MethodGet, path, nil, http.StatusOK, nil)
				if string(was.body) != string(now.body) {
					t.Errorf("refused update changed the target: %s -> %s", was.body, now.body)
				}
			})
		}

		t.Run("limits are inclusive", func(t *testing.T) {
			mustCreateTarget(t, e, `{"name": "`+strings.Repeat("é", 200)+`", "url": "https://example.com/", "timeout_seconds": 3600, "max_retries": 10}`)
			mustCreateTarget(t, e, `{"name": "n", "url": "https://example.com/", "timeout_seconds": 0.001, "max_retries": 0}`)
			mustCreateTarget(t, e, obj(`, "method": "OPTIONS", "headers": {"X-Tpl": "{{.RunID}}", "!#$%&'*+-.^_|~`+"`"+`": "ok"}`))
			mustCreateTarget(t, e, `{"name": "n", "url": "https://example.com/{{.ScheduleID}}?at={{.ScheduledAt}}"}`)
			mustCreateTarget(t, e, `{"name": "n", "url": "https://example.com/", "max_retries": 2.0}`)
		})

		t.Run("body of exactly 1 MiB is read", func(t *testing.T) {
			body := `{"name": "n", "url": "https://example.com/"}`
			body += strings.Repeat(" ", 1<<20-len(body))
			e.expect(t, http.MethodPost, "/targets", body, http.StatusCreated, nil)
			e.expectProblem(t, http.MethodPost, "/targets", body+" ", http.StatusRequestEntityTooLarge, "")
		})
	})
}

// TestInvalidUTF8 sends bodies that are not valid UTF-8: each is refused
// with 422 at the field that holds the bad byte, and nothing changes.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		tg := mustCreateTarget(t, e, "")
		s := mustCreateSchedule(t, e, tg.ID, 10)
		e.notifier.take()
		tpath, spath := fmt.Sprintf("/targets/%d", tg.ID), fmt.Sprintf("/schedules/%d", s.ID)
		for _, c := range []struct {
			method, path, body, loc string
		}{
			{http.MethodPost, "/targets", "{\"name\": \"caf\xe9\", \"url\": \"https://example.com/\"}", "body.name"},
			{http.MethodPost, "/targets", "{\"name\": \"n\", \"url\": \"https://example.com/\", \"headers\": {\"X-A\": \"\xff\"}}", "body.headers.X-A"},
			{http.MethodPost, "/targets", "{\"name\": \"n\", \"url\": \"https://example.com/\", \"headers\": {\"X-\xff\": \"v\"}}", "body.headers"},
			{http.MethodPost, "/targets", "{\"name\": \"n\", \"url\": \"https://example.com/\", \"secret_headers\": [\"X-A\", \"\xc3\"]}", "body.secret_headers[1]"},
			{http.MethodPost, "/targets", "{\"name\": \"n\", \"url\": \"https://example.com/\", \"body_template\": \"{\\\"k\\\": \\\"\xed\xa0\x80\\\"}\"}", "body.body_template"},
			{http.MethodPut, tpath, "{\"name\": \"\xfe\"}", "body.name"},
			{http.MethodPatch, tpath, "{\"url\": \"https://example.com/\xff\"}", "body.url"},
			{http.MethodPost, "/schedules", fmt.Sprintf("{\"name\": \"\x80\", \"target_id\": %d, \"schedule_type\": \"INTERVAL\", \"interval_seconds\": 5}", tg.ID), "body.name"},
			{http.MethodPut, spath, "{\"name\": \"ok\xc0\xaf\"}", "body.name"},
			{http.MethodPatch, spath, "{\"name\": \"\xf0\x9f\x98\"}", "body.name"},
		} {
			p := e.expectProblem(t, c.method, c.path, c.body, http.StatusUnprocessableEntity, c.loc)
			if !strings.Contains(p.Detail, c.loc+": ") || !strings.Contains(p.Detail, "UTF-8") {
				t.Errorf("%s %s %q: detail %q, want the field and UTF-8", c.method, c.path, c.body, p.Detail)
			}
		}
		var got target
		e.expect(t, http.MethodGet, tpath, nil, http.StatusOK, &got)
		var gotS schedule
		e.expect(t, http.MethodGet, spath, nil, http.StatusOK, &gotS)
		if got.Name != tg.Name || got.URL != tg.URL || gotS.Name != s.Name || e.total(t, "/targets") != 1 || e.total(t, "/schedules") != 1 {
			t.Errorf("a refused body changed something: %+v %+v", got, gotS)
		}
		if ids := e.notifier.take(); len(ids) != 0 {
			t.Errorf("notified %v after refused bodies", ids)
		}
		// Valid UTF-8 beyond ASCII is kept as sent.
		var ok target
		e.expect(t, http.MethodPut, tpath, `{"name": "café ☕ 😀"}`, http.StatusOK, &ok)
		if ok.Name != "café ☕ 😀" {
			t.Errorf("name %q", ok.Name)
		}
	})
}
