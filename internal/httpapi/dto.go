package httpapi

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

// The DTOs below are the API's JSON, in snake_case; the domain types carry no
// JSON tags. Instants are strings in apicron.TimeFormat: RFC 3339, UTC,
// milliseconds. The limits the root package defines reach the schema in
// TransformSchema methods (schema.go), not in tags; the domain's Validate
// is the source of truth for the rules.

// Paging is the query parameters of every list: a page of at most 1000
// items, 100 unless limit says otherwise, from offset on. It is exported
// because Huma reads the parameters of an embedded struct only if it is.
type Paging struct {
	Limit  int `query:"limit" default:"100" minimum:"1" maximum:"1000" doc:"Page size"`
	Offset int `query:"offset" default:"0" minimum:"0" doc:"Items to skip"`
}

func (p Paging) page() apicron.Page { return apicron.Page{Limit: p.Limit, Offset: p.Offset} }

// Target is a target as the API returns it. The values of secret headers
// are masked.
type Target struct {
	ID             int64             `json:"id"`
	Name           string            `json:"name"`
	URL            string            `json:"url"`
	Method         string            `json:"method"`
	Headers        map[string]string `json:"headers" doc:"Request headers; the values of secret headers (Authorization, Proxy-Authorization, Cookie, X-Api-Key and those in secret_headers) are shown as ********"`
	SecretHeaders  []string          `json:"secret_headers" nullable:"false" doc:"More headers whose values are write-only"`
	BodyTemplate   *string           `json:"body_template" doc:"Body sent with each request; Go text/template actions such as {{.RunID}} are rendered"`
	TimeoutSeconds *float64          `json:"timeout_seconds" doc:"Per-attempt timeout; null uses the service's DEFAULT_TIMEOUT"`
	MaxRetries     *int              `json:"max_retries" doc:"Retries after a failed attempt; null uses the service's MAX_RETRIES"`
	// AllowInsecureRedirects is Target.AllowInsecureRedirects.
	AllowInsecureRedirects bool        `json:"allow_insecure_redirects" doc:"Whether a request sent over https may follow a redirect to http; when false such a run fails with error_type insecure_redirect"`
	Assertions             []Assertion `json:"assertions" nullable:"false" doc:"The target's success checks; empty: 2xx succeeds"`
	Auth                   *TargetAuth `json:"auth" doc:"Its authentication, secrets masked: basic or bearer (read from its Authorization header) or oauth2_client_credentials; null for none (or another scheme in the header)"`
	ClientCert             *ClientCert `json:"client_cert" doc:"The TLS client certificate its requests present (mutual TLS), the key masked; null for none"`
	SigningSecrets         []string    `json:"signing_secrets" nullable:"false" example:"[\"whsec_********Qk0=\"]" doc:"Its Standard Webhooks signing secrets, masked (write-only): the last four characters tell them apart"`
	RetryOn                []string    `json:"retry_on" nullable:"false" example:"[\"timeout\", \"connection\", \"dns\", \"http_5xx\", \"http_429\"]" doc:"The failures a retry follows (max_retries allowing), the target's or the default ones"`
	RetryBackoffMs         int         `json:"retry_backoff_ms" doc:"The first backoff step: the wait after attempt n is in [s/2, s], s = min(retry_backoff_ms * 2^(n-1), retry_max_backoff_ms), and never less than a Retry-After (up to 5 minutes)"`
	RetryMaxBackoffMs      int         `json:"retry_max_backoff_ms" doc:"The backoff's cap"`
	RateLimit              *RateLimit  `json:"rate_limit" doc:"The requests to its host are paced by this token bucket, shared with every target of the host that has one (the strictest applies), on each node; null: none"`
	// GeneratedSigningSecret is set once, in the answer that generated it.
	GeneratedSigningSecret *string `json:"generated_signing_secret,omitempty" doc:"The secret \"generate\" made, shown this once: keep it where the target verifies signatures"`
	CreatedAt              string  `json:"created_at" format:"date-time"`
	UpdatedAt              string  `json:"updated_at" format:"date-time"`
}

