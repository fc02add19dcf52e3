package executor

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/apicron/apicron"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func BenchmarkExecute(b *testing.B) {
	srv := mustServer(b, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	plain := New(Config{})
	b.Cleanup(plain.CloseIdleConnections)
	runWith := func(b *testing.B, e *Executor, url string, headers map[string]string) {
		job := newTestJob(url)
		job.Headers = headers
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if res := e.Execute(context.Background(), job); res.Status != apicron.Success {
					b.Errorf("status %s %s", res.Status, res.ErrorMessage)
					return
				}
			}
		})
	}
	run := func(b *testing.B, url string, headers map[string]string) { runWith(b, plain, url, headers) }
	templated := map[string]string{"Authorization": "Bearer x", "X-Run": "{{.RunID}}"}
	b.Run("static", func(b *testing.B) {
		// No template anywhere: what every request pays for rendering.
		run(b, srv.URL+"/hook", map[string]string{"Authorization": "Bearer x", "Content-Type": "application/json"})
	})
	b.Run("plain", func(b *testing.B) { run(b, srv.URL+"/hook", templated) })
	b.Run("templated", func(b *testing.B) { run(b, srv.URL+"/hook?run={{.RunID}}&at={{.ScheduledAt}}", templated) })
	b.Run("spans", func(b *testing.B) {
		// Each attempt a span, batched to an exporter that drops them:
		// what exporting costs the executor, beside "plain".
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithIDGenerator(IDGenerator{}))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		e := New(Config{Tracer: tp.Tracer("apicron")})
		b.Cleanup(e.CloseIdleConnections)
		runWith(b, e, srv.URL+"/hook", templated)
	})
}

// BenchmarkTraceparent is what every attempt pays for its traceparent
// header without a tracer: the run's keyed hash and the header's text.
func BenchmarkTraceparent(b *testing.B) {
	key := traceKeyOf([]byte("0123456789abcdef"))
	b.ReportAllocs()
	for i := range b.N {
		rt := newRunTrace(&key, int64(i)+1)
		_ = formatTraceparent(rt.id, rt.spanID(1), 1)
	}
}
