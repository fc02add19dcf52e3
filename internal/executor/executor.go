// Package executor turns an apicron.Job into HTTP requests and reports what
// happened as an apicron.RunResult: one or more attempts, each classified,
// timed and bounded. A target's 500 or timeout is a result, never a Go error.
// It owns the shared HTTP client and does not touch the database.
//
// What it decides:
//
//   - Only 2xx is SUCCESS. A 3xx that is not followed (304, 300, a 3xx
//     without Location) is FAILED other: the target did not do what was asked.
//   - Each attempt, connecting to reading the last body byte, has the job's
//     timeout. A body is read through a fixed buffer up to MaxResponseBytes;
//     past that reading stops, response_size is the cap, the status code
//     still decides the class and error_message says the body was cut.
//   - ResponseBody is the first apicron.MaxStoredBody bytes as valid UTF-8
//     text: a rune split by the cut is dropped, invalid bytes and NUL become
//     U+FFFD, so any body can be stored in SQLite or PostgreSQL text.
//   - Timeouts, connection and DNS errors, 5xx and 429 are retried with
//     Backoff; TLS errors, other 4xx, templates, redirect loops, refused
//     redirects and connections the outbound policy blocks are not.
//   - Redirects: at most MaxRedirects; none from https to http unless the
//     job allows it (else FAILED insecure_redirect, nothing sent over
//     http); no Referer ever; and once a redirect leaves the first URL's
//     origin (scheme, host or port) none of the target's headers follow.
//   - Every connection is checked against the outbound Policy when it is
//     dialled; a denied one fails the attempt with error_type blocked.
//   - A job with OAuth2 sends the target's client credentials token as its
//     Authorization header. The token is fetched under the attempt's
//     timeout, through the same transport (so the same Policy), without
//     following redirects, and reused by every run of the target until it
//     is about to expire; the runs that need a new one at once share one
//     fetch, and a 401 from the target drops it. A token that cannot be had
//     fails the attempt unsent, FAILED oauth2, retried as its cause would be
//     for the target (see tokenFailure).
//   - A job with a ClientCert presents it in every TLS handshake, on a
//     transport of the target's own (see certClients).
//   - Cancelling Execute's context (shutdown) makes the attempt in flight
//     INTERRUPTED and stops retrying.
//   - Each attempt carries a W3C traceparent header: the run's trace id
//     (derived from Config.TraceSeed and the run id, so the same for every
//     attempt on every node), a span id of the attempt's own, sampled;
//     a target's own traceparent header wins. With a Config.Tracer each
//     attempt is also a span, exported with those ids (traceparent.go).
//   - Templates are rendered as apicron.RenderTemplate does, from a bounded
//     cache of parsed templates, within one apicron.RenderBudget per
//     attempt: a request whose URL, headers and body render past
//     apicron.MaxRenderedRequestBytes, or whose headers pass
//     apicron.MaxRenderedHeaderBytes, is FAILED template, and rendering stops
//     at the cap. A secret header's failing template (Job.IsSecretHeader) is
//     reported by the header's name alone: text/template's errors quote the
//     template.
package executor

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
)

// Defaults and limits of the executor.
const (
	// DefaultTimeout bounds an attempt whose job sets no timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxResponseBytes is how much of a response body is read at most.
	DefaultMaxResponseBytes = 10 << 20
	// MaxRedirects is how many redirects an attempt follows; needing one more
	// fails it with error_type redirect_limit.
	MaxRedirects = 10
	// MaxRetryAfter is the longest Retry-After wait honoured. A target that
	// asks for a longer one ends the run's retries rather than holding a
	// worker that long.
	MaxRetryAfter = 5 * time.Minute
	// maxHeaderValue bounds each response header value kept in a result.
	maxHeaderValue = 1024
)

