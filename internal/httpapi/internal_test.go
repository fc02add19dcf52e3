package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/apicron/apicron"
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
