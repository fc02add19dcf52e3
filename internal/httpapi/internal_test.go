package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

func TestStatusOf(t *testing.T) {
	for code, want := range map[string]int{
		apicron.EINVALID:      http.StatusUnprocessableEntity,
		apicron.ENOTFOUND:     http.StatusNotFound,
		apicron.ECONFLICT:     http.StatusConflict,
		apicron.EUNAUTHORIZED: http.StatusUnauthorized,
		apicron.ETOOLARGE:     http.StatusRequestEntityTooLarge,
		apicron.EUNAVAILABLE:  http.StatusServiceUnavailable,
		apicron.EINTERNAL:     http.StatusInternalServerError,
		"":                    http.StatusInternalServerError,
		"something new":       http.StatusInternalServerError,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("statusOf(%q) = %d, want %d", code, got, want)
		}
	}
}

// TestEnumTags keeps the enum tags, which must be literals, in step with the domain's lists.
func TestEnumTags(t *testing.T) {
	join := func(vs any) string {
		var parts []string
		v := reflect.ValueOf(vs)
		for i := range v.Len() {
			parts = append(parts, v.Index(i).String())
		}
		return strings.Join(parts, ",")
	}
	runStatuses := join(apicron.RunStatuses)
	scheduleStatuses := join(apicron.ScheduleStatuses)
	scheduleTypes := join(apicron.ScheduleTypes)
	for _, c := range []struct {
		typ   any
		field string
		want  string
	}{
		{listRunsInput{}, "StatusFilter", runStatuses},
		{listRunsInput{}, "Status", runStatuses},
		{Run{}, "Status", runStatuses},
		{listSchedulesInput{}, "Status", scheduleStatuses},
		{Schedule{}, "Status", scheduleStatuses},
		{ScheduleMetrics{}, "Status", scheduleStatuses},
		{Schedule{}, "ScheduleType", scheduleTypes},
		{ScheduleCreate{}, "ScheduleType", scheduleTypes},
		{ScheduleUpdate{}, "ScheduleType", scheduleTypes},
	} {
		f, ok := reflect.TypeOf(c.typ).FieldByName(c.field)
		if !ok {
			t.Fatalf("%T has no field %s", c.typ, c.field)
		}
		if got := f.Tag.Get("enum"); got != c.want {
			t.Errorf("%T.%s enum %q, want %q", c.typ, c.field, got, c.want)
		}
	}
}

