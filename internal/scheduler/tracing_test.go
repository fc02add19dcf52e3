package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/storetest"
	"github.com/apicron/apicron/internal/tracing"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a loopback OTLP/HTTP collector keeping the spans POSTed
// to /v1/traces, decoded.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, err := io.ReadAll(req.Body)
		msg := &coltrace.ExportTraceServiceRequest{}
		if err == nil {
			err = proto.Unmarshal(raw, msg)
		}
		if err != nil || req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
			http.Error(w, fmt.Sprint(err), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range msg.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

// span returns the span whose id is spanID (hex), or nil.
func (r *otlpReceiver) span(spanID string) *tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if fmt.Sprintf("%x", s.SpanId) == spanID {
			return s
		}
	}
	return nil
}

func spanAttrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = fmt.Sprint(v.IntValue)
		default:
			m[kv.Key] = kv.Value.String()
		}
	}
	return m
}

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// TestScheduler_Tracing: through the engine, the store and the real
// executor, each request of a run carries the run's trace id (the same for
// the retry after a 503) with a span id of its own, another run another
// trace id; and the collector receives one span per attempt with the ids
// the target saw and the attempt's attributes.
func TestScheduler_Tracing(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		clock := storetest.NewClock(t0)
		db := storetest.Open(t, driver, clock)
		seed, err := db.TraceSeed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rcv := newOTLPReceiver(t)
		spans, err := tracing.New(ctx, tracing.Config{URL: rcv.URL + "/v1/traces", IDGenerator: executor.IDGenerator{}})
		if err != nil {
			t.Fatal(err)
		}
		noWait := func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
		e := executor.New(executor.Config{Now: clock.Now, Sleep: noWait, TraceSeed: seed, Tracer: spans.Tracer()})
		t.Cleanup(e.CloseIdleConnections)
		s := scheduler.New(scheduler.Config{Store: db, Executor: e, Clock: clock, MaxConcurrent: 4})
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}

		var mu sync.Mutex
		var seen []string
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, strings.Join(r.Header.Values("Traceparent"), " | "))
			first := len(seen) == 1
			mu.Unlock()
			if first {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(target.Close)
		tg := &apicron.Target{Name: "t", URL: target.URL + "/hook?token=s3cret", MaxRetries: ptr(1)}
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		sch := &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60}
		if err := db.CreateSchedule(ctx, sch); err != nil {
			t.Fatal(err)
		}
		s.Changed(sch.ID)
		step(t, clock, s, 0)
		step(t, clock, s, time.Minute)
		if err := spans.Shutdown(ctx); err != nil {
			t.Fatalf("flush spans: %v", err)
		}

		runs := runsOf(t, db, sch.ID)
		mu.Lock()
		got := seen
		mu.Unlock()
		if len(runs) != 2 || len(got) != 3 {
			t.Fatalf("%d runs, %d requests (%q); want 2 runs, the first retried once", len(runs), len(got), got)
		}
		type parsed struct{ trace, span string }
		var tp []parsed
		for i, v := range got {
			m := traceparentRE.FindStringSubmatch(v)
			if m == nil {
				t.Fatalf("request %d: traceparent %q, want one 00-<trace>-<span>-01", i+1, v)
			}
			tp = append(tp, parsed{m[1], m[2]})
		}
		if tp[0].trace != tp[1].trace {
			t.Errorf("the retry has trace id %s, the first attempt %s: want the run's one", tp[1].trace, tp[0].trace)
		}
		if tp[0].span == tp[1].span {
			t.Errorf("both attempts have span id %s", tp[0].span)
		}
		if tp[2].trace == tp[0].trace {
			t.Errorf("the second run has the first's trace id %s", tp[2].trace)
		}

		first, err := db.FindRunByID(ctx, runs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		attempts := []apicron.Attempt{first.Attempts[0], first.Attempts[1], {Number: 1, StartedAt: runs[1].StartedAt, FinishedAt: *runs[1].FinishedAt}}
		runOf := []*apicron.Run{runs[0], runs[0], runs[1]}
		codes := []string{"503", "200", "200"}
		for i, p := range tp {
			sp := rcv.span(p.span)
			if sp == nil {
				t.Errorf("request %d: no span %s exported", i+1, p.span)
				continue
			}
			if fmt.Sprintf("%x", sp.TraceId) != p.trace || len(sp.ParentSpanId) != 0 || sp.Kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("span %d: trace %x, parent %x, kind %v; want trace %s, a root client span", i+1, sp.TraceId, sp.ParentSpanId, sp.Kind, p.trace)
			}
			a := attempts[i]
			if sp.StartTimeUnixNano != uint64(a.StartedAt.UnixNano()) || sp.EndTimeUnixNano != uint64(a.FinishedAt.UnixNano()) {
				t.Errorf("span %d: %d to %d, the attempt %s to %s", i+1, sp.StartTimeUnixNano, sp.EndTimeUnixNano, a.StartedAt, a.FinishedAt)
			}
			attrs := spanAttrs(sp.Attributes)
			want := map[string]string{
				"http.request.method":       "GET",
				"url.full":                  target.URL + "/hook?token=REDACTED",
				"server.address":            "127.0.0.1",
				"http.response.status_code": codes[i],
				"apicron.schedule_id":       fmt.Sprint(sch.ID),
				"apicron.run_id":            fmt.Sprint(runOf[i].ID),
				"apicron.attempt":           fmt.Sprint(a.Number),
				"apicron.scheduled_at":      runOf[i].ScheduledAt.UTC().Format(apicron.TimeFormat),
			}
			if i == 0 {
				want["error.type"] = apicron.ErrHTTP5xx
			}
			for k, v := range want {
				if attrs[k] != v {
					t.Errorf("span %d: %s = %q, want %q", i+1, k, attrs[k], v)
				}
			}
			if failed := sp.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR; failed != (i == 0) {
				t.Errorf("span %d: status %v", i+1, sp.Status)
			}
		}
	})
}
