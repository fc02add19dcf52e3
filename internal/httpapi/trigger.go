package httpapi

import (
	"context"
	"net/http"

	"github.com/apicron/apicron"
)

type triggerInput struct {
	ID    int64 `path:"id" doc:"Resource id"`
	Force bool  `query:"force" doc:"Run even when a run of the schedule is in flight (the overlap policy is skip: one at a time)"`
}

// TriggeredRun is the answer of POST /schedules/{id}/trigger.
type TriggeredRun struct {
	RunID       int64  `json:"run_id" example:"42" doc:"The run's id: GET /runs/{run_id} shows it, RUNNING until it finishes"`
	ScheduleID  int64  `json:"schedule_id" example:"1"`
	ScheduledAt string `json:"scheduled_at" format:"date-time" doc:"When it was asked for; the run's scheduled_at"`
	Trigger     string `json:"trigger" enum:"manual"`
	Forced      bool   `json:"forced" doc:"Whether force=true let it overlap a run in flight"`
}

type triggerOutput struct {
	Status int
	Body   TriggeredRun
}

func (s *Server) triggerSchedule(ctx context.Context, in *triggerInput) (*triggerOutput, error) {
	if s.runner == nil || s.dispatcher == nil {
		return nil, s.apiError(ctx, "trigger schedule", apicron.Errorf(apicron.EUNAVAILABLE, "this server runs no engine: manual runs are not available"))
	}
	job, err := s.runner.TriggerRun(ctx, in.ID, in.Force)
	if err != nil {
		return nil, s.apiError(ctx, "trigger schedule", err)
	}
	s.dispatcher.Submit(job)
	return &triggerOutput{Status: http.StatusAccepted, Body: TriggeredRun{RunID: job.RunID, ScheduleID: job.ScheduleID,
		ScheduledAt: formatTime(job.ScheduledAt), Trigger: string(job.Trigger), Forced: in.Force}}, nil
}

// TargetTest is the answer of POST /targets/{id}/test: what one request to
// the target came to. Nothing is stored.
type TargetTest struct {
	Status          string            `json:"status" enum:"SUCCESS,FAILED,TIMEOUT,DNS_ERROR,CONNECTION_ERROR" doc:"The class a run would record"`
	StatusCode      *int              `json:"status_code"`
	LatencyMs       *float64          `json:"latency_ms"`
	ResponseSize    *int64            `json:"response_size"`
	ErrorType       *string           `json:"error_type" doc:"http_4xx, http_5xx, timeout, dns, connection, tls, blocked, ..."`
	ErrorMessage    *string           `json:"error_message"`
	Timings         Timings           `json:"timings"`
	RequestMethod   string            `json:"request_method"`
	RequestURL      string            `json:"request_url" doc:"The URL sent, its templates rendered"`
	RequestHeaders  map[string]string `json:"request_headers" example:"{\"Authorization\": \"********\", \"X-Team\": \"payments\"}" doc:"The target's own headers as sent, templates rendered, secret values masked as ********; the headers every run carries (X-Apicron-*, Idempotency-Key, Webhook-*, the default User-Agent) are not repeated. Empty for runs recorded before apicron kept them"`
	StartedAt       string            `json:"started_at" format:"date-time"`
	FinishedAt      string            `json:"finished_at" format:"date-time"`
	ResponseBody    *string           `json:"response_body" doc:"The first 10 KiB of the response body"`
	ResponseHeaders map[string]string `json:"response_headers"`
	FailedAssertion *FailedAssertion  `json:"failed_assertion" doc:"The target's success check the response failed, and what it saw; null when none failed"`
}

type targetTestOutput struct {
	Body TargetTest
}

func (s *Server) testTarget(ctx context.Context, in *idPath) (*targetTestOutput, error) {
	if s.runner == nil || s.executor == nil {
		return nil, s.apiError(ctx, "test target", apicron.Errorf(apicron.EUNAVAILABLE, "this server has no executor: target tests are not available"))
	}
	job, err := s.runner.TargetJob(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "test target", err)
	}
	job.ScheduleName = "target-test"
	res := s.executor.Execute(ctx, job)
	headers := res.ResponseHeaders
	if headers == nil {
		headers = map[string]string{}
	}
	return &targetTestOutput{Body: TargetTest{
		Status: string(res.Status), StatusCode: res.StatusCode, LatencyMs: res.LatencyMs, ResponseSize: res.ResponseSize,
		ErrorType: nullString(res.ErrorType), ErrorMessage: nullString(res.ErrorMessage), Timings: newTimings(res.Timings),
		RequestMethod: res.Request.Method, RequestURL: res.Request.URL, RequestHeaders: orEmpty(res.Request.Headers), StartedAt: formatTime(res.StartedAt),
		FinishedAt: formatTime(res.FinishedAt), ResponseBody: nullString(res.ResponseBody), ResponseHeaders: headers,
		FailedAssertion: newFailedAssertion(res.FailedAssertion),
	}}, nil
}