func TestUnmarshalJSON_IntegralNumbers(t *testing.T) {
	var v struct {
		A int             `json:"a"`
		B *int            `json:"b"`
		C float64         `json:"c"`
		D []int           `json:"d"`
		E struct{ F int } `json:"e"`
	}
	if err := unmarshalJSON([]byte(`{"a": 1e3, "b": 2.0, "c": 2.5, "d": [1.0, 2E1], "e": {"F": -3.00}}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 1000 || *v.B != 2 || v.C != 2.5 || len(v.D) != 2 || v.D[1] != 20 || v.E.F != -3 {
		t.Errorf("got %+v", v)
	}
	for _, bad := range []string{`{"a": 1.5}`, `{"a": "1"}`, `{"a": 1e300}`, `{"a": `} {
		if err := unmarshalJSON([]byte(bad), &v); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// FuzzUnmarshalJSON checks that the lenient decoder accepts whatever
// encoding/json accepts, with the same result, and never panics.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`{"name": "n", "target_id": 1, "interval_seconds": 10}`, `{"interval_seconds": 1e1}`,
		`{"duration_seconds": 30.0, "name": null}`, `[1.0]`, `{"target_id": 9007199254740993.0}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, got ScheduleCreate
		wantErr := json.Unmarshal(data, &want)
		gotErr := unmarshalJSON(data, &got)
		if wantErr == nil && (gotErr != nil || !reflect.DeepEqual(want, got)) {
			t.Errorf("%s: encoding/json gave %+v, unmarshalJSON %+v, %v", data, want, got, gotErr)
		}
	})
}

func TestJSONLocation(t *testing.T) {
	for _, c := range []struct {
		doc  string // \xff marks the invalid byte
		want string
		key  bool
	}{
		{`{"name": "a\xffb"}`, "body.name", false},
		{`{"url": "https://x/", "name": "\xff"}`, "body.name", false},
		{`{"headers": {"A": "1", "X-Key": "v\xff"}}`, "body.headers.X-Key", false},
		{`{"headers": {"A": "1", "X-\xff": "v"}}`, "body.headers", true},
		{`{"n\xffme": 1}`, "body", true},
		{`{"secret_headers": ["a", "b\xff"], "name": "n"}`, "body.secret_headers[1]", false},
		{`[{"a": [1, {"b": "\xff"}]}]`, "body[0].a[1].b", false},
		{`"\xff"`, "body", false},
		{`{"name": \xff}`, "body", false},
	} {
		raw := []byte(strings.ReplaceAll(c.doc, `\xff`, "\xff"))
		loc, key := jsonLocation(raw, invalidUTF8(raw))
		if loc != c.want || key != c.key {
			t.Errorf("%q: %s (key %v), want %s (key %v)", c.doc, loc, key, c.want, c.key)
		}
	}
}

// FuzzCheckUTF8 checks that checkUTF8 refuses exactly the bodies that are
// not valid UTF-8, locates them within the body, and never panics.
func FuzzCheckUTF8(f *testing.F) {
	for _, s := range []string{"{\"name\": \"a\xffb\"}", "{\"h\": {\"\xc3\": [1, \"\xed\xa0\x80\"]}}", "[\"\xff\"", "}\xff{", `{"ok": "é"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		errs := checkUTF8(data)
		if (len(errs) == 0) != utf8.Valid(data) {
			t.Fatalf("%q: errors %v, valid UTF-8 %v", data, errs, utf8.Valid(data))
		}
		if len(errs) > 0 && !strings.HasPrefix(errs[0].(*huma.ErrorDetail).Location, "body") {
			t.Fatalf("%q: located at %v", data, errs[0])
		}
	})
}

// TestSchemaLimits checks that the schema's limits are the root package's
// constants, in the document and in validation: a value at the limit
// passes, one past it is refused.
func TestSchemaLimits(t *testing.T) {
	s := newServer(Config{}, false)
	reg := s.api.OpenAPI().Components.Schemas
	str := func(n int) any { return strings.Repeat("é", n) } // limits count characters
	strs := func(n int) any {
		a := make([]any, n)
		for i := range a {
			a[i] = "X-Signature"
		}
		return a
	}
	obj := func(n int) any {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("X-H%d", i)] = "v"
		}
		return m
	}
	for _, c := range []struct {
		schema, prop, keyword string
		limit                 int
		value                 func(n int) any // a value of size n
	}{
		{"TargetCreate", "name", "maxLength", apicron.MaxNameLength, str},
		{"TargetCreate", "url", "maxLength", apicron.MaxURLLength, str},
		{"TargetCreate", "headers", "maxProperties", apicron.MaxHeaders, obj},
		{"TargetCreate", "secret_headers", "maxItems", apicron.MaxSecretHeaders, strs},
		{"TargetCreate", "body_template", "maxLength", apicron.MaxBodyTemplateBytes, str},
		{"TargetCreate", "timeout_seconds", "maximum", apicron.MaxTimeoutSeconds, num},
		{"TargetCreate", "max_retries", "maximum", apicron.MaxRetriesLimit, num},
		{"TargetUpdate", "name", "maxLength", apicron.MaxNameLength, str},
		{"TargetUpdate", "url", "maxLength", apicron.MaxURLLength, str},
		{"TargetUpdate", "headers", "maxProperties", apicron.MaxHeaders, obj},
		{"TargetUpdate", "secret_headers", "maxItems", apicron.MaxSecretHeaders, strs},
		{"TargetUpdate", "body_template", "maxLength", apicron.MaxBodyTemplateBytes, str},
		{"TargetUpdate", "timeout_seconds", "maximum", apicron.MaxTimeoutSeconds, num},
		{"TargetUpdate", "max_retries", "maximum", apicron.MaxRetriesLimit, num},
		{"ScheduleCreate", "name", "maxLength", apicron.MaxNameLength, str},
		{"ScheduleCreate", "interval_seconds", "maximum", apicron.MaxIntervalSeconds, num},
		{"ScheduleCreate", "duration_seconds", "maximum", apicron.MaxDurationSeconds, num},
		{"ScheduleCreate", "keep_runs", "maximum", apicron.MaxKeepRuns, num},
		{"ScheduleCreate", "target_id", "maximum", maxID, num},
		{"ScheduleUpdate", "name", "maxLength", apicron.MaxNameLength, str},
		{"ScheduleUpdate", "interval_seconds", "maximum", apicron.MaxIntervalSeconds, num},
		{"ScheduleUpdate", "duration_seconds", "maximum", apicron.MaxDurationSeconds, num},
		{"ScheduleUpdate", "keep_runs", "maximum", apicron.MaxKeepRuns, num},
		{"ScheduleUpdate", "target_id", "maximum", maxID, num},
	} {
		name := c.schema + "." + c.prop + " " + c.keyword
		sch := reg.Map()[c.schema]
		if sch == nil || sch.Properties[c.prop] == nil {
			t.Fatalf("%s: no such schema property", name)
		}
		// The document, as JSON, says the constant.
		var p map[string]any
		b, _ := json.Marshal(sch.Properties[c.prop])
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if got, _ := p[c.keyword].(float64); got != float64(c.limit) {
			t.Errorf("%s is %v in the document, want %d", name, p[c.keyword], c.limit)
		}
		// Validation holds the same limit.
		for _, n := range []int{c.limit, c.limit + 1} {
			res := &huma.ValidateResult{}
			huma.Validate(reg, sch.Properties[c.prop], huma.NewPathBuffer([]byte{}, 0), huma.ModeWriteToServer, c.value(n), res)
			if refused := len(res.Errors) > 0; refused != (n > c.limit) {
				t.Errorf("%s: a value of %d refused: %v (%v)", name, n, refused, res.Errors)
			}
		}
	}
}

func num(n int) any { return float64(n) }

// TestHostList_Malformed: Host headers a client could send that are not a
// name, an address or either with a port match nothing; an empty one
// (HTTP/1.0) matches only when any host is allowed.
func TestHostList_Malformed(t *testing.T) {
	t.Parallel()
	l, err := parseHostList([]string{"localhost", "127.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", "[::1", "::1]", "[::1]x", "[[::1]]", "localhost:8000:1", "[127.0.0.1]x", "127.0.0.1%20", "[fe80::1%25lo]:80", " localhost"} {
		if l.allows(h) {
			t.Errorf("Host %q allowed, want refused", h)
		}
	}
	if open, _ := parseHostList(nil); !open.allows("") {
		t.Errorf("no list refuses an empty Host")
	}
}
