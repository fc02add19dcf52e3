package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// routes registers the whole API surface. Huma adds /openapi.json and
// /openapi.yaml (and their -3.0 variants) itself; /docs is ours (docs.go).
func (s *Server) routes() {
	api := s.api

	// Targets.
	register(api, op("create-target", http.MethodPost, "/targets", "Create a target", "Targets", http.StatusCreated), s.createTarget)
	register(api, op("list-targets", http.MethodGet, "/targets", "List targets", "Targets", 0), s.listTargets)
	register(api, op("get-target", http.MethodGet, "/targets/{id}", "Get a target", "Targets", 0), s.getTarget)
	register(api, op("update-target", http.MethodPut, "/targets/{id}", "Update a target (any subset of fields)", "Targets", 0), s.updateTarget)
	register(api, op("patch-target", http.MethodPatch, "/targets/{id}", "Update a target (same as PUT)", "Targets", 0), s.updateTarget)
	register(api, conflict(op("delete-target", http.MethodDelete, "/targets/{id}", "Delete a target no schedule uses", "Targets", http.StatusNoContent),
		"Schedules use the target: delete them or point them at another target first"), s.deleteTarget)
	register(api, op("test-target", http.MethodPost, "/targets/{id}/test", "Send a target's request once and return the result, storing nothing", "Targets", 0), s.testTarget)

	// Schedules.
	register(api, op("create-schedule", http.MethodPost, "/schedules", "Create a schedule", "Schedules", http.StatusCreated), s.createSchedule)
	register(api, op("list-schedules", http.MethodGet, "/schedules", "List schedules", "Schedules", 0), s.listSchedules)
	register(api, op("get-schedule", http.MethodGet, "/schedules/{id}", "Get a schedule", "Schedules", 0), s.getSchedule)
	register(api, op("update-schedule", http.MethodPut, "/schedules/{id}", "Update a schedule (any subset of fields)", "Schedules", 0), s.updateSchedule)
	register(api, op("patch-schedule", http.MethodPatch, "/schedules/{id}", "Update a schedule (same as PUT)", "Schedules", 0), s.updateSchedule)
	register(api, op("delete-schedule", http.MethodDelete, "/schedules/{id}", "Delete a schedule (its runs stay)", "Schedules", http.StatusNoContent), s.deleteSchedule)
	register(api, op("preview-schedule", http.MethodGet, "/schedules/{id}/preview", "The next occurrences of a schedule, in UTC and in its zone", "Schedules", 0), s.previewSchedule)
	register(api, op("preview-unsaved-schedule", http.MethodPost, "/schedules/preview", "The next occurrences of a schedule body, without creating it", "Schedules", 0), s.previewUnsaved)
	optionalBody(api, conflict(op("pause-schedule", http.MethodPost, "/schedules/{id}/pause", "Pause a schedule, optionally with a reason and an automatic resume", "Schedules", 0),
		"The schedule is STOPPED: a window that ended cannot be paused"), s.pauseSchedule)
	register(api, conflict(op("resume-schedule", http.MethodPost, "/schedules/{id}/resume", "Resume a paused schedule", "Schedules", 0),
		"The schedule is STOPPED: a window that ended cannot be resumed"), s.resumeSchedule)

	register(api, conflict(op("trigger-schedule", http.MethodPost, "/schedules/{id}/trigger", "Run a schedule now (trigger: manual)", "Schedules", http.StatusAccepted),
		"The schedule is STOPPED, or a run of it is in flight and force is not set"), s.triggerSchedule)
	register(api, op("backfill-schedule", http.MethodPost, "/schedules/{id}/backfill", "Run a schedule's occurrences of a past range (trigger: backfill)", "Schedules", http.StatusAccepted), s.createBackfill)
	register(api, op("schedule-occurrences", http.MethodGet, "/schedules/{id}/occurrences", "Every occurrence of a schedule in a range, and what became of it", "Schedules", 0), s.ledger)
	register(api, op("list-schedule-events", http.MethodGet, "/schedules/{id}/events", "A schedule's history: created, updated, paused, resumed, stopped, triggered, backfilled; newest first", "Schedules", 0), s.listEvents)
	register(api, op("list-backfills", http.MethodGet, "/schedules/{id}/backfills", "A schedule's backfills and their progress, newest first", "Schedules", 0), s.listBackfills)

	// Notifiers and alerts.
	register(api, conflict(op("create-notifier", http.MethodPost, "/notifiers", "Create a notifier: where alerts go", "Alerts", http.StatusCreated),
		"Another notifier has that name"), s.createNotifier)
	register(api, op("list-notifiers", http.MethodGet, "/notifiers", "List notifiers", "Alerts", 0), s.listNotifiers)
	register(api, op("get-notifier", http.MethodGet, "/notifiers/{id}", "Get a notifier", "Alerts", 0), s.getNotifier)
	register(api, conflict(op("update-notifier", http.MethodPut, "/notifiers/{id}", "Update a notifier (any subset of fields)", "Alerts", 0),
		"Another notifier has that name"), s.updateNotifier)
	register(api, conflict(op("patch-notifier", http.MethodPatch, "/notifiers/{id}", "Update a notifier (same as PUT)", "Alerts", 0),
		"Another notifier has that name"), s.updateNotifier)
	register(api, conflict(op("delete-notifier", http.MethodDelete, "/notifiers/{id}", "Delete a notifier no alert rule names (its notifications stay)", "Alerts", http.StatusNoContent),
		"An alert rule names the notifier: change the rule first"), s.deleteNotifier)
	register(api, conflict(op("test-notifier", http.MethodPost, "/notifiers/{id}/test", "Send a test alert (event test) to a notifier now and say how it went", "Alerts", 0),
		"The notifier's secrets cannot be decrypted here (SECRET_KEY missing or wrong)"), s.testNotifier)
	register(api, op("list-notifications", http.MethodGet, "/notifications", "Alerts raised and their delivery, newest first", "Alerts", 0), s.listNotifications)
	register(api, op("get-default-alert-rule", http.MethodGet, "/alerts/default", "The alert rule of schedules without one (404: none)", "Alerts", 0), s.getDefaultRule)
	register(api, op("put-default-alert-rule", http.MethodPut, "/alerts/default", "Set the alert rule of schedules without one", "Alerts", 0), s.putDefaultRule)
	register(api, op("delete-default-alert-rule", http.MethodDelete, "/alerts/default", "Remove the default alert rule", "Alerts", http.StatusNoContent), s.deleteDefaultRule)

	// Runs.
	register(api, op("list-runs", http.MethodGet, "/runs", "List runs, newest first", "Runs", 0), s.listRuns)
	register(api, op("get-run", http.MethodGet, "/runs/{id}", "Get a run with its attempts", "Runs", 0), s.getRun)

	// Metrics and health.
	register(api, op("system-metrics", http.MethodGet, "/metrics", "Service-wide metrics", "Metrics", 0), s.systemMetrics)
	describeExposition(api.OpenAPI())
	register(api, op("schedule-metrics", http.MethodGet, "/metrics/schedules", "Per-schedule metrics", "Metrics", 0), s.scheduleMetrics)
	register(api, prometheusOperation(), s.prometheusMetrics)
	healthOp := op("health", http.MethodGet, "/health", "Health check", "Health", 0)
	healthOp.Description = "Open to every caller, so that load balancers can probe it. With tokens set (API_TOKEN, API_READ_TOKEN), " +
		"a caller without a valid token gets only status, with 200 or 503; a caller with one, or any caller when no token is set, gets every field."
	// /health reports an unavailable database in its own body, not as a problem.
	healthOp.Errors = []int{http.StatusUnprocessableEntity}
	healthOp.Responses = map[string]*huma.Response{
		"503": {Description: "The database (or another component) does not answer", Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/Health"}},
		}},
	}
	register(api, healthOp, s.health)
	describeErrors(api.OpenAPI())

	// Documentation pages outside the OpenAPI document, and the scripts and
	// styles they load, embedded in the binary (docs.go).
	s.mux.HandleFunc("GET /{$}", serveRoot)
	s.mux.HandleFunc("GET /docs", s.serveDocs)
	s.mux.HandleFunc("GET /redoc", s.serveRedoc)
	s.mux.HandleFunc("GET "+docsAssetsPrefix+"{file...}", serveDocsAsset)
}

