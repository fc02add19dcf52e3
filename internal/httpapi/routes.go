package httpapi

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// routes registers the whole API surface. Huma adds /openapi.json and
// /openapi.yaml (and their -3.0 variants) itself; /docs is ours (docs.go).
func (s *Server) routes() {
	api := s.api

	// Targets.
	huma.Register(api, op("create-target", http.MethodPost, "/targets", "Create a target", "Targets", http.StatusCreated), s.createTarget)
	huma.Register(api, op("list-targets", http.MethodGet, "/targets", "List targets", "Targets", 0), s.listTargets)
	huma.Register(api, op("get-target", http.MethodGet, "/targets/{id}", "Get a target", "Targets", 0), s.getTarget)
	huma.Register(api, op("update-target", http.MethodPut, "/targets/{id}", "Update a target (any subset of fields)", "Targets", 0), s.updateTarget)
	huma.Register(api, op("patch-target", http.MethodPatch, "/targets/{id}", "Update a target (same as PUT)", "Targets", 0), s.updateTarget)
	huma.Register(api, op("delete-target", http.MethodDelete, "/targets/{id}", "Delete a target no schedule uses", "Targets", http.StatusNoContent), s.deleteTarget)

	// Schedules.
	huma.Register(api, op("create-schedule", http.MethodPost, "/schedules", "Create a schedule", "Schedules", http.StatusCreated), s.createSchedule)
	huma.Register(api, op("list-schedules", http.MethodGet, "/schedules", "List schedules", "Schedules", 0), s.listSchedules)
	huma.Register(api, op("get-schedule", http.MethodGet, "/schedules/{id}", "Get a schedule", "Schedules", 0), s.getSchedule)
	huma.Register(api, op("update-schedule", http.MethodPut, "/schedules/{id}", "Update a schedule (any subset of fields)", "Schedules", 0), s.updateSchedule)
	huma.Register(api, op("patch-schedule", http.MethodPatch, "/schedules/{id}", "Update a schedule (same as PUT)", "Schedules", 0), s.updateSchedule)
	huma.Register(api, op("delete-schedule", http.MethodDelete, "/schedules/{id}", "Delete a schedule (its runs stay)", "Schedules", http.StatusNoContent), s.deleteSchedule)
	huma.Register(api, op("pause-schedule", http.MethodPost, "/schedules/{id}/pause", "Pause a schedule", "Schedules", 0), s.pauseSchedule)
	huma.Register(api, op("resume-schedule", http.MethodPost, "/schedules/{id}/resume", "Resume a paused schedule", "Schedules", 0), s.resumeSchedule)

	// Runs.
	huma.Register(api, op("list-runs", http.MethodGet, "/runs", "List runs, newest first", "Runs", 0), s.listRuns)
	huma.Register(api, op("get-run", http.MethodGet, "/runs/{id}", "Get a run with its attempts", "Runs", 0), s.getRun)

	// Metrics and health.
	huma.Register(api, op("system-metrics", http.MethodGet, "/metrics", "Service-wide metrics", "Metrics", 0), s.systemMetrics)
	huma.Register(api, op("schedule-metrics", http.MethodGet, "/metrics/schedules", "Per-schedule metrics", "Metrics", 0), s.scheduleMetrics)
	healthOp := op("health", http.MethodGet, "/health", "Health check", "Health", 0)
	healthOp.Responses = map[string]*huma.Response{
		"503": {Description: "The database (or another component) does not answer", Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/Health"}},
		}},
	}
	huma.Register(api, healthOp, s.health)

	// Documentation pages outside the OpenAPI document, and the scripts and
	// styles they load, embedded in the binary (docs.go).
	s.mux.HandleFunc("GET /docs", serveDocs)
	s.mux.HandleFunc("GET /redoc", serveRedoc)
	s.mux.HandleFunc("GET "+docsAssetsPrefix+"{file...}", serveDocsAsset)
}

// op describes one operation. Every operation with a body reads at most
// MaxBodyBytes of it; Huma refuses a body that reaches its limit, so the
// limit is one byte more.
func op(id, method, path, summary, tag string, status int) huma.Operation {
	o := huma.Operation{
		OperationID:  id,
		Method:       method,
		Path:         path,
		Summary:      summary,
		Tags:         []string{tag},
		MaxBodyBytes: MaxBodyBytes + 1,
	}
	if status != 0 {
		o.DefaultStatus = status
	}
	return o
}
