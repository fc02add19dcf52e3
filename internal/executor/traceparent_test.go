package executor

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// traceparentRE is a version 00 traceparent: trace id, span id, flags.
var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// tracedTarget is a loopback target that records the traceparent headers
// of the requests it gets, and answers 503 to the first fail of them.
type tracedTarget struct {
	URL  string
	mu   sync.Mutex
	seen [][]string
	fail int
}

func newTracedTarget(t *testing.T, fail int) *tracedTarget {
	tt := &tracedTarget{fail: fail}
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		tt.mu.Lock()
		tt.seen = append(tt.seen, r.Header.Values("Traceparent"))
		n := len(tt.seen)
		tt.mu.Unlock()
		if n <= tt.fail {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	tt.URL = srv.URL
	return tt
}

// headers returns the traceparent each request carried, failing the test
// unless each carried exactly one.
func (tt *tracedTarget) headers(t *testing.T) []string {
	t.Helper()
	tt.mu.Lock()
	defer tt.mu.Unlock()
	var out []string
	for i, vs := range tt.seen {
		if len(vs) != 1 {
			t.Fatalf("request %d carried traceparent %q, want one value", i+1, vs)
		}
		out = append(out, vs[0])
	}
	return out
}

type parsedTraceparent struct{ trace, span, flags string }

func parseTraceparent(t *testing.T, v string) parsedTraceparent {
	t.Helper()
	m := traceparentRE.FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("traceparent %q is not 00-<32 hex>-<16 hex>-<2 hex>", v)
	}
	if m[1] == strings.Repeat("0", 32) || m[2] == strings.Repeat("0", 16) {
		t.Fatalf("traceparent %q has an all-zero id", v)
	}
	return parsedTraceparent{m[1], m[2], m[3]}
}

// TestTraceparent: every attempt of a run carries the run's trace id with
// a span id of its own, sampled; another run has another trace; another
// executor on the same seed (another node, a restart) derives the same
// ids, one on another seed (another database) others.
func TestTraceparent(t *testing.T) {
	t.Parallel()
	seed := []byte("0123456789abcdef")
	fs := newFakeSleep()
	tt := newTracedTarget(t, 1)
	e := New(Config{TraceSeed: seed, Now: fs.Now, Sleep: fs.Sleep})
	job := newTestJob(tt.URL)
	job.MaxRetries = 1
	if res := execute(t, e, job, 5*time.Second); res.Status != apicron.Success || len(res.Attempts) != 2 {
		t.Fatalf("run: %s with %d attempts, want SUCCESS after a 503", res.Status, len(res.Attempts))
	}
	seen := tt.headers(t)
	if len(seen) != 2 {
		t.Fatalf("%d requests, want 2", len(seen))
	}
	a1, a2 := parseTraceparent(t, seen[0]), parseTraceparent(t, seen[1])
	if a1.trace != a2.trace {
		t.Errorf("trace ids %s and %s, want the run's one for both attempts", a1.trace, a2.trace)
	}
	if a1.span == a2.span {
		t.Errorf("both attempts have span id %s, want one each", a1.span)
	}
	if a1.flags != "01" || a2.flags != "01" {
		t.Errorf("flags %s, %s; want 01 (sampled)", a1.flags, a2.flags)
	}

	other := newTestJob(tt.URL)
	other.RunID++
	execute(t, e, other, 5*time.Second)
	if b := parseTraceparent(t, tt.headers(t)[2]); b.trace == a1.trace {
		t.Errorf("run %d has run %d's trace id %s", other.RunID, job.RunID, b.trace)
	}

	job.MaxRetries = 0
	execute(t, New(Config{TraceSeed: seed}), job, 5*time.Second)
	if again := parseTraceparent(t, tt.headers(t)[3]); again != a1 {
		t.Errorf("another executor on the seed sent %v, want the first attempt's %v", again, a1)
	}
	execute(t, New(Config{TraceSeed: []byte("another database")}), job, 5*time.Second)
	if elsewhere := parseTraceparent(t, tt.headers(t)[4]); elsewhere.trace == a1.trace {
		t.Errorf("another seed derived the same trace id %s", elsewhere.trace)
	}

	// A request that is no run's (a target test) gets a trace of its own.
	test := newTestJob(tt.URL)
	test.RunID = 0
	execute(t, e, test, 5*time.Second)
	execute(t, e, test, 5*time.Second)
	h := tt.headers(t)
	if x, y := parseTraceparent(t, h[5]), parseTraceparent(t, h[6]); x.trace == y.trace {
		t.Errorf("two target tests share trace id %s", x.trace)
	}
}

// TestTraceparent_TargetsOwn: a target that sets traceparent (in any case)
// sends its own, once; apicron's is not added beside it.
func TestTraceparent_TargetsOwn(t *testing.T) {
	t.Parallel()
	own := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tt := newTracedTarget(t, 0)
	e := New(Config{})
	job := newTestJob(tt.URL)
	job.Headers = map[string]string{"traceparent": own}
	execute(t, e, job, 5*time.Second)
	if got := tt.headers(t); len(got) != 1 || got[0] != own {
		t.Fatalf("target got %q, want its own %q", got, own)
	}
}

