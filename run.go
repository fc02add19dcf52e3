package apicron

import (
	"context"
	"reflect"
	"time"
)

// RunStatus is the outcome of a run, or RUNNING while it is in flight.
type RunStatus string

// Run statuses. A finished run's status is its last attempt's.
const (
	Running         RunStatus = "RUNNING"
	Success         RunStatus = "SUCCESS"
	Failed          RunStatus = "FAILED"
	Timeout         RunStatus = "TIMEOUT"
	DNSError        RunStatus = "DNS_ERROR"
	ConnectionError RunStatus = "CONNECTION_ERROR"
	// Interrupted marks a run whose process stopped or died before it finished.
	Interrupted RunStatus = "INTERRUPTED"
)

// RunStatuses lists every run status.
var RunStatuses = []RunStatus{Running, Success, Failed, Timeout, DNSError, ConnectionError, Interrupted}

// Error types, the finer classification a run or attempt records.
const (
	ErrHTTP4xx       = "http_4xx"
	ErrHTTP5xx       = "http_5xx"
	ErrTimeout       = "timeout"
	ErrDNS           = "dns"
	ErrConnection    = "connection"
	ErrTLS           = "tls"
	ErrRedirectLimit = "redirect_limit"
	// ErrInsecureRedirect: a request sent over https was redirected to
	// http, and its target does not allow that.
	ErrInsecureRedirect = "insecure_redirect"
	ErrTemplate         = "template"
	ErrOther            = "other"
	ErrInterrupted      = "interrupted"
	ErrBodyTooLarge     = "body_too_large"
	ErrBlocked          = "blocked"
	ErrResponseHeader   = "response_headers"
	// ErrHostLimit: the run waited for a slot of its host (HOST_MAX_CONCURRENCY)
	// until its schedule's next occurrence came, and was not sent.
	ErrHostLimit = "host_limit"
	// ErrOAuth2: the target's OAuth 2.0 token could not be had (the token
	// endpoint failed, refused the credentials or could not be reached), so
	// the request was not sent.
	ErrOAuth2 = "oauth2"
	// ErrRateLimit: the run's turn under its host's rate limit (its
	// target's rate_limit) would have come at or after its schedule's next
	// occurrence, and it was not sent.
	ErrRateLimit = "rate_limit"
)

// Trigger says what started a run.
type Trigger string

// Triggers.
const (
	// TriggerSchedule: the schedule's timetable.
	TriggerSchedule Trigger = "schedule"
	// TriggerManual: POST /schedules/{id}/trigger.
	TriggerManual Trigger = "manual"
	// TriggerBackfill: POST /schedules/{id}/backfill.
	TriggerBackfill Trigger = "backfill"
	// TriggerCatchUp: a missed occurrence run late by the catch_up misfire policy.
	TriggerCatchUp Trigger = "catch_up"
)

// Triggers lists every trigger.
var Triggers = []Trigger{TriggerSchedule, TriggerManual, TriggerBackfill, TriggerCatchUp}

// MaxStoredBody is how much of a response body a run keeps.
const MaxStoredBody = 10 << 10

// Run is one occurrence of a schedule: claimed, executed, recorded.
type Run struct {
	ID          int64
	ScheduleID  int64
	TargetID    int64
	ScheduledAt time.Time
	StartedAt   time.Time
	FinishedAt  *time.Time
	Missed      int64 // earlier occurrences coalesced into this run
	// Trigger is what started the run.
	Trigger Trigger
	// Jitter is how long after ScheduledAt the run was due (jitter_seconds).
	Jitter time.Duration
	// Outcome is the last attempt's; while RUNNING only its Status is set.
	Outcome
	Request RequestInfo
	// ResponseBody is the first MaxStoredBody bytes of the response body.
	ResponseBody    string
	ResponseHeaders map[string]string
	Attempts        []Attempt // filled by FindRunByID only
	NodeID          string
	// Waited is how long the run's requests waited for their host: its
	// rate limit or a HOST_MAX_CONCURRENCY slot, before the first attempt
	// and before each retry; zero when they did not wait.
	Waited time.Duration
	// Reruns is how many times the run was given back to be run again
	// because its node stopped mid-request (the schedule's
	// retry_interrupted), and RerunReason why the last time; 0 and empty
	// for a run sent once.
	Reruns      int
	RerunReason string
}