// TargetCreate is the body of POST /targets.
type TargetCreate struct {
	_              struct{}          `json:"-" additionalProperties:"false"`
	Name           string            `json:"name" minLength:"1" example:"httpbin-test"`
	URL            string            `json:"url" example:"https://httpbin.org/get" doc:"Absolute http or https URL; may contain template actions"`
	Method         *string           `json:"method,omitempty" doc:"The HTTP method, in upper or lower case (default GET)" example:"GET"`
	Headers        map[string]string `json:"headers,omitempty" doc:"Request headers; values may contain template actions. The values of Authorization, Proxy-Authorization, Cookie, X-Api-Key and the headers in secret_headers are write-only: responses show ********" example:"{\"User-Agent\":\"API-Scheduler/1.0\"}"`
	SecretHeaders  []string          `json:"secret_headers,omitempty" doc:"Names of more headers whose values are write-only (case-insensitive)" example:"[\"X-Signature\"]"`
	BodyTemplate   *string           `json:"body_template,omitempty" nullable:"true"`
	TimeoutSeconds *float64          `json:"timeout_seconds,omitempty" nullable:"true" exclusiveMinimum:"0"`
	MaxRetries     *int              `json:"max_retries,omitempty" nullable:"true" minimum:"0"`
	// AllowInsecureRedirects, absent, is false.
	AllowInsecureRedirects bool        `json:"allow_insecure_redirects,omitempty" doc:"Let a request sent over https follow a redirect to http (default false: such a run fails with error_type insecure_redirect, since what the request carries would travel in clear)"`
	Auth                   *TargetAuth `json:"auth,omitempty" doc:"Authenticate every request: {\"type\": \"basic\", \"username\": ..., \"password\": ...} or {\"type\": \"bearer\", \"token\": ...}, which become the Authorization header, write-only and encrypted at rest like any secret header; or {\"type\": \"oauth2_client_credentials\", \"token_url\": ..., \"client_id\": ..., \"client_secret\": ..., \"scopes\": [...]}, whose token, fetched and cached until it expires, is sent as a Bearer Authorization header (a failure to get one: FAILED, error_type oauth2). Not with an Authorization header too"`
	ClientCert             *ClientCert `json:"client_cert,omitempty" doc:"A TLS client certificate for every request (mutual TLS): the PEM chain and its key, checked to be a pair when saved"`
	RetryOn                *[]string   `json:"retry_on,omitempty" nullable:"true" doc:"Which failures are retried: timeout, connection, dns, tls, http_5xx, http_429, http_4xx (other than 429), assertion. Default (absent or null): timeout, connection, dns, http_5xx, http_429; [] retries none"`
	RetryBackoffMs         *int        `json:"retry_backoff_ms,omitempty" nullable:"true" minimum:"10" maximum:"3600000" doc:"The first backoff step in ms (default 500)"`
	RetryMaxBackoffMs      *int        `json:"retry_max_backoff_ms,omitempty" nullable:"true" minimum:"10" maximum:"3600000" doc:"The backoff's cap in ms (default 30000)"`
	RateLimit              *RateLimit  `json:"rate_limit,omitempty" doc:"Pace the requests to the target's host: at most per_second on average, burst at once. Every attempt, retries too, takes a token; a run whose turn would come at or after its schedule's next occurrence is not sent (FAILED, error_type rate_limit). Targets of one host share one bucket at the strictest of their limits; each node enforces it on its own requests. Absent or null: none"`
	SigningSecrets         []string    `json:"signing_secrets,omitempty" maxItems:"2" example:"[\"generate\"]" doc:"Sign every request by the Standard Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature headers) with each secret: whsec_ and the base64 of a 24 to 64 byte key, or \"generate\" for a new one, shown once in the answer. Two during a key rotation: both signatures are sent"`
	Assertions             []Assertion `json:"assertions,omitempty" maxItems:"20" doc:"Success checks, all of which must hold (see Assertion); without a status check 2xx succeeds. A failed check makes the run FAILED with error_type assertion (a 4xx or 5xx a status check refuses keeps http_4xx or http_5xx), and the run's failed_assertion says which and what it saw"`
}

// TargetUpdate is the body of PUT and PATCH /targets/{id}: any subset of the
// fields, an absent one is left as it is. A null timeout_seconds or
// max_retries returns to the service default; a null body_template clears it.
type TargetUpdate struct {
	_                      struct{}           `json:"-" additionalProperties:"false"`
	Name                   *string            `json:"name,omitempty" minLength:"1"`
	URL                    *string            `json:"url,omitempty"`
	Method                 *string            `json:"method,omitempty" doc:"The HTTP method, in upper or lower case"`
	Headers                *map[string]string `json:"headers,omitempty" doc:"Replaces all headers. A secret header sent with the value ******** keeps its stored value, so a target read, edited and sent back keeps its secrets"`
	SecretHeaders          *[]string          `json:"secret_headers,omitempty" doc:"Replaces the names of the headers whose values are write-only"`
	BodyTemplate           *string            `json:"body_template,omitempty" nullable:"true"`
	TimeoutSeconds         *float64           `json:"timeout_seconds,omitempty" nullable:"true" exclusiveMinimum:"0"`
	MaxRetries             *int               `json:"max_retries,omitempty" nullable:"true" minimum:"0"`
	AllowInsecureRedirects *bool              `json:"allow_insecure_redirects,omitempty" doc:"Let a request sent over https follow a redirect to http"`
	Assertions             *[]Assertion       `json:"assertions,omitempty" maxItems:"20" doc:"Replaces the success checks ([] or null: none)"`
	Auth                   *TargetAuth        `json:"auth,omitempty" doc:"Replaces the authentication (basic and bearer: the Authorization header; oauth2_client_credentials, which drops that header); {\"type\": \"none\"} removes it. A password, token or client_secret sent as ******** keeps the stored one"`
	ClientCert             *ClientCert        `json:"client_cert,omitempty" doc:"Replaces the client certificate; null removes it. A key_pem of ******** keeps the stored key (the new cert_pem must match it)"`
	RetryOn                *[]string          `json:"retry_on,omitempty" nullable:"true" doc:"Replaces the retried classes; null returns to the defaults"`
	RetryBackoffMs         *int               `json:"retry_backoff_ms,omitempty" nullable:"true" minimum:"10" maximum:"3600000" doc:"null returns to the default 500"`
	RetryMaxBackoffMs      *int               `json:"retry_max_backoff_ms,omitempty" nullable:"true" minimum:"10" maximum:"3600000" doc:"null returns to the default 30000"`
	RateLimit              *RateLimit         `json:"rate_limit,omitempty" doc:"Replaces the rate limit whole (a burst left out is the default again); null removes it"`
	SigningSecrets         *[]string          `json:"signing_secrets,omitempty" maxItems:"2" doc:"Replaces the signing secrets ([] or null: none). A masked secret as GET shows it keeps that secret, so [\"generate\", \"whsec_********Qk0=\"] adds a new one beside the current one, and [\"whsec_********n8w=\"] later drops the old"`
}