// Config configures an Executor. Zero fields take the documented defaults.
type Config struct {
	// DefaultTimeout bounds an attempt, body included, when job.Timeout is
	// zero. Default 30s.
	DefaultTimeout time.Duration
	// MaxRetries is how many attempts may follow the first when
	// job.MaxRetries is negative. Default 0; at most apicron.MaxRetriesLimit.
	MaxRetries int
	// MaxResponseBytes is how many body bytes are read and counted at most.
	// Beyond it reading stops, response_size is the cap, and the attempt is
	// FAILED with error_type body_too_large: an endless body is not a success.
	// Default 10 MiB.
	MaxResponseBytes int64
	// Logger receives one Debug line per attempt. The caller names the
	// component (logger.With("component", "executor")), as for every
	// package. Default: discard.
	Logger *slog.Logger
	// Now stamps StartedAt and FinishedAt, the template's Now, and decides
	// RetryDeadline. Latencies and timings use the monotonic clock instead.
	// Default time.Now.
	Now func() time.Time
	// Sleep waits between attempts and returns ctx.Err() if ctx ends first.
	// Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for backoff jitter. It is called
	// concurrently. Default math/rand/v2.Float64.
	Rand func() float64
	// Transport overrides the tuned transport New builds, for tests (a TLS
	// server's own client transport, say). Redirects are still capped, but
	// Policy is not enforced: set Policy.Control on its dialer for that.
	Transport http.RoundTripper
	// Policy is the outbound policy every connection is checked against
	// when it is dialled. Default: NewPolicy(nil, nil, false), which denies
	// link-local and cloud metadata addresses.
	Policy *Policy
	// UserAgent is sent unless a target sets its own. Default
	// "apicron/" + apicron.Version.
	UserAgent string
	// MaxIdleConns bounds the idle keep-alive connections kept to targets,
	// all hosts together (and so to any one host). An idle connection holds
	// a file descriptor, and the process keeps only so many in reserve for
	// its calls (cmd/apicron reserves one idle connection per
	// MAX_CONCURRENT_JOBS, which it passes here); requests in flight never
	// outnumber MAX_CONCURRENT_JOBS, so more idle ones would never be used
	// at once. Default 100.
	MaxIdleConns int
	// TraceSeed keys the trace id of each run's requests (the traceparent
	// header, see traceparent.go): the database's (store.TraceSeed), so
	// that every node derives the same trace id for a run. Default: a
	// random seed, per Executor.
	TraceSeed []byte
	// Tracer, when set, records a span for each attempt: give its tracer
	// provider IDGenerator, so that the span's ids are the ones the
	// request carries. Default nil: no span is made, and each request
	// still carries its traceparent header.
	Tracer trace.Tracer
}

// DefaultMaxIdleConns is Config.MaxIdleConns's default.
const DefaultMaxIdleConns = 100

// idleConnTimeout is how long an idle connection to a target is kept.
const idleConnTimeout = 30 * time.Second

// Executor sends jobs' requests. It is safe for concurrent use; make one and
// share it, since it holds the connection pool.
type Executor struct {
	timeout    time.Duration
	maxRetries int
	maxBody    int64
	logger     *slog.Logger
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	rand       func() float64
	userAgent  string
	client     *http.Client
	templates  *templateCache
	// tokens are the targets' OAuth2 tokens; certs the clients of the
	// targets with a client certificate.
	tokens *tokenCache
	certs  *certClients
	// traceKey derives runs' trace ids (TraceSeed); spans records the
	// attempts' spans, nil for none.
	traceKey [sha256.Size]byte
	spans    trace.Tracer
}

var _ apicron.Executor = (*Executor)(nil)

