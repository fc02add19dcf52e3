package tracing_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/apicron/apicron/internal/config"
	"github.com/apicron/apicron/internal/tracing"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is a loopback OTLP/HTTP collector: it decodes every POST to
// /v1/traces and keeps the requests and their headers.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	exports []*coltrace.ExportTraceServiceRequest
	headers []http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
			http.NotFound(w, req)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		msg := &coltrace.ExportTraceServiceRequest{}
		if err == nil {
			err = proto.Unmarshal(raw, msg)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.exports = append(r.exports, msg)
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.GetStringValue()
	}
	return m
}

// TestProvider: spans reach the collector at the traces URL, with the
// configured headers and resource, once Shutdown has flushed the batch.
func TestProvider(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	p, err := tracing.New(context.Background(), tracing.Config{
		URL: rcv.URL + "/v1/traces", Headers: map[string]string{"Authorization": "Bearer t0ken"},
		ServiceName: "cron-eu", ServiceVersion: "1.2.3", InstanceID: "node-a",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer().Start(context.Background(), "GET")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.exports) != 1 {
		t.Fatalf("%d exports, want 1", len(rcv.exports))
	}
	if got := rcv.headers[0].Get("Authorization"); got != "Bearer t0ken" {
		t.Errorf("Authorization %q, want the configured header", got)
	}
	rs := rcv.exports[0].ResourceSpans
	if len(rs) != 1 || len(rs[0].ScopeSpans) != 1 || len(rs[0].ScopeSpans[0].Spans) != 1 {
		t.Fatalf("export %v, want one span", rcv.exports[0])
	}
	res := attrMap(rs[0].Resource.Attributes)
	for k, v := range map[string]string{"service.name": "cron-eu", "service.version": "1.2.3", "service.instance.id": "node-a"} {
		if res[k] != v {
			t.Errorf("resource %s = %q, want %q", k, res[k], v)
		}
	}
	if got := rs[0].ScopeSpans[0].Spans[0].Name; got != "GET" {
		t.Errorf("span %q, want GET", got)
	}
}

func TestSampler(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"":                         "ParentBased{root:AlwaysOnSampler",
		"always_on":                "AlwaysOnSampler",
		"always_off":               "AlwaysOffSampler",
		"traceidratio":             "TraceIDRatioBased{0.25}",
		"parentbased_always_on":    "ParentBased{root:AlwaysOnSampler",
		"parentbased_always_off":   "ParentBased{root:AlwaysOffSampler",
		"parentbased_traceidratio": "ParentBased{root:TraceIDRatioBased{0.25}",
	} {
		s, err := tracing.Sampler(name, 0.25)
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if got := s.Description(); len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("%q: %s, want %s...", name, got, want)
		}
	}
	for _, name := range config.Samplers { // every value OTEL_TRACES_SAMPLER accepts
		if _, err := tracing.Sampler(name, 1); err != nil {
			t.Errorf("config accepts %q, tracing refuses it: %v", name, err)
		}
	}
	if _, err := tracing.Sampler("jaeger_remote", 1); err == nil {
		t.Error("jaeger_remote: no error")
	}
}