// RateLimit is a target's rate limit: a token bucket per host and node.
type RateLimit struct {
	_         struct{} `json:"-" additionalProperties:"false"`
	PerSecond float64  `json:"per_second" example:"5" doc:"Requests a second to the host, on average; may be fractional (0.5: one every 2 s)"`
	Burst     *int     `json:"burst,omitempty" example:"10" doc:"Requests that may go at once after a quiet spell; default max(1, ceil(per_second))"`
}

func newRateLimit(r *apicron.RateLimit) *RateLimit {
	if r == nil {
		return nil
	}
	return &RateLimit{PerSecond: r.PerSecond, Burst: &r.Burst}
}

// rateLimit is the domain's rate limit of a body's: Burst zero, the
// default, when the body has none (the schema refuses a burst below 1).
func (r *RateLimit) rateLimit() *apicron.RateLimit {
	if r == nil {
		return nil
	}
	out := &apicron.RateLimit{PerSecond: r.PerSecond}
	if r.Burst != nil {
		out.Burst = *r.Burst
	}
	return out
}

// newTarget converts a target for a response, the values of its secret
// headers replaced with apicron.MaskedValue (Target.MaskedHeaders): they
// are write-only.
func newTarget(t *apicron.Target) Target {
	base, most := t.Backoff()
	headers := t.MaskedHeaders()
	secret := t.SecretHeaders
	if secret == nil {
		secret = []string{}
	}
	return Target{
		ID:                     t.ID,
		Name:                   t.Name,
		URL:                    t.URL,
		Method:                 t.Method,
		Headers:                headers,
		SecretHeaders:          secret,
		AllowInsecureRedirects: t.AllowInsecureRedirects,
		Assertions:             fromAssertions(t.Assertions),
		SigningSecrets:         maskSigning(t.SigningSecrets),
		Auth:                   newTargetAuth(t),
		ClientCert:             newClientCert(t.ClientCert),
		RetryOn:                apicron.RetryOnOf(t.RetryOn),
		RetryBackoffMs:         int(base.Milliseconds()),
		RetryMaxBackoffMs:      int(most.Milliseconds()),
		RateLimit:              newRateLimit(t.RateLimit),
		BodyTemplate:           nullString(t.BodyTemplate),
		TimeoutSeconds:         t.TimeoutSeconds,
		MaxRetries:             t.MaxRetries,
		CreatedAt:              formatTime(t.CreatedAt),
		UpdatedAt:              formatTime(t.UpdatedAt),
	}
}

// Schedule is a schedule as the API returns it.
type Schedule struct {
	ID               int64        `json:"id"`
	JobID            string       `json:"job_id" example:"schedule-1" doc:"The engine's key for the schedule's job: schedule-<id>, derived from the id, so it never changes and is the same on every node"`
	Name             string       `json:"name"`
	TargetID         int64        `json:"target_id"`
	ScheduleType     string       `json:"schedule_type" enum:"INTERVAL,WINDOW,CRON,ONCE"`
	IntervalSeconds  *int         `json:"interval_seconds" doc:"Seconds between occurrences; null for CRON and ONCE"`
	DurationSeconds  *int         `json:"duration_seconds" doc:"Window length; WINDOW schedules only"`
	CronExpression   *string      `json:"cron_expression" doc:"When a CRON schedule fires; null for the other kinds"`
	Timezone         string       `json:"timezone" example:"Europe/Paris" doc:"IANA zone whose wall clock a CRON expression reads (INTERVAL and WINDOW are elapsed time and ignore it)"`
	Status           string       `json:"status" enum:"ACTIVE,PAUSED,STOPPED"`
	RunAt            *string      `json:"run_at" format:"date-time" doc:"A ONCE schedule's one occurrence; null for the other kinds"`
	StartAt          *string      `json:"start_at" format:"date-time" doc:"No occurrence before it"`
	EndAt            *string      `json:"end_at" format:"date-time" doc:"No occurrence at or after it"`
	MaxRuns          *int         `json:"max_runs" doc:"The schedule stops once its timetable has fired this many runs (run_count)"`
	RunCount         int64        `json:"run_count" doc:"Runs the schedule's timetable has fired (manual runs and backfills not counted)"`
	JitterSeconds    int          `json:"jitter_seconds" doc:"Each occurrence is delayed by a pseudo-random amount in [0, jitter_seconds), the same on every node"`
	MisfireGrace     *int         `json:"misfire_grace_seconds" doc:"How late an occurrence may still start; a ONCE schedule's run_at may be this far in the past when created"`
	OverlapPolicy    string       `json:"overlap_policy" enum:"skip,buffer_one,allow,replace"`
	MaxParallel      *int         `json:"max_parallel" doc:"With overlap_policy allow: runs in flight at once (null: 10)"`
	MisfirePolicy    string       `json:"misfire_policy" enum:"coalesce,skip,catch_up"`
	CatchUpMax       *int         `json:"catch_up_max" doc:"With misfire_policy catch_up: missed occurrences run at most (null: 10)"`
	Assertions       *[]Assertion `json:"assertions" doc:"The schedule's own success checks, replacing its target's; null: the target's"`
	StoppedReason    *string      `json:"stopped_reason" doc:"Why a STOPPED schedule stopped: window_elapsed, ran_once, once_missed (its run_at passed without a run), once_skipped_overlap, max_runs_reached, end_at_reached or no_more_occurrences"`
	PauseReason      *string      `json:"pause_reason" doc:"The reason a PAUSED schedule was given"`
	PausedUntil      *string      `json:"paused_until" format:"date-time" doc:"When a PAUSED schedule resumes by itself; null: when resumed"`
	NextRunAt        *string      `json:"next_run_at" format:"date-time" doc:"Next occurrence; null unless ACTIVE"`
	NextFireAt       *string      `json:"next_fire_at" format:"date-time" doc:"When the next occurrence is sent: next_run_at plus its jitter"`
	EndsAt           *string      `json:"ends_at" format:"date-time" doc:"When an ACTIVE window closes"`
	RemainingSeconds *float64     `json:"remaining_seconds" doc:"Window time left while a WINDOW schedule is paused"`
	KeepRuns         *int         `json:"keep_runs" doc:"How many finished runs the schedule keeps, its newest; null applies the service's RUN_KEEP_PER_SCHEDULE"`
	Alert            *AlertRule   `json:"alert" doc:"The schedule's alert rule; null: the default rule (GET /alerts/default), if any"`
	AutoPauseAfter   *int         `json:"auto_pause_after" doc:"Pause the schedule after this many consecutive failures; null: never"`
	RetryInterrupted bool         `json:"retry_interrupted" doc:"Run an occurrence again, with the same Idempotency-Key, when its node stopped mid-request (at-least-once); false: recorded INTERRUPTED, never sent again (at-most-once)"`
	AlertState       *AlertState  `json:"alert_state,omitempty" doc:"Its streaks and alert status; GET /schedules/{id} only"`
	Backfill         *Backfill    `json:"backfill,omitempty" doc:"Its latest backfill and its progress; GET /schedules/{id} only (GET /schedules/{id}/backfills lists them all)"`
	CreatedAt        string       `json:"created_at" format:"date-time"`
	UpdatedAt        string       `json:"updated_at" format:"date-time"`
}

