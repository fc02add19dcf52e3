package config

import (
	"reflect"
	"testing"
)

// TestConfig_TracesURL: the traces endpoint wins as it is; a base endpoint
// gets /v1/traces after its path; neither set, no export.
func TestConfig_TracesURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"}, "http://localhost:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318/"}, "http://localhost:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://gw.example.com/otlp/"}, "https://gw.example.com/otlp/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"}, "http://b:4318/custom"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318"}, "http://b:4318"},
	}
	for _, c := range cases {
		cfg := mustLoad(t, nil, env(c.env), t.TempDir())
		if got := cfg.TracesURL(); got != c.want || cfg.Tracing() != (c.want != "") {
			t.Errorf("%v: TracesURL %q, Tracing %v; want %q", c.env, got, cfg.Tracing(), c.want)
		}
	}
}

func TestLoad_OTLPHeaders(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, nil, env(map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS": " Authorization=Bearer%20t0k%2Cen , X-Scope-OrgID=ops,,",
	}), t.TempDir())
	want := map[string]string{"Authorization": "Bearer t0k,en", "X-Scope-OrgID": "ops"}
	if !reflect.DeepEqual(cfg.OTLPHeaders, want) {
		t.Errorf("OTLPHeaders = %q, want %q", cfg.OTLPHeaders, want)
	}
}