// Timings break a request's latency down, in milliseconds; nil when a phase did not happen.
type Timings struct {
	DNSMs       *float64
	ConnectMs   *float64
	TLSMs       *float64
	FirstByteMs *float64
}

// RequestInfo is what was actually sent, after templates were rendered.
type RequestInfo struct {
	Method string
	URL    string
	// Headers are the target's own headers as sent, their templates
	// rendered and the secret ones' values MaskedValue (an OAuth 2.0
	// token shows as a masked Authorization); nil when it has none. The
	// headers every run carries (X-Apicron-*, Idempotency-Key, Webhook-*,
	// a default User-Agent) are not repeated.
	Headers map[string]string
}

// Outcome is what one HTTP request came to: its class, how long it took,
// what it answered and, when it failed, why. Attempts, results and runs
// share it: a run's outcome is its last attempt's.
type Outcome struct {
	Status       RunStatus
	LatencyMs    *float64
	StatusCode   *int
	ResponseSize *int64
	ErrorType    string
	ErrorMessage string
	Timings      Timings
	// FailedAssertion is the assertion the response failed (ErrorType
	// ErrAssertion, or an http_4xx or http_5xx a status assertion refused).
	FailedAssertion *AssertionFailure
}

// Equal reports whether o and p hold the same values (not the same pointers).
func (o Outcome) Equal(p Outcome) bool {
	return o.Status == p.Status && equalPtr(o.LatencyMs, p.LatencyMs) && equalPtr(o.StatusCode, p.StatusCode) &&
		equalPtr(o.ResponseSize, p.ResponseSize) && o.ErrorType == p.ErrorType && o.ErrorMessage == p.ErrorMessage &&
		o.Timings.Equal(p.Timings) && reflect.DeepEqual(o.FailedAssertion, p.FailedAssertion)
}