// ScheduleCreate is the body of POST /schedules.
type ScheduleCreate struct {
	_               struct{} `json:"-" additionalProperties:"false"`
	Name            string   `json:"name" minLength:"1" example:"every-30-seconds"`
	TargetID        int64    `json:"target_id" minimum:"1" example:"1"`
	ScheduleType    string   `json:"schedule_type" enum:"INTERVAL,WINDOW,CRON,ONCE" example:"INTERVAL"`
	IntervalSeconds *int     `json:"interval_seconds,omitempty" minimum:"1" example:"30" doc:"Seconds between occurrences: required for INTERVAL and WINDOW, refused for CRON and ONCE"`
	DurationSeconds *int     `json:"duration_seconds,omitempty" nullable:"true" minimum:"1" doc:"Required for WINDOW, at least interval_seconds; refused for the others (null is the same as absent)"`
	CronExpression  *string  `json:"cron_expression,omitempty" example:"0 9 * * MON-FRI" doc:"Required for CRON, refused for the others: 5 fields (minute hour day-of-month month day-of-week), 6 with a leading seconds field, or @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly. Day of month and day of week both restricted match either (Vixie cron)"`
	Timezone        *string  `json:"timezone,omitempty" example:"America/New_York" doc:"IANA zone for a CRON expression's wall clock; absent: the service's SCHEDULER_TIMEZONE (by default UTC)"`
	KeepRuns        *int     `json:"keep_runs,omitempty" nullable:"true" minimum:"1" doc:"Keep only this many finished runs, the newest: retention deletes older ones. Null or absent applies the service's RUN_KEEP_PER_SCHEDULE (by default no cap)"`
	ScheduleOptions
}