// New returns an Executor for cfg, with defaults for the zero fields.
func New(cfg Config) *Executor {
	e := &Executor{
		timeout:    cfg.DefaultTimeout,
		maxRetries: min(max(cfg.MaxRetries, 0), apicron.MaxRetriesLimit),
		maxBody:    cfg.MaxResponseBytes,
		logger:     cfg.Logger,
		now:        cfg.Now,
		sleep:      cfg.Sleep,
		rand:       cfg.Rand,
		userAgent:  cfg.UserAgent,
		templates:  newTemplateCache(templateCacheEntries, templateCacheBytes),
		spans:      cfg.Tracer,
	}
	if len(cfg.TraceSeed) > 0 {
		e.traceKey = traceKeyOf(cfg.TraceSeed)
	} else {
		e.traceKey = randomTraceKey()
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.maxBody <= 0 {
		e.maxBody = DefaultMaxResponseBytes
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.sleep == nil {
		e.sleep = sleepContext
	}
	if e.rand == nil {
		e.rand = rand.Float64
	}
	if e.userAgent == "" {
		e.userAgent = "apicron/" + apicron.Version
	}
	policy := cfg.Policy
	if policy == nil {
		policy = defaultPolicy
	}
	rt := cfg.Transport
	if rt == nil {
		idle := cfg.MaxIdleConns
		if idle <= 0 {
			idle = DefaultMaxIdleConns
		}
		rt = newTransport(policy, idle)
	}
	e.client = &http.Client{Transport: rt, CheckRedirect: e.checkRedirect}
	e.tokens = newTokenCache(rt)
	e.certs = newCertClients(rt, e.checkRedirect)
	return e
}

// CloseIdleConnections closes the pooled connections not in use, for shutdown.
func (e *Executor) CloseIdleConnections() { e.client.CloseIdleConnections() }

// newTransport returns the transport shared by every request: keep-alive
// with up to idle connections kept, all to one host if need be (a hot target
// at thousands of requests per second must not redial), bounded dial and handshake, the system's roots
// only, no proxy from the environment (targets are arbitrary hosts; an
// operator's HTTP_PROXY meant for something else must not silently reroute
// them), and no transparent gzip, so response_size counts the bytes the
// target sent and no CPU goes on decompressing bodies nobody reads. The
// dialer checks every address it connects to against policy.
func newTransport(policy *Policy, idle int) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: policy.Control}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           idle,
		MaxIdleConnsPerHost:    idle,
		IdleConnTimeout:        idleConnTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 256 << 10,
		DisableCompression:     true,
	}
}

// NewTransport returns a transport like the executor's, which dials only
// what policy allows, for the service's other outbound requests
// (notifications): a notifier must not reach what a target may not.
func NewTransport(policy *Policy) *http.Transport { return newTransport(policy, 4) }

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// plan is what stays the same across a run's attempts.
type plan struct {
	job         *apicron.Job
	method      string
	runID       string
	scheduleID  string
	scheduledAt string
	// occurrence is apicron.OccurrenceKey: Idempotency-Key and webhook-id.
	occurrence string
	timeout    time.Duration
	retries    int
	trace      runTrace
}

// outcome is one attempt and what only the last attempt's outcome reports.
type outcome struct {
	apicron.Attempt
	request       apicron.RequestInfo
	body          string
	headers       map[string]string
	retryAfter    time.Duration
	hasRetryAfter bool // a Retry-After header was present and valid
	// class, when set, is the retry class of a failure that the outcome's
	// status and error type do not tell: an OAuth2 token's (tokenFailure).
	class string
}