// TestTraceparent_Spans: with a Tracer, each attempt is one client span
// whose ids are those its request carried, timed as the attempt, with the
// attempt's attributes, an error status on failure.
func TestTraceparent_Spans(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(IDGenerator{}))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	fs := newFakeSleep()
	tt := newTracedTarget(t, 1)
	e := New(Config{TraceSeed: []byte("seed"), Now: fs.Now, Sleep: fs.Sleep, Tracer: tp.Tracer("apicron")})
	job := newTestJob(tt.URL + "/hook?run=1&api_key=s3cret&token=t0k")
	job.MaxRetries = 1
	job.Method = "POST"
	job.Trigger = apicron.TriggerSchedule
	res := execute(t, e, job, 5*time.Second)
	spans := exp.GetSpans()
	if len(spans) != 2 || len(res.Attempts) != 2 {
		t.Fatalf("%d spans for %d attempts, want 2 each", len(spans), len(res.Attempts))
	}
	seen := tt.headers(t)
	host := strings.TrimPrefix(tt.URL, "http://")
	for i, s := range spans {
		tp := parseTraceparent(t, seen[i])
		if s.SpanContext.TraceID().String() != tp.trace || s.SpanContext.SpanID().String() != tp.span {
			t.Errorf("span %d: ids %s/%s, the request carried %s/%s", i+1, s.SpanContext.TraceID(), s.SpanContext.SpanID(), tp.trace, tp.span)
		}
		if s.Parent.IsValid() || s.SpanKind != trace.SpanKindClient || s.Name != "POST" {
			t.Errorf("span %d: parent %v, kind %v, name %q; want a root client span named POST", i+1, s.Parent, s.SpanKind, s.Name)
		}
		a := res.Attempts[i]
		if !s.StartTime.Equal(a.StartedAt) || !s.EndTime.Equal(a.FinishedAt) {
			t.Errorf("span %d: %s to %s, the attempt %s to %s", i+1, s.StartTime, s.EndTime, a.StartedAt, a.FinishedAt)
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes {
			attrs[kv.Key] = kv.Value
		}
		want := map[attribute.Key]string{
			"http.request.method":  "POST",
			"url.full":             tt.URL + "/hook?run=1&api_key=REDACTED&token=REDACTED",
			"server.address":       "127.0.0.1",
			"apicron.schedule_id":  "30",
			"apicron.run_id":       "70",
			"apicron.attempt":      []string{"1", "2"}[i],
			"apicron.scheduled_at": "2025-01-02T02:04:05.006Z",
			"apicron.trigger":      "schedule",
			"server.port":          host[strings.LastIndex(host, ":")+1:],
		}
		if i == 0 {
			want["http.response.status_code"], want["error.type"] = "503", "http_5xx"
		} else {
			want["http.response.status_code"], want["http.request.resend_count"] = "200", "1"
		}
		for k, v := range want {
			if got, ok := attrs[k]; !ok || got.String() != v {
				t.Errorf("span %d: %s = %q (set: %v), want %q", i+1, k, got.String(), ok, v)
			}
		}
		if _, ok := attrs["error.type"]; ok && i == 1 {
			t.Errorf("span 2 (a success) has error.type %s", attrs["error.type"].String())
		}
		if wantCode := []codes.Code{codes.Error, codes.Unset}[i]; s.Status.Code != wantCode {
			t.Errorf("span %d: status %v, want %v", i+1, s.Status, wantCode)
		}
	}
}

// TestTraceparent_Sampler: the flags are the tracer's sampling decision; a
// trace it drops is sent as not sampled, and no span is exported.
func TestTraceparent_Sampler(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(IDGenerator{}),
		sdktrace.WithSampler(sdktrace.NeverSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tt := newTracedTarget(t, 0)
	seed := []byte("seed")
	execute(t, New(Config{TraceSeed: seed, Tracer: tp.Tracer("apicron")}), newTestJob(tt.URL), 5*time.Second)
	execute(t, New(Config{TraceSeed: seed}), newTestJob(tt.URL), 5*time.Second)
	seen := tt.headers(t)
	dropped, plain := parseTraceparent(t, seen[0]), parseTraceparent(t, seen[1])
	if dropped.flags != "00" || len(exp.GetSpans()) != 0 {
		t.Errorf("flags %s with %d spans exported, want 00 and none", dropped.flags, len(exp.GetSpans()))
	}
	if dropped.trace != plain.trace || dropped.span != plain.span {
		t.Errorf("sampled out %v, without a tracer %v: want the same ids", dropped, plain)
	}
}

func TestSpanURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, full, host string }{
		{"https://api.example.com/v1/sync", "https://api.example.com/v1/sync", "api.example.com"},
		{"https://u:p@api.example.com/x#frag", "https://REDACTED:REDACTED@api.example.com/x", "api.example.com"},
		{"http://h:8080/x?a=1&sig=abc&X-Goog-Signature=z&AccessToken=q&b=%20", "http://h:8080/x?a=1&sig=REDACTED&X-Goog-Signature=REDACTED&AccessToken=REDACTED&b=%20", "h"},
		{"http://[::1]:9/x?client_secret=s&flag", "http://[::1]:9/x?client_secret=REDACTED&flag", "::1"},
		{"{{.Broken", "", ""},
	}
	for _, c := range cases {
		full, host, _ := spanURL(c.in)
		if full != c.full || host != c.host {
			t.Errorf("spanURL(%q) = %q, %q; want %q, %q", c.in, full, host, c.full, c.host)
		}
	}
}