// ScheduleOptions are the bounds and policies a schedule of any kind may set.
type ScheduleOptions struct {
	RunAt         *time.Time   `json:"run_at,omitempty" example:"2026-12-24T09:00:00Z" doc:"Required for ONCE, refused for the others: the one occurrence (RFC 3339). In the past it is refused unless misfire_grace_seconds covers it, and then fires at once"`
	StartAt       *time.Time   `json:"start_at,omitempty" nullable:"true" example:"2026-12-01T14:00:00Z" doc:"No occurrence before it. An INTERVAL or WINDOW grid (and a WINDOW's window) starts there when it is in the future. Refused for ONCE"`
	EndAt         *time.Time   `json:"end_at,omitempty" nullable:"true" example:"2026-12-31T00:00:00Z" doc:"No occurrence at or after it; must be in the future and after start_at. The schedule stops with end_at_reached after its last occurrence. Refused for ONCE"`
	MaxRuns       *int         `json:"max_runs,omitempty" nullable:"true" minimum:"1" maximum:"1000000000" doc:"Stop (max_runs_reached) once the timetable has fired this many runs; an occurrence skipped for overlap does not count. Refused for ONCE"`
	JitterSeconds *int         `json:"jitter_seconds,omitempty" minimum:"0" maximum:"3600" doc:"Delay each occurrence by a pseudo-random amount in [0, jitter_seconds), derived from the schedule and the occurrence, so the same on every node and after a restart; at most interval_seconds. Runs keep the nominal scheduled_at and record jitter_ms. Default 0"`
	MisfireGrace  *int         `json:"misfire_grace_seconds,omitempty" nullable:"true" minimum:"0" maximum:"31536000" doc:"How late an occurrence may still start: beyond it the misfire policy counts it missed (default: no limit for coalesce and catch_up, 1 s for skip). Also lets a ONCE schedule's run_at lie that far in the past"`
	OverlapPolicy *string      `json:"overlap_policy,omitempty" enum:"skip,buffer_one,allow,replace" doc:"What an occurrence does that comes due while a run of the schedule is in flight: skip it (default), wait for it to end then run (buffer_one), run alongside up to max_parallel (allow), or interrupt it and run (replace)"`
	MaxParallel   *int         `json:"max_parallel,omitempty" nullable:"true" minimum:"1" maximum:"1000" doc:"With overlap_policy allow: how many runs may be in flight at once (default 10)"`
	MisfirePolicy *string      `json:"misfire_policy,omitempty" enum:"coalesce,skip,catch_up" doc:"What occurrences missed while apicron was down or overloaded do: one run for the latest (coalesce, default), none (skip), or each in turn, oldest first (catch_up)"`
	CatchUpMax    *int         `json:"catch_up_max,omitempty" nullable:"true" minimum:"1" maximum:"1000" doc:"With misfire_policy catch_up: at most this many missed occurrences run, the newest (default 10)"`
	Assertions    *[]Assertion `json:"assertions,omitempty" nullable:"true" maxItems:"20" doc:"Success checks for this schedule's runs, replacing its target's (as the target's assertions; [] for none); null or absent: the target's"`
	// Alert is the schedule's alert rule; null in an update returns to the default rule.
	Alert            *AlertRuleBody `json:"alert,omitempty" doc:"When to tell whom about this schedule's failures: {\"notifier_ids\": [1], \"failure_threshold\": 3, \"success_threshold\": 1, \"realert_minutes\": 60}. Absent or null: the default rule (PUT /alerts/default), if any; {\"notifier_ids\": []}: no alerts"`
	AutoPauseAfter   *int           `json:"auto_pause_after,omitempty" nullable:"true" minimum:"1" maximum:"10000" example:"15" doc:"Pause the schedule after this many consecutive failures, with a pause_reason naming the last error (and an auto_paused alert); null or absent: never. A resume starts the count again"`
	RetryInterrupted *bool          `json:"retry_interrupted,omitempty" example:"true" doc:"At-least-once: an occurrence whose node stopped mid-request (killed, cut off from the database, shut down past SHUTDOWN_GRACE) is run again, with the same Idempotency-Key and an X-Apicron-Rerun header, at most 3 times and only before the next occurrence is due; the run records reruns and rerun_reason. Default false: such a run is recorded INTERRUPTED and never sent again (at-most-once)"`
}

// ScheduleUpdate is the body of PUT and PATCH /schedules/{id}: any subset of
// the fields, an absent one is left as it is. A null keep_runs returns to the
// service default.
type ScheduleUpdate struct {
	_               struct{} `json:"-" additionalProperties:"false"`
	Name            *string  `json:"name,omitempty" minLength:"1"`
	TargetID        *int64   `json:"target_id,omitempty" minimum:"1"`
	ScheduleType    *string  `json:"schedule_type,omitempty" enum:"INTERVAL,WINDOW,CRON,ONCE"`
	IntervalSeconds *int     `json:"interval_seconds,omitempty" minimum:"1"`
	DurationSeconds *int     `json:"duration_seconds,omitempty" minimum:"1"`
	CronExpression  *string  `json:"cron_expression,omitempty" doc:"A CRON schedule's new expression; its next occurrence becomes the new expression's first from now"`
	Timezone        *string  `json:"timezone,omitempty" doc:"New IANA zone; a CRON schedule's next occurrence is planned again in it"`
	KeepRuns        *int     `json:"keep_runs,omitempty" nullable:"true" minimum:"1" doc:"Keep only this many finished runs; null returns to the service's RUN_KEEP_PER_SCHEDULE"`
	ScheduleOptions
}

// jobID is the key of a schedule's job in the engine. It is derived, not
// stored: the engine keys its timetable by the schedule's id.
func jobID(scheduleID int64) string {
	return "schedule-" + strconv.FormatInt(scheduleID, 10)
}

func newSchedule(s *apicron.Schedule) Schedule {
	out := Schedule{
		ID:               s.ID,
		JobID:            jobID(s.ID),
		Name:             s.Name,
		TargetID:         s.TargetID,
		ScheduleType:     string(s.Type),
		DurationSeconds:  s.DurationSeconds,
		CronExpression:   nullString(s.CronExpression),
		Timezone:         s.Timezone,
		KeepRuns:         s.KeepRuns,
		Status:           string(s.Status),
		StoppedReason:    nullString(s.StoppedReason),
		RunAt:            nullTime(s.RunAt),
		StartAt:          nullTime(s.StartAt),
		EndAt:            nullTime(s.EndAt),
		MaxRuns:          s.MaxRuns,
		RunCount:         s.RunCount,
		JitterSeconds:    s.JitterSeconds,
		MisfireGrace:     s.MisfireGraceSeconds,
		OverlapPolicy:    string(s.OverlapPolicy),
		MaxParallel:      s.MaxParallel,
		MisfirePolicy:    string(s.MisfirePolicy),
		CatchUpMax:       s.CatchUpMax,
		Assertions:       scheduleAssertionsOut(s.Assertions),
		Alert:            newAlertRule(s.Alert),
		AutoPauseAfter:   s.AutoPauseAfter,
		RetryInterrupted: s.RetryInterrupted,
		PauseReason:      nullString(s.PauseReason),
		PausedUntil:      nullTime(s.PausedUntil),
		NextRunAt:        nullTime(s.NextRunAt),
		EndsAt:           nullTime(s.EndsAt),
		CreatedAt:        formatTime(s.CreatedAt),
		UpdatedAt:        formatTime(s.UpdatedAt),
	}
	if s.Type == apicron.Interval || s.Type == apicron.Window {
		out.IntervalSeconds = &s.IntervalSeconds
	}
	if s.NextRunAt != nil {
		out.NextFireAt = nullTime(new(s.FireAt(*s.NextRunAt)))
	}
	if s.RemainingMs != nil {
		rem := float64(*s.RemainingMs) / 1000
		out.RemainingSeconds = &rem
	}
	return out
}