// Execute sends job's request, retrying as the job allows, and reports every
// attempt. The result's top-level fields are the last attempt's. Cancelling
// ctx interrupts the attempt in flight (status INTERRUPTED) and stops
// retrying. A retry waits for job.Pace, when set, after its backoff: a
// retry whose turn does not come ends the retries. When a template fails no request is sent, and if it is the
// URL's, Request.URL is the unrendered template. When job.DecryptError is
// set no request is sent either: the run is FAILED, error type other, with
// that message. job must not be nil.
func (e *Executor) Execute(ctx context.Context, job *apicron.Job) apicron.RunResult {
	p := plan{
		job:         job,
		method:      job.Method,
		runID:       strconv.FormatInt(job.RunID, 10),
		scheduleID:  strconv.FormatInt(job.ScheduleID, 10),
		scheduledAt: job.ScheduledAt.UTC().Format(apicron.TimeFormat),
		occurrence:  apicron.OccurrenceKey(job.ScheduleID, job.ScheduledAt),
		timeout:     job.Timeout,
		retries:     e.maxRetries,
		trace:       newRunTrace(&e.traceKey, job.RunID),
	}
	if p.method == "" {
		p.method = apicron.DefaultMethod
	}
	if p.timeout <= 0 {
		p.timeout = e.timeout
	}
	if job.MaxRetries >= 0 {
		p.retries = min(job.MaxRetries, apicron.MaxRetriesLimit)
	}

	res := apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID}
	var last outcome
	for n := 1; ; n++ {
		last = e.attempt(ctx, &p, n)
		e.logAttempt(ctx, job, &last)
		if n == 1 {
			res.StartedAt = last.StartedAt
			res.Attempts = make([]apicron.Attempt, 0, min(p.retries+1, 4))
		}
		res.Attempts = append(res.Attempts, last.Attempt)
		wait, ok := e.retryWait(ctx, &p, &last)
		if !ok || e.sleep(ctx, wait) != nil {
			break
		}
		if !job.RetryDeadline.IsZero() && !e.now().Before(job.RetryDeadline) {
			break
		}
		if job.Pace != nil { // the retry's turn under its host's rate limit
			waited, ok := job.Pace(ctx)
			res.Waited += waited
			if !ok {
				break
			}
		}
		if job.Fence != nil {
			if err := job.Fence(ctx); err != nil {
				// This node may no longer send it (reaped while it was
				// paused): the run ends with this attempt, and says so.
				last.ErrorMessage = strings.TrimPrefix(last.ErrorMessage+"; ", "; ") + "no retry: " + err.Error()
				break
			}
		}
	}
	res.FinishedAt = last.FinishedAt
	res.Outcome = last.Outcome
	res.Request = last.request
	res.ResponseBody = last.body
	res.ResponseHeaders = last.headers
	return res
}

// retryWait decides whether another attempt follows o, and after how long.
func (e *Executor) retryWait(ctx context.Context, p *plan, o *outcome) (time.Duration, bool) {
	if o.Number > p.retries || ctx.Err() != nil || !retryable(o, p.job.RetryOn) {
		return 0, false
	}
	if o.hasRetryAfter && o.retryAfter > MaxRetryAfter {
		return 0, false
	}
	d := BackoffWith(p.job.BackoffBase, p.job.BackoffCap, o.Number, o.retryAfter, e.rand())
	if dl := p.job.RetryDeadline; !dl.IsZero() && !e.now().Add(d).Before(dl) {
		return 0, false
	}
	return d, true
}

// retryable reports whether an attempt's failure may pass if tried again:
// timeouts, connection and DNS errors, 5xx and 429. A TLS certificate
// problem, another 4xx, a template, a redirect loop, a refused redirect or
// an address the outbound policy blocks will not fix itself.
//
// That is apicron.DefaultRetryOn; a target's retry_on (on) lists its own
// classes (apicron.RetryClass).
func retryable(o *outcome, on []string) bool {
	c := o.class
	if c == "" {
		c = apicron.RetryClass(&o.Outcome)
	}
	return c != "" && slices.Contains(apicron.RetryOnOf(on), c)
}

func (e *Executor) logAttempt(ctx context.Context, job *apicron.Job, o *outcome) {
	if !e.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.Int64("run_id", job.RunID),
		slog.Int64("schedule_id", job.ScheduleID),
		slog.Int("attempt", o.Number),
		slog.String("status", string(o.Status)),
	}
	if o.StatusCode != nil {
		attrs = append(attrs, slog.Int("status_code", *o.StatusCode))
	}
	if o.LatencyMs != nil {
		attrs = append(attrs, slog.Float64("latency_ms", *o.LatencyMs))
	}
	if o.ErrorType != "" {
		attrs = append(attrs, slog.String("error_type", o.ErrorType), slog.String("error", o.ErrorMessage))
	}
	e.logger.LogAttrs(ctx, slog.LevelDebug, "attempt finished", attrs...)
}

