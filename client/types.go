package client

import "github.com/apicron/apicron/internal/httpapi"

// The request and response bodies are the server's own DTOs, so the client
// and the API cannot disagree on a field: these aliases name them outside
// the module. Their fields and JSON names are the REST API's (GET
// /openapi.json documents each).
type (
	// Target is a target as the API returns it, secrets masked.
	Target = httpapi.Target
	// TargetCreate is the body of CreateTarget.
	TargetCreate = httpapi.TargetCreate
	// TargetUpdate is the body of UpdateTarget: any subset of the fields.
	TargetUpdate = httpapi.TargetUpdate
	// TargetAuth is a target's authentication.
	TargetAuth = httpapi.TargetAuth
	// Cert is a target's TLS client certificate (its client_cert).
	Cert = httpapi.ClientCert
	// RateLimit is a target's rate limit.
	RateLimit = httpapi.RateLimit
	// Assertion is one success check of a target or a schedule.
	Assertion = httpapi.Assertion

	// Schedule is a schedule as the API returns it.
	Schedule = httpapi.Schedule
	// ScheduleCreate is the body of CreateSchedule.
	ScheduleCreate = httpapi.ScheduleCreate
	// ScheduleUpdate is the body of UpdateSchedule: any subset of the fields.
	ScheduleUpdate = httpapi.ScheduleUpdate
	// ScheduleOptions are the bounds and policies of ScheduleCreate and ScheduleUpdate.
	ScheduleOptions = httpapi.ScheduleOptions
	// SchedulePreview is the next occurrences of a schedule.
	SchedulePreview = httpapi.SchedulePreview
	// PauseBody is the optional body of PauseSchedule.
	PauseBody = httpapi.PauseBody
	// TriggeredRun is the answer of TriggerSchedule.
	TriggeredRun = httpapi.TriggeredRun
	// AlertRule is an alert rule as the API returns it.
	AlertRule = httpapi.AlertRule
	// AlertRuleBody is an alert rule as a client writes it.
	AlertRuleBody = httpapi.AlertRuleBody

	// Notifier is a notifier as the API returns it, secrets masked.
	Notifier = httpapi.Notifier
	// NotifierCreate is the body of CreateNotifier.
	NotifierCreate = httpapi.NotifierCreate
	// NotifierUpdate is the body of UpdateNotifier.
	NotifierUpdate = httpapi.NotifierUpdate
	// EmailConfig is an email notifier's server and addresses.
	EmailConfig = httpapi.EmailConfig

	// Run is a run as ListRuns returns it.
	Run = httpapi.Run
	// RunDetail is a run with its request, response and attempts.
	RunDetail = httpapi.RunDetail

	// Health is the body of GET /health.
	Health = httpapi.Health
	// SystemMetrics is the body of GET /metrics.
	SystemMetrics = httpapi.SystemMetrics
)