// SchedulePreview is the next occurrences of a schedule, as
// GET /schedules/{id}/preview and POST /schedules/preview return them.
type SchedulePreview struct {
	ScheduleType string              `json:"schedule_type" enum:"INTERVAL,WINDOW,CRON,ONCE"`
	Timezone     string              `json:"timezone" example:"America/New_York"`
	Status       string              `json:"status" enum:"ACTIVE,PAUSED,STOPPED" doc:"A PAUSED schedule is previewed as if resumed now; a STOPPED one has no occurrences"`
	Occurrences  []PreviewOccurrence `json:"occurrences" nullable:"false"`
}

// PreviewOccurrence is one planned fire time.
type PreviewOccurrence struct {
	At        string  `json:"at" format:"date-time" example:"2026-03-08T07:00:00Z" doc:"The instant, in UTC"`
	FireAt    string  `json:"fire_at" format:"date-time" example:"2026-03-08T07:00:04.211Z" doc:"When it is sent: at plus its jitter (at itself without jitter_seconds)"`
	Local     string  `json:"local" example:"2026-03-08T03:00:00-04:00" doc:"The same instant on the schedule's wall clock, with its UTC offset (RFC 3339)"`
	UTCOffset string  `json:"utc_offset" example:"-04:00"`
	Zone      string  `json:"zone" example:"EDT" doc:"The zone's abbreviation at that instant"`
	DSTRule   *string `json:"dst_rule" enum:"gap,first_of_two,both_first,both_second" doc:"Set where a DST rule placed the occurrence: gap (its wall-clock time does not exist that day; it fires at the first instant after the gap), first_of_two (the time happens twice; it fires at the first only), both_first and both_second (the time happens twice and, the hour field matching every hour, it fires at both)"`
}

func newPreview(s *apicron.Schedule, occ []apicron.Occurrence) SchedulePreview {
	out := SchedulePreview{ScheduleType: string(s.Type), Timezone: s.Timezone, Status: string(s.Status),
		Occurrences: make([]PreviewOccurrence, 0, len(occ))}
	loc, err := apicron.LoadZone("timezone", s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	for _, o := range occ {
		l := o.At.In(loc)
		name, _ := l.Zone()
		out.Occurrences = append(out.Occurrences, PreviewOccurrence{
			At: formatTime(o.At), FireAt: formatTime(s.FireAt(o.At)), Local: l.Format(time.RFC3339Nano), UTCOffset: l.Format("-07:00"), Zone: name,
			DSTRule: nullString(o.DST),
		})
	}
	return out
}

// Run is a run as GET /runs lists it.
type Run struct {
	ID           int64    `json:"id"`
	ScheduleID   int64    `json:"schedule_id"`
	TargetID     int64    `json:"target_id"`
	Status       string   `json:"status" enum:"RUNNING,SUCCESS,FAILED,TIMEOUT,DNS_ERROR,CONNECTION_ERROR,INTERRUPTED"`
	ScheduledAt  string   `json:"scheduled_at" format:"date-time"`
	StartedAt    string   `json:"started_at" format:"date-time"`
	FinishedAt   *string  `json:"finished_at" format:"date-time"`
	LatencyMs    *float64 `json:"latency_ms"`
	StatusCode   *int     `json:"status_code"`
	ResponseSize *int64   `json:"response_size"`
	ErrorType    *string  `json:"error_type" doc:"http_4xx, http_5xx, timeout, dns, connection, tls, ..."`
	ErrorMessage *string  `json:"error_message"`
	Missed       int64    `json:"missed" doc:"Earlier occurrences coalesced into this run"`
	LatenessMs   int64    `json:"lateness_ms" doc:"started_at - (scheduled_at + jitter_ms): how late the request left"`
	Trigger      string   `json:"trigger" enum:"schedule,manual,backfill,catch_up" doc:"What started the run: the schedule's timetable, POST /schedules/{id}/trigger, a backfill, or the catch_up misfire policy"`
	JitterMs     int64    `json:"jitter_ms" doc:"How long after scheduled_at the run was due (the schedule's jitter_seconds)"`
	WaitedMs     int64    `json:"waited_ms" example:"1500" doc:"How long the run's requests waited for their host: the target's rate_limit or a HOST_MAX_CONCURRENCY slot, before the first attempt and before each retry; 0 when they did not wait. Part of lateness_ms"`
	Reruns       int      `json:"reruns" example:"0" doc:"How many times the run was sent again because its node stopped mid-request (the schedule's retry_interrupted); 0 for a run sent once"`
	RerunReason  *string  `json:"rerun_reason,omitempty" example:"the node running it stopped (no heartbeat for 5s)" doc:"Why the run was last sent again; absent when reruns is 0. GET /runs/{id} only"`
}

// RunDetail is a run as GET /runs/{id} returns it: a Run with what was
// sent and received, and every attempt.
type RunDetail struct {
	Run
	RequestMethod   *string           `json:"request_method"`
	RequestURL      *string           `json:"request_url"`
	RequestHeaders  map[string]string `json:"request_headers" example:"{\"Authorization\": \"********\", \"X-Team\": \"payments\"}" doc:"The target's own headers as sent, templates rendered, secret values masked as ********; the headers every run carries (X-Apicron-*, Idempotency-Key, Webhook-*, the default User-Agent) are not repeated. Empty for runs recorded before apicron kept them"`
	Timings         Timings           `json:"timings"`
	ResponseBody    *string           `json:"response_body" doc:"The first 10 KiB of the response body"`
	ResponseHeaders map[string]string `json:"response_headers"`
	NodeID          *string           `json:"node_id"`
	FailedAssertion *FailedAssertion  `json:"failed_assertion" doc:"The success check the response failed, and what it saw; null when none failed"`
	Attempts        []Attempt         `json:"attempts" nullable:"false"`
}

// Timings break a request's latency down, in milliseconds; null when a phase did not happen.
type Timings struct {
	DNSMs       *float64 `json:"dns_ms"`
	ConnectMs   *float64 `json:"connect_ms"`
	TLSMs       *float64 `json:"tls_ms"`
	FirstByteMs *float64 `json:"first_byte_ms"`
}

// Attempt is one HTTP request within a run.
type Attempt struct {
	ID            int64    `json:"id" doc:"Set by TransformSchema"`
	RunID         int64    `json:"run_id"`
	AttemptNumber int      `json:"attempt_number"`
	Status        string   `json:"status"`
	StartedAt     string   `json:"started_at" format:"date-time"`
	FinishedAt    string   `json:"finished_at" format:"date-time"`
	LatencyMs     *float64 `json:"latency_ms"`
	StatusCode    *int     `json:"status_code"`
	ResponseSize  *int64   `json:"response_size"`
	ErrorType     *string  `json:"error_type"`
	ErrorMessage  *string  `json:"error_message"`
	Timings       Timings  `json:"timings"`
}

// TransformSchema says how an attempt's id is made, from the constant that makes it.
func (Attempt) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.Properties["id"].Description = fmt.Sprintf("run_id*%d + attempt_number: unique, and stable although a run's only attempt has no row of its own", apicron.AttemptIDBase)
	return s
}