// attempt renders and sends one request and reads its response, all within
// the job's timeout, and records its span when there is a Tracer.
func (e *Executor) attempt(ctx context.Context, p *plan, n int) outcome {
	start := e.now()
	ids := spanIDs{trace: p.trace.id, span: p.trace.spanID(n)}
	flags := trace.FlagsSampled
	if e.spans == nil {
		return e.send(ctx, p, n, start, ids, flags)
	}
	var span trace.Span
	span, ids, flags = e.startSpan(ctx, p, n, ids, start)
	o := e.send(ctx, p, n, start, ids, flags)
	endSpan(span, p, &o)
	return o
}

// send is attempt n from start, its request carrying the trace ids and flags.
func (e *Executor) send(ctx context.Context, p *plan, n int, start time.Time, ids spanIDs, flags trace.TraceFlags) outcome {
	job := p.job
	o := outcome{}
	o.RunID, o.Number = job.RunID, n
	o.StartedAt = start
	o.request = apicron.RequestInfo{Method: p.method, URL: job.URL}
	if job.DecryptError != "" {
		// Sending without the secret, or with its ciphertext, would be wrong:
		// send nothing. FAILED other is not retried.
		o.FinishedAt = e.now()
		o.Status, o.ErrorType, o.ErrorMessage = apicron.Failed, apicron.ErrOther, job.DecryptError
		return o
	}

	var data any = apicron.TemplateData{
		ScheduleID:   job.ScheduleID,
		ScheduleName: job.ScheduleName,
		TargetID:     job.TargetID,
		RunID:        job.RunID,
		ScheduledAt:  p.scheduledAt,
		Attempt:      n,
		Now:          o.StartedAt.UTC().Format(apicron.TimeFormat),
	}
	// One budget for the request's URL, headers and body: a target of many
	// headers must not render many times what one template may.
	budget := apicron.NewRenderBudget()
	rawURL, err := e.templates.render("url", "", job.URL, data, &budget)
	if err != nil {
		return e.failed(o, err)
	}
	o.request.URL = rawURL
	header := make(http.Header, len(job.Headers)+7)
	var host string
	for name, tmpl := range job.Headers {
		v, err := e.templates.render("headers", name, tmpl, data, &budget)
		if err != nil {
			if job.IsSecretHeader(name) {
				err = secretHeaderError(name, err)
			}
			return e.failed(o, err)
		}
		if o.request.Headers == nil {
			o.request.Headers = make(map[string]string, len(job.Headers)+1)
		}
		if job.IsSecretHeader(name) {
			o.request.Headers[name] = apicron.MaskedValue
		} else {
			o.request.Headers[name] = v
		}
		if strings.EqualFold(name, "Host") {
			host = v // Go sends req.Host, never a Host header
			continue
		}
		header.Set(name, v)
	}
	var (
		body    io.Reader
		payload string
	)
	if job.BodyTemplate != "" {
		b, err := e.templates.render("body_template", "", job.BodyTemplate, data, &budget)
		if err != nil {
			return e.failed(o, err)
		}
		body, payload = strings.NewReader(b), b
	}
	if _, ok := header["User-Agent"]; !ok {
		header["User-Agent"] = []string{e.userAgent}
	}
	// The run's own headers come last so a target cannot forge them.
	vals := [...]string{p.runID, p.scheduleID, p.scheduledAt, strconv.Itoa(n), ""}
	header["X-Apicron-Run-Id"] = vals[0:1:1]
	header["X-Apicron-Schedule-Id"] = vals[1:2:2]
	header["X-Apicron-Scheduled-At"] = vals[2:3:3]
	header["X-Apicron-Attempt"] = vals[3:4:4]
	if job.Reruns > 0 { // run again after its node stopped mid-request (retry_interrupted)
		header["X-Apicron-Rerun"] = []string{strconv.Itoa(job.Reruns)}
	}
	if _, ok := header["Traceparent"]; !ok { // a target's own wins, as for Idempotency-Key
		vals[4] = formatTraceparent(ids.trace, ids.span, flags)
		header["Traceparent"] = vals[4:5:5]
	}
	// One key per occurrence, the same for its every attempt and on every
	// node (an IETF Idempotency-Key is a structured-field string: quoted),
	// unless the target sets its own.
	if _, ok := header["Idempotency-Key"]; !ok {
		header["Idempotency-Key"] = []string{`"` + p.occurrence + `"`}
	}
	if len(job.SigningSecrets) > 0 {
		// Standard Webhooks: the id is the occurrence's, the timestamp this attempt's.
		header["Webhook-Id"] = []string{p.occurrence}
		header["Webhook-Timestamp"] = []string{strconv.FormatInt(o.StartedAt.Unix(), 10)}
		header["Webhook-Signature"] = []string{apicron.SignWebhook(job.SigningSecrets, p.occurrence, o.StartedAt, []byte(payload))}
	}

	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	tr := newTracer()
	req, err := http.NewRequestWithContext(withJob(httptrace.WithClientTrace(actx, &tr.trace), job), p.method, rawURL, body)
	if err != nil {
		return e.failed(o, fmt.Errorf("build request: %w", err))
	}
	req.Header = header
	if host != "" {
		req.Host = host
	}
	client := e.client
	if job.ClientCert != nil {
		if client, err = e.certs.client(job.TargetID, job.ClientCert); err != nil {
			return e.failed(o, err)
		}
	}
	var tok *oauth2.Token
	if job.OAuth2 != nil {
		// Within the attempt's timeout, before the clock of its latency starts.
		if tok, err = e.tokens.token(actx, job.TargetID, job.OAuth2); err != nil {
			return e.tokenFailure(ctx, o, job.OAuth2, err, p.timeout)
		}
		header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
		if o.request.Headers == nil {
			o.request.Headers = map[string]string{}
		}
		o.request.Headers["Authorization"] = apicron.MaskedValue
	}

	tr.start = time.Now()
	resp, err := client.Do(req)
	if tok != nil && resp != nil && resp.StatusCode == http.StatusUnauthorized {
		e.tokens.forget(job.TargetID, tok)
	}
	var truncated, inBody bool
	if resp != nil {
		// With a redirect error, resp is the last response, body closed.
		code := resp.StatusCode
		o.StatusCode = &code
		o.headers = keptHeaders(resp.Header)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			o.retryAfter, o.hasRetryAfter = parseRetryAfter(ra, e.now())
		}
	}
	var full []byte // the whole body, when an assertion reads it
	if err == nil {
		var size int64
		if apicron.NeedsBody(job.Assertions) {
			size, o.body, full, truncated, err = readWholeBody(resp.Body, e.maxBody)
		} else {
			size, o.body, truncated, err = readBody(resp.Body, e.maxBody)
		}
		resp.Body.Close()
		o.ResponseSize = &size
		inBody = err != nil
	}
	latency := msSince(tr.start)
	o.LatencyMs = &latency
	o.Timings = tr.timings()
	o.FinishedAt = e.now()

	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			// Shutdown, whatever error the transport made of it (a closed
			// connection mid-body, say).
			err = context.Canceled
		}
		o.Status, o.ErrorType = Classify(err)
		o.ErrorMessage = describe(err, o.ErrorType, p.timeout, inBody)
		return o
	}
	if truncated {
		// The response never ended within what apicron reads: whatever its
		// status, the run did not get a whole answer, and an endless body
		// must not pass for a success.
		o.Status, o.ErrorType = apicron.Failed, apicron.ErrBodyTooLarge
		o.ErrorMessage = fmt.Sprintf("HTTP %d with a response body over %d bytes; reading stopped there", *o.StatusCode, e.maxBody)
		return o
	}
	if len(job.Assertions) > 0 {
		e.assert(&o, job.Assertions, &response{code: *o.StatusCode, latencyMs: latency, header: resp.Header, body: full,
			cut: o.ResponseSize != nil && *o.ResponseSize > int64(len(full))})
		return o
	}
	o.Status, o.ErrorType = ClassifyStatus(*o.StatusCode)
	o.ErrorMessage = statusMessage(*o.StatusCode)
	return o
}

