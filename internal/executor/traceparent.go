package executor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// W3C Trace Context (https://www.w3.org/TR/trace-context/): every attempt's
// request carries a traceparent header, "00-<trace id>-<span id>-<flags>".
//
//   - One trace per run. Its id is a keyed hash of the run id (the key
//     made from the database's trace seed, Config.TraceSeed), so every
//     attempt of the run carries it, on whichever node and in whichever
//     process sends it, and no other run's, nor a run of another
//     database, shares it. A request that is not a run's (a target test,
//     run id 0) gets a random trace of its own.
//   - One span per attempt: the span ids of a run's attempts are counted
//     from a base the same hash gives, so each differs.
//   - The flags say sampled (01): the target may record its side. With a
//     Config.Tracer, the flags are its sampler's decision for the run's
//     trace (a ratio sampler decides by the trace id, so alike for every
//     attempt), and the header names the span it recorded.
//   - A target that sets its own traceparent header keeps it, as it keeps
//     its own Idempotency-Key: it then links the request to a trace of its
//     choosing, not to apicron's span.
//
// Without a Config.Tracer nothing but the header is made: a hash per run
// and one string per attempt.

// traceKeyDomain separates the trace key from any other use of the seed.
const traceKeyDomain = "apicron trace id v1\x00"

// traceKeyOf derives the key run trace ids are hashed with from seed.
func traceKeyOf(seed []byte) [sha256.Size]byte {
	return sha256.Sum256(append([]byte(traceKeyDomain), seed...))
}

// randomTraceKey is the key of an Executor given no seed: stable for the
// process, so still one trace id per run within it.
func randomTraceKey() [sha256.Size]byte {
	seed := make([]byte, 16)
	_, _ = rand.Read(seed) // never fails (crypto/rand)
	return traceKeyOf(seed)
}

// runTrace is a run's trace: its id, and the base its attempts' span ids
// count from.
type runTrace struct {
	id   trace.TraceID
	base uint64
}

// newRunTrace returns run runID's trace, derived from key; a random one
// for run id 0 (a request that is no run's).
func newRunTrace(key *[sha256.Size]byte, runID int64) runTrace {
	var rt runTrace
	if runID <= 0 {
		binary.BigEndian.PutUint64(rt.id[:8], mrand.Uint64())
		binary.BigEndian.PutUint64(rt.id[8:], mrand.Uint64())
		rt.base = mrand.Uint64()
	} else {
		var in [sha256.Size + 8]byte
		copy(in[:], key[:])
		binary.BigEndian.PutUint64(in[sha256.Size:], uint64(runID))
		sum := sha256.Sum256(in[:])
		copy(rt.id[:], sum[:16])
		rt.base = binary.BigEndian.Uint64(sum[16:24])
	}
	if !rt.id.IsValid() { // all zeros: not a valid trace id
		rt.id[15] = 1
	}
	return rt
}

// spanID is attempt n's span id: distinct for each attempt, never zero.
func (rt *runTrace) spanID(n int) trace.SpanID {
	v := rt.base + uint64(n)
	if v == 0 {
		v = 1 << 63
	}
	var id trace.SpanID
	binary.BigEndian.PutUint64(id[:], v)
	return id
}

// traceparentLen is the length of a version 00 traceparent value.
const traceparentLen = 55

// formatTraceparent returns the traceparent header value naming span sid
// of trace tid with flags.
func formatTraceparent(tid trace.TraceID, sid trace.SpanID, flags trace.TraceFlags) string {
	var b [traceparentLen]byte
	b[0], b[1], b[2] = '0', '0', '-'
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{byte(flags)})
	return string(b[:])
}

// idsKey is the context key under which an attempt hands IDGenerator the
// ids of its span.
type idsKey struct{}

type spanIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

// IDGenerator makes the OpenTelemetry SDK give each attempt's span the
// trace and span ids its traceparent header carries (the run's trace, the
// attempt's span). It implements go.opentelemetry.io/otel/sdk/trace's
// IDGenerator: pass it to the tracer provider given as Config.Tracer (with
// sdktrace.WithIDGenerator). Spans other than attempts get random ids.
type IDGenerator struct{}

// NewIDs returns the attempt's ids, random ones for a span that is not an attempt's.
func (IDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if ids, ok := ctx.Value(idsKey{}).(spanIDs); ok {
		return ids.trace, ids.span
	}
	rt := newRunTrace(nil, 0)
	return rt.id, rt.spanID(0)
}

// NewSpanID returns a random span id: attempts' spans are roots, and get
// theirs from NewIDs.
func (IDGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	rt := runTrace{base: mrand.Uint64()}
	return rt.spanID(0)
}