func newRun(r *apicron.Run) Run {
	return Run{
		ID:           r.ID,
		ScheduleID:   r.ScheduleID,
		TargetID:     r.TargetID,
		Status:       string(r.Status),
		ScheduledAt:  formatTime(r.ScheduledAt),
		StartedAt:    formatTime(r.StartedAt),
		FinishedAt:   nullTime(r.FinishedAt),
		LatencyMs:    r.LatencyMs,
		StatusCode:   r.StatusCode,
		ResponseSize: r.ResponseSize,
		ErrorType:    nullString(r.ErrorType),
		ErrorMessage: nullString(r.ErrorMessage),
		Missed:       r.Missed,
		LatenessMs:   r.StartedAt.Sub(r.ScheduledAt.Add(r.Jitter)).Milliseconds(),
		Trigger:      string(r.Trigger),
		JitterMs:     r.Jitter.Milliseconds(),
		WaitedMs:     r.Waited.Milliseconds(),
		Reruns:       r.Reruns,
		RerunReason:  nullString(r.RerunReason),
	}
}

func newRunDetail(r *apicron.Run) RunDetail {
	headers := r.ResponseHeaders
	if headers == nil {
		headers = map[string]string{}
	}
	out := RunDetail{
		Run:             newRun(r),
		RequestMethod:   nullString(r.Request.Method),
		RequestURL:      nullString(r.Request.URL),
		RequestHeaders:  orEmpty(r.Request.Headers),
		Timings:         newTimings(r.Timings),
		ResponseBody:    nullString(r.ResponseBody),
		ResponseHeaders: headers,
		NodeID:          nullString(r.NodeID),
		FailedAssertion: newFailedAssertion(r.FailedAssertion),
		Attempts:        make([]Attempt, 0, len(r.Attempts)),
	}
	for _, a := range r.Attempts {
		out.Attempts = append(out.Attempts, Attempt{
			ID:            a.ID(),
			RunID:         a.RunID,
			AttemptNumber: a.Number,
			Status:        string(a.Status),
			StartedAt:     formatTime(a.StartedAt),
			FinishedAt:    formatTime(a.FinishedAt),
			LatencyMs:     a.LatencyMs,
			StatusCode:    a.StatusCode,
			ResponseSize:  a.ResponseSize,
			ErrorType:     nullString(a.ErrorType),
			ErrorMessage:  nullString(a.ErrorMessage),
			Timings:       newTimings(a.Timings),
		})
	}
	return out
}

func newTimings(t apicron.Timings) Timings {
	return Timings{DNSMs: t.DNSMs, ConnectMs: t.ConnectMs, TLSMs: t.TLSMs, FirstByteMs: t.FirstByteMs}
}