// op describes one operation and the errors every operation can answer: 422
// (a parameter, even an unknown one, or the body breaks a rule), 503 (the
// database does not answer) and, on a path with an {id}, 404. Huma adds 500.
// Every operation with a body reads at most MaxBodyBytes of it; Huma refuses
// a body that reaches its limit, so the limit is one byte more.
func op(id, method, path, summary, tag string, status int) huma.Operation {
	o := huma.Operation{
		OperationID:  id,
		Method:       method,
		Path:         path,
		Summary:      summary,
		Tags:         []string{tag},
		MaxBodyBytes: MaxBodyBytes + 1,
		Errors:       []int{http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}
	if strings.Contains(path, "{id}") {
		o.Errors = append(o.Errors, http.StatusNotFound)
	}
	if status != 0 {
		o.DefaultStatus = status
	}
	return o
}

// register registers an operation with Huma. An operation whose input has
// a body also answers 400 (not JSON), 413 (too large) and 415 (not sent as
// JSON): Huma reads the body from the same Body field.
func register[I, O any](api huma.API, o huma.Operation, handler func(context.Context, *I) (*O, error)) {
	if _, ok := reflect.TypeFor[I]().FieldByName("Body"); ok {
		o.Errors = append(o.Errors, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	huma.Register(api, o, handler)
}

// optionalBody makes o's request body optional. Huma requires a body once
// the input has a RawBody (which the UTF-8 check reads), whatever Body's
// type; the operation keeps the RequestBody it was given, so clearing
// Required once it is registered applies to the requests too.
func optionalBody[I, O any](api huma.API, o huma.Operation, handler func(context.Context, *I) (*O, error)) {
	o.RequestBody = &huma.RequestBody{}
	rb := o.RequestBody
	register(api, o, handler)
	rb.Required = false
}

// conflict documents the 409 an operation answers when the resource's state forbids it.
func conflict(o huma.Operation, why string) huma.Operation {
	if o.Responses == nil {
		o.Responses = map[string]*huma.Response{}
	}
	o.Responses[strconv.Itoa(http.StatusConflict)] = problemResponse(why)
	return o
}

// problemResponse is a documented error response with the problem schema.
func problemResponse(description string) *huma.Response {
	return &huma.Response{Description: description, Content: map[string]*huma.MediaType{
		"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}},
	}}
}

// errorDescriptions say when each operation answers a status; Huma's
// default description is only the status text.
var errorDescriptions = map[int]string{
	http.StatusBadRequest:            "The body is missing or is not JSON",
	http.StatusNotFound:              "No resource has this id",
	http.StatusRequestEntityTooLarge: fmt.Sprintf("The body is over %d bytes", MaxBodyBytes),
	http.StatusUnsupportedMediaType:  "The body is not sent as JSON (Content-Type: application/json)",
	http.StatusUnprocessableEntity:   "A parameter or a body field is invalid, or unknown: errors[] names each. Nothing was changed",
	http.StatusInternalServerError:   "An internal error: it is logged, and the client gets no details",
	http.StatusServiceUnavailable:    "The database does not answer. Nothing was changed",
}

// describeErrors replaces Huma's descriptions of the error responses.
func describeErrors(oapi *huma.OpenAPI) {
	for _, o := range operations(oapi) {
		for code, r := range o.Responses {
			status, err := strconv.Atoi(code)
			if d, ok := errorDescriptions[status]; ok && err == nil && r.Description == http.StatusText(status) {
				r.Description = d
			}
		}
	}
}

// operations lists every operation of the document.
func operations(oapi *huma.OpenAPI) []*huma.Operation {
	var ops []*huma.Operation
	for _, item := range oapi.Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch, item.Head, item.Options} {
			if o != nil {
				ops = append(ops, o)
			}
		}
	}
	return ops
}