// Equal reports whether t and u hold the same values.
func (t Timings) Equal(u Timings) bool {
	return equalPtr(t.DNSMs, u.DNSMs) && equalPtr(t.ConnectMs, u.ConnectMs) && equalPtr(t.TLSMs, u.TLSMs) &&
		equalPtr(t.FirstByteMs, u.FirstByteMs)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// AttemptIDBase spaces attempt ids: attempt n of run r has the id
// r*AttemptIDBase + n, unique and stable without a row of its own (a run's
// only attempt is kept in the run's row).
const AttemptIDBase = 100

// Attempt is one HTTP request within a run.
type Attempt struct {
	RunID      int64
	Number     int
	StartedAt  time.Time
	FinishedAt time.Time
	Outcome
}

// ID is the attempt's id, derived from its run and number (see AttemptIDBase).
func (a *Attempt) ID() int64 { return a.RunID*AttemptIDBase + int64(a.Number) }

// Job is a claimed occurrence, self-contained: everything the executor needs,
// copied from the target at claim time so that an edit to the target while
// the run is in flight does not change what it sends or records.
type Job struct {
	RunID        int64
	ScheduleID   int64
	ScheduleName string
	TargetID     int64
	ScheduledAt  time.Time
	Missed       int64
	// Jitter delays the request past ScheduledAt (FireAt).
	Jitter time.Duration
	// Trigger is what started the run.
	Trigger Trigger
	// Replaceable says the schedule's overlap policy is replace: its next
	// occurrence may interrupt this run, so the engine keeps a way to stop it.
	Replaceable bool
	// Replaced lists the runs a manual run interrupted (overlap_policy
	// replace), for the engine to stop their requests.
	Replaced []int64
	// Assertions are the success checks of the response: the schedule's,
	// or its target's when it has none.
	Assertions []Assertion
	// SigningSecrets are the target's: each request is signed with each.
	SigningSecrets []string
	// OAuth2 is the target's: each request carries a token of its client
	// credentials grant as its Authorization header.
	OAuth2 *OAuth2
	// ClientCert is the target's: presented in each TLS handshake.
	ClientCert *ClientCert
	// RetryOn is the target's retry classes (nil: DefaultRetryOn);
	// BackoffBase and BackoffCap its backoff (zero: the executor's defaults).
	RetryOn                 []string
	BackoffBase, BackoffCap time.Duration
	Method                  string
	URL                     string // template
	Headers                 map[string]string
	// SecretHeaders is the target's: the headers, besides
	// DefaultSecretHeaders, whose values are secret (IsSecretHeader). The
	// executor quotes nothing of their templates in a run or a log.
	SecretHeaders []string
	BodyTemplate  string
	// Timeout bounds each attempt; zero means the executor's default.
	Timeout time.Duration
	// MaxRetries is how many attempts may follow the first; negative means
	// the executor's default (MAX_RETRIES).
	MaxRetries int
	// AllowInsecureRedirects is the target's: an https request may follow a
	// redirect to http.
	AllowInsecureRedirects bool
	// RetryDeadline is the schedule's next occurrence: no retry starts at or after it.
	// Zero means no bound.
	RetryDeadline time.Time
	// RateLimit is the target's (nil: none): the engine paces the job's
	// requests to its host by it.
	RateLimit *RateLimit
	// Pace, set by the engine for a job with a RateLimit, waits for the
	// turn of a retry under the limit, and reports how long it waited and
	// whether the retry may go (not when ctx ended, nor when its turn comes
	// at or after RetryDeadline). The executor calls it before each attempt
	// after the first; nil: retries are not paced.
	Pace func(ctx context.Context) (waited time.Duration, ok bool)
	// Fence, set by the engine on a node of a cluster, says whether this
	// node may still send the job's request: nil, or why not (the run was
	// reaped while the node was paused or cut off from the database). The
	// engine calls it before the first attempt, the executor before each
	// retry, and no attempt follows a refusal. nil: no fence (one node).
	Fence func(ctx context.Context) error
	// DecryptError, when set, says which secret header values the store
	// could not decrypt (SECRET_KEY missing or wrong); their values in
	// Headers are empty. The executor sends nothing and records the run
	// FAILED with error type other and this message.
	DecryptError string
	// RetryInterrupted is the schedule's retry_interrupted when claimed:
	// the store keeps the job with its run, to run it again should its
	// node stop mid-request.
	RetryInterrupted bool
	// Reruns is Run.Reruns when the job was taken, RerunReason its
	// RerunReason: a job run again after its node stopped. The engine
	// does not run it again once RetryDeadline has come.
	Reruns      int
	RerunReason string
	// TakeToken is the token of the take that gave this node the run, on a
	// shared database (0 otherwise). The run's fence and its result match
	// it: once the run is given back (reaped, or re-queued to run again)
	// and taken anew, by another node or by this one, this sending's
	// retries are not sent and its result is not recorded.
	TakeToken int64
}

// FireAt is when the job's request is due: ScheduledAt plus its jitter.
func (j *Job) FireAt() time.Time { return j.ScheduledAt.Add(j.Jitter) }

// IsSecretHeader reports whether the value of header name is secret: it is
// one of DefaultSecretHeaders or of j.SecretHeaders, in any case.
func (j *Job) IsSecretHeader(name string) bool {
	return isSecretHeader(name, j.SecretHeaders)
}

// RunResult is what the executor reports for a job: a target's 500 or
// timeout is a result, never a Go error.
type RunResult struct {
	RunID      int64
	ScheduleID int64
	StartedAt  time.Time
	FinishedAt time.Time
	// Outcome is the last attempt's.
	Outcome
	Request         RequestInfo
	ResponseBody    string
	ResponseHeaders map[string]string
	Attempts        []Attempt
	// Waited is Run.Waited: the engine's waits before the first attempt,
	// the executor's (Job.Pace) before the retries.
	Waited time.Duration
	// TakeToken is the job's (Job.TakeToken): nonzero, the result is
	// recorded only while the run still carries that take's token.
	TakeToken int64
}

// RunFilter selects runs. Zero fields do not filter. A list is newest
// first: by id, or, with ScheduleID, by scheduled_at (the schedule's own
// order: a page of one schedule's runs reads the schedule's index of runs,
// the (schedule_id, scheduled_at) key on PostgreSQL, run_index and the
// tail's slots on SQLite; see docs/architecture.md).
type RunFilter struct {
	ScheduleID *int64
	TargetID   *int64
	Status     *RunStatus
	// Trigger selects the runs one kind of start made (a filter without an
	// index of its own: the page reads runs until it has enough of them).
	Trigger *Trigger
	Since   *time.Time // scheduled_at >= Since
	Until   *time.Time // scheduled_at < Until
	// BeforeID selects the runs with a lower id: those after the run
	// BeforeID in the list's order, newest first. It is the keyset that
	// pages a list (a cursor): each page costs the same however deep, where
	// an Offset makes the database step over every run before the page. The
	// count ignores it. Lists of one schedule page by BeforeScheduledAt.
	BeforeID int64
	// BeforeScheduledAt, with ScheduleID, selects the runs scheduled
	// before it: the keyset of one schedule's list.
	BeforeScheduledAt *time.Time
	Limit             int
	Offset            int
	// CountLimit stops the count at CountLimit runs: FindRuns then returns
	// a count of at most CountLimit. A count reads every run it counts, a
	// million with a million runs stored.
	CountLimit int
}

// MaxRunOffset bounds a list of runs paged by position: GET /runs accepts an
// offset of at most MaxRunOffset and counts at most that many runs
// (X-Total-Count, with X-Total-Count-Capped when there are more), so that
// every offset below the count it sends is one it accepts. Deeper pages are
// reached with a cursor (RunFilter.BeforeID), whose cost does not grow with
// depth: an offset of a million made the database step over a million runs.
const MaxRunOffset = 10_000

// ScheduleFilter selects schedules.
type ScheduleFilter struct {
	Status   *ScheduleStatus
	TargetID *int64
	Type     *ScheduleType
	// NameContains keeps the schedules whose name contains it, ignoring
	// ASCII case. It reads every row of schedules the other filters leave
	// (there is no index for a substring): bounded by the schedules, never
	// the runs.
	NameContains string
	Limit        int
	Offset       int
}

// Page selects a slice of a list.
type Page struct {
	Limit  int
	Offset int
}

// MaxScheduleLabels bounds METRICS_SCHEDULE_LABELS: how many schedules
// may have series of their own in the Prometheus exposition.
const MaxScheduleLabels = 10000

// SystemMetrics are the service-wide counters behind GET /metrics.
type SystemMetrics struct {
	TotalTargets      int64
	TotalSchedules    int64
	SchedulesByStatus map[ScheduleStatus]int64
	TotalRuns         int64 // finished runs
	RunsLastHour      int64
	RunsByStatus      map[RunStatus]int64
	SuccessRate       float64 // percent of finished runs that succeeded, 0..100
	AvgLatencyMs      float64
	P50LatencyMs      float64
	P95LatencyMs      float64
	P99LatencyMs      float64
	SkippedOverlap    int64
	Missed            int64
	RunningRuns       int64
}

// ScheduleMetrics are one schedule's counters behind GET /metrics/schedules.
type ScheduleMetrics struct {
	ScheduleID     int64
	ScheduleName   string
	Status         ScheduleStatus
	TotalRuns      int64
	SuccessfulRuns int64
	FailedRuns     int64
	RunsByStatus   map[RunStatus]int64
	AvgLatencyMs   float64
	P50LatencyMs   float64
	P95LatencyMs   float64
	P99LatencyMs   float64
	LastRunAt      *time.Time
	LastStatus     *RunStatus
	NextRunAt      *time.Time
	SkippedOverlap int64
	Missed         int64
}

// MinuteRuns counts the runs that finished in one minute.
type MinuteRuns struct {
	Minute time.Time // its start, in UTC
	Runs   int64
	// ByStatus counts them by final status (minutes recorded before these
	// counters were kept have Runs only).
	ByStatus map[RunStatus]int64
	// Latency and Lateness are the minute's percentiles in milliseconds
	// (p50, p95, p99; zero without a run that was sent): how long the
	// requests took, and how late they left (started_at less scheduled_at
	// and jitter).
	Latency, Lateness [3]float64
}

// FailingSchedule is a schedule whose latest counted run failed.
type FailingSchedule struct {
	ScheduleID   int64
	ScheduleName string
	Status       ScheduleStatus
	// Alert is its streaks and alert status (failing once a rule's
	// threshold is reached).
	Alert      AlertState
	LastRunAt  *time.Time
	LastStatus *RunStatus
}