// assert classifies a response by its assertions. A status assertion says
// which codes succeed (without one, 2xx do); a code it refuses keeps its
// class when it is a 4xx or 5xx (http_4xx, http_5xx: retried as they would
// be) and is an assertion failure otherwise. The other assertions are
// checked, in order, on a response whose code passed: the first that fails
// makes the run FAILED with error type assertion, naming it and what it saw.
func (e *Executor) assert(o *outcome, list []apicron.Assertion, r *response) {
	has, failed := statusAllowed(list, r.code)
	switch {
	case has && failed != nil:
		o.Status, o.ErrorType = ClassifyStatus(r.code)
		if o.Status == apicron.Success || o.ErrorType == apicron.ErrOther {
			o.Status, o.ErrorType = apicron.Failed, apicron.ErrAssertion
		}
		o.ErrorMessage, o.FailedAssertion = assertionMessage(failed), failed
		return
	case !has:
		o.Status, o.ErrorType = ClassifyStatus(r.code)
		o.ErrorMessage = statusMessage(r.code)
		if o.Status != apicron.Success {
			return
		}
	}
	if f := checkRest(list, r); f != nil {
		o.Status, o.ErrorType = apicron.Failed, apicron.ErrAssertion
		o.ErrorMessage, o.FailedAssertion = assertionMessage(f), f
		return
	}
	o.Status, o.ErrorType, o.ErrorMessage = apicron.Success, "", ""
}