// SystemMetrics is the body of GET /metrics.
type SystemMetrics struct {
	TotalTargets      int64            `json:"total_targets"`
	TotalSchedules    int64            `json:"total_schedules"`
	SchedulesByStatus map[string]int64 `json:"schedules_by_status" doc:"Every schedule status, zeros included"`
	TotalRuns         int64            `json:"total_runs" doc:"Finished runs"`
	RunsLastHour      int64            `json:"runs_last_hour"`
	SuccessRate       float64          `json:"success_rate" doc:"Percentage of finished runs that succeeded, 0 to 100"`
	AvgLatencyMs      float64          `json:"avg_latency_ms" doc:"Mean latency of finished runs, ms (exact)"`
	P50LatencyMs      float64          `json:"p50_latency_ms" doc:"Median latency of finished runs, ms; an estimate from a histogram with buckets about 5% wide, clamped to the observed range"`
	P95LatencyMs      float64          `json:"p95_latency_ms" doc:"95th percentile latency, ms; an estimate from a histogram with buckets about 5% wide, clamped to the observed range"`
	P99LatencyMs      float64          `json:"p99_latency_ms" doc:"99th percentile latency, ms; an estimate from a histogram with buckets about 5% wide, clamped to the observed range"`
	RunsByStatus      map[string]int64 `json:"runs_by_status" doc:"Every run status, zeros included"`
	SkippedOverlap    int64            `json:"skipped_overlap" doc:"Occurrences skipped because the previous run was still going"`
	Missed            int64            `json:"missed" doc:"Occurrences coalesced into a later run"`
	RunningRuns       int64            `json:"running_runs"`
}

func newSystemMetrics(m *apicron.SystemMetrics) SystemMetrics {
	return SystemMetrics{
		TotalTargets:      m.TotalTargets,
		TotalSchedules:    m.TotalSchedules,
		SchedulesByStatus: scheduleCounts(m.SchedulesByStatus),
		TotalRuns:         m.TotalRuns,
		RunsLastHour:      m.RunsLastHour,
		SuccessRate:       round2(m.SuccessRate), // the store reports a percentage
		AvgLatencyMs:      round2(m.AvgLatencyMs),
		P50LatencyMs:      round2(m.P50LatencyMs),
		P95LatencyMs:      round2(m.P95LatencyMs),
		P99LatencyMs:      round2(m.P99LatencyMs),
		RunsByStatus:      runCounts(m.RunsByStatus),
		SkippedOverlap:    m.SkippedOverlap,
		Missed:            m.Missed,
		RunningRuns:       m.RunningRuns,
	}
}

// ScheduleMetrics is one item of GET /metrics/schedules.
type ScheduleMetrics struct {
	ScheduleID     int64            `json:"schedule_id"`
	ScheduleName   string           `json:"schedule_name"`
	Status         string           `json:"status" enum:"ACTIVE,PAUSED,STOPPED"`
	TotalRuns      int64            `json:"total_runs"`
	SuccessfulRuns int64            `json:"successful_runs"`
	FailedRuns     int64            `json:"failed_runs"`
	AvgLatencyMs   float64          `json:"avg_latency_ms"`
	P50LatencyMs   float64          `json:"p50_latency_ms" doc:"Median latency of the schedule's finished runs, ms; an estimate from a histogram with buckets about 5% wide, clamped to the observed range"`
	P95LatencyMs   float64          `json:"p95_latency_ms" doc:"95th percentile latency, ms; an estimate, as p50_latency_ms"`
	P99LatencyMs   float64          `json:"p99_latency_ms" doc:"99th percentile latency, ms; an estimate, as p50_latency_ms"`
	RunsByStatus   map[string]int64 `json:"runs_by_status"`
	LastRunAt      *string          `json:"last_run_at" format:"date-time"`
	LastStatus     *string          `json:"last_status"`
	NextRunAt      *string          `json:"next_run_at" format:"date-time"`
	SkippedOverlap int64            `json:"skipped_overlap"`
	Missed         int64            `json:"missed"`
}

func newScheduleMetrics(m *apicron.ScheduleMetrics) ScheduleMetrics {
	out := ScheduleMetrics{
		ScheduleID:     m.ScheduleID,
		ScheduleName:   m.ScheduleName,
		Status:         string(m.Status),
		TotalRuns:      m.TotalRuns,
		SuccessfulRuns: m.SuccessfulRuns,
		FailedRuns:     m.FailedRuns,
		AvgLatencyMs:   round2(m.AvgLatencyMs),
		P50LatencyMs:   round2(m.P50LatencyMs),
		P95LatencyMs:   round2(m.P95LatencyMs),
		P99LatencyMs:   round2(m.P99LatencyMs),
		RunsByStatus:   runCounts(m.RunsByStatus),
		LastRunAt:      nullTime(m.LastRunAt),
		NextRunAt:      nullTime(m.NextRunAt),
		SkippedOverlap: m.SkippedOverlap,
		Missed:         m.Missed,
	}
	if m.LastStatus != nil {
		s := string(*m.LastStatus)
		out.LastStatus = &s
	}
	return out
}

func scheduleCounts(in map[apicron.ScheduleStatus]int64) map[string]int64 {
	out := make(map[string]int64, len(apicron.ScheduleStatuses))
	for _, st := range apicron.ScheduleStatuses {
		out[string(st)] = in[st]
	}
	return out
}

func runCounts(in map[apicron.RunStatus]int64) map[string]int64 {
	out := make(map[string]int64, len(apicron.RunStatuses))
	for _, st := range apicron.RunStatuses {
		out[string(st)] = in[st]
	}
	return out
}

func formatTime(t time.Time) string {
	return t.UTC().Format(apicron.TimeFormat)
}

func nullTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func round2(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*100) / 100
}

func scheduleAssertionsOut(list *[]apicron.Assertion) *[]Assertion {
	if list == nil {
		return nil
	}
	out := fromAssertions(*list)
	return &out
}

func maskSigning(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, apicron.MaskSigningSecret(s))
	}
	return out
}

// orEmpty is m, or an empty map for nil: a JSON object either way.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
