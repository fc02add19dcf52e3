package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestServe_Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, a run's request
// carries a traceparent, and stopping the service flushes its span to the
// collector (before the batch's own 5 s delay), named for the service.
func TestServe_Tracing(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var spans, services []string // "<trace id>-<span id>", service.name
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		msg := &coltrace.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(raw, msg) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range msg.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				if kv.Key == "service.name" {
					services = append(services, kv.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, fmt.Sprintf("%x-%x", s.TraceId, s.SpanId))
				}
			}
		}
		mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(collector.Close)
	var seen []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Traceparent"))
		mu.Unlock()
	}))
	t.Cleanup(target.Close)

	s := startServer(t, filepath.Join(t.TempDir(), "a.db"), map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "OTEL_SERVICE_NAME": "cron-test",
	})
	tid := createTarget(t, s, map[string]any{"name": "traced", "url": target.URL})
	sid := createSchedule(t, s, map[string]any{"name": "hourly", "target_id": tid, "schedule_type": "INTERVAL", "interval_seconds": 3600})
	waitFor(t, 10*time.Second, "the first run", func() bool { return len(finished(runsOf(t, s.url, sid))) == 1 })
	stopped := time.Now()
	s.stop()
	if d := time.Since(stopped); d > 4*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || len(seen[0]) != 55 {
		t.Fatalf("target saw traceparent %q, want one", seen)
	}
	ids := strings.TrimSuffix(strings.TrimPrefix(seen[0], "00-"), "-01")
	if len(spans) != 1 || spans[0] != ids {
		t.Errorf("collector got spans %q by shutdown, want the request's %s", spans, ids)
	}
	if len(services) != 1 || services[0] != "cron-test" {
		t.Errorf("service.name %q, want cron-test", services)
	}
}