// startSpan starts attempt n's span at start, with the run's trace id and
// the attempt's span id, and returns it with the ids and flags the
// request is to carry: the span's own, its sampler's decision included.
func (e *Executor) startSpan(ctx context.Context, p *plan, n int, ids spanIDs, start time.Time) (trace.Span, spanIDs, trace.TraceFlags) {
	ctx = context.WithValue(ctx, idsKey{}, ids)
	_, span := e.spans.Start(ctx, p.method, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(start))
	sc := span.SpanContext()
	if !sc.IsValid() { // a tracer that records nothing
		return span, ids, trace.FlagsSampled
	}
	return span, spanIDs{trace: sc.TraceID(), span: sc.SpanID()}, sc.TraceFlags()
}

// endSpan records attempt o's outcome on its span and ends it when the
// attempt finished.
func endSpan(span trace.Span, p *plan, o *outcome) {
	if !span.IsRecording() {
		span.End(trace.WithTimestamp(o.FinishedAt))
		return
	}
	job := p.job
	attrs := make([]attribute.KeyValue, 0, 14)
	attrs = append(attrs,
		attribute.String("http.request.method", p.method),
		attribute.Int64("apicron.schedule_id", job.ScheduleID),
		attribute.Int64("apicron.run_id", job.RunID),
		attribute.Int64("apicron.target_id", job.TargetID),
		attribute.Int("apicron.attempt", o.Number),
		attribute.String("apicron.scheduled_at", p.scheduledAt),
	)
	if job.Trigger != "" {
		attrs = append(attrs, attribute.String("apicron.trigger", string(job.Trigger)))
	}
	if o.Number > 1 {
		attrs = append(attrs, attribute.Int("http.request.resend_count", o.Number-1))
	}
	if u, host, port := spanURL(o.request.URL); u != "" {
		attrs = append(attrs, attribute.String("url.full", u), attribute.String("server.address", host))
		if port > 0 {
			attrs = append(attrs, attribute.Int("server.port", port))
		}
	}
	if o.StatusCode != nil {
		attrs = append(attrs, attribute.Int("http.response.status_code", *o.StatusCode))
	}
	if o.ResponseSize != nil {
		attrs = append(attrs, attribute.Int64("http.response.body.size", *o.ResponseSize))
	}
	attrs = append(attrs, attribute.String("apicron.status", string(o.Status)))
	if o.Status != apicron.Success {
		errType := o.ErrorType
		if errType == "" {
			errType = "_OTHER"
		}
		attrs = append(attrs, attribute.String("error.type", errType))
		span.SetStatus(codes.Error, o.ErrorMessage)
	}
	span.SetAttributes(attrs...)
	span.End(trace.WithTimestamp(o.FinishedAt))
}

// redacted replaces what url.full must not show.
const redacted = "REDACTED"

// spanURL returns raw as a span's url.full, with its host and port: the
// user information and the values of query parameters that look like
// credentials are REDACTED (OpenTelemetry's rule for url.full, its list of
// keys widened: see sensitiveQueryKey), the fragment dropped. "" when raw
// does not parse as an absolute URL.
func spanURL(raw string) (full, host string, port int) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", 0
	}
	if u.User != nil {
		u.User = url.UserPassword(redacted, redacted)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		u.RawQuery = redactQuery(u.RawQuery)
	}
	host = u.Hostname()
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	} else if u.Scheme == "https" {
		port = 443
	} else if u.Scheme == "http" {
		port = 80
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return u.String(), host, port
}

// redactQuery replaces the values of sensitive keys in a raw query, keeping
// the order and the encoding of the rest.
func redactQuery(q string) string {
	var b strings.Builder
	for i, part := range strings.Split(q, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, _, hasValue := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && sensitiveQueryKey(name) {
			b.WriteString(k)
			b.WriteString("=" + redacted)
			continue
		}
		b.WriteString(part)
	}
	return b.String()
}

// sensitiveQueryKeys are the query keys whose values a span never shows:
// OpenTelemetry's list (AWSAccessKeyId, Signature, sig, X-Goog-Signature)
// and the usual names of tokens and keys. A key matches when it equals one
// of these or contains one of sensitiveQueryWords, in any case.
var sensitiveQueryKeys = []string{"awsaccesskeyid", "signature", "sig", "x-goog-signature", "code", "auth"}

var sensitiveQueryWords = []string{"token", "key", "secret", "password", "passwd", "credential", "signature", "session", "auth"}

func sensitiveQueryKey(name string) bool {
	n := strings.ToLower(name)
	for _, k := range sensitiveQueryKeys {
		if n == k {
			return true
		}
	}
	for _, w := range sensitiveQueryWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