func assertionMessage(f *apicron.AssertionFailure) string {
	return fmt.Sprintf("assertion %d failed: want %s, got %s", f.Index, f.Expected, f.Actual)
}

// failed finishes an attempt that ended before any request was sent.
func (e *Executor) failed(o outcome, err error) outcome {
	o.FinishedAt = e.now()
	o.Status, o.ErrorType = Classify(err)
	o.ErrorMessage = describe(err, o.ErrorType, 0, false)
	return o
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t)) / float64(time.Millisecond)
}

// keptHeaderNames are the response headers a result keeps, canonical key
// first, name as reported second.
var keptHeaderNames = [...][2]string{
	{"Content-Type", "Content-Type"},
	{"Content-Length", "Content-Length"},
	{"Location", "Location"},
	{"Retry-After", "Retry-After"},
	{"Server", "Server"},
	{"Date", "Date"},
	{"Etag", "ETag"},
	{"Last-Modified", "Last-Modified"},
	{"Cache-Control", "Cache-Control"},
}

// keptHeaders returns the present keptHeaderNames, repeated values joined
// with ", ", each cut to maxHeaderValue bytes of valid UTF-8; nil if none.
func keptHeaders(h http.Header) map[string]string {
	var m map[string]string
	for _, kn := range keptHeaderNames {
		vs := h[kn[0]]
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		if len(vs) > 1 {
			v = strings.Join(vs, ", ")
		}
		if m == nil {
			m = make(map[string]string, 6)
		}
		m[kn[1]] = truncateText(v, maxHeaderValue)
	}
	return m
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date
// taken relative to now. A date in the past means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter + time.Second, true // anything over the limit is as good
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// statusMessage is the error message of a response with code: empty for 2xx.
func statusMessage(code int) string {
	if code >= 200 && code < 300 {
		return ""
	}
	msg := "HTTP " + strconv.Itoa(code)
	if text := http.StatusText(code); text != "" {
		msg += " " + text
	}
	if code >= 300 && code < 400 {
		msg += ": 3xx response not followed"
	}
	return msg
}
