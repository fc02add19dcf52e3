package httpapi

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// The media types of the Prometheus exposition, as the OpenAPI document
// lists them; Config.MetricsHandler picks one from the request's Accept.
const (
	mediaPrometheusText = "text/plain; version=0.0.4"
	mediaOpenMetrics    = "application/openmetrics-text; version=1.0.0"
)

// exposition describes the Prometheus exposition's body in the OpenAPI document.
func exposition() map[string]*huma.MediaType {
	text := &huma.Schema{Type: "string", Description: "The series, one sample a line (see docs/metrics.md)",
		Examples: []any{"# TYPE apicron_runs_finished_total counter\napicron_runs_finished_total{error_type=\"\",status=\"SUCCESS\"} 42\n"}}
	return map[string]*huma.MediaType{
		mediaPrometheusText: {Schema: text},
		mediaOpenMetrics:    {Schema: text},
	}
}

// prometheusOperation is GET /metrics/prometheus: always the Prometheus exposition.
func prometheusOperation() huma.Operation {
	o := op("prometheus-metrics", http.MethodGet, "/metrics/prometheus", "Metrics in the Prometheus text format or OpenMetrics", "Metrics", 0)
	o.Description = "The series every apicron node exports to Prometheus (prefix apicron_, plus go_ and process_): " +
		"runs finished by status and error_type, latency and lateness histograms, requests in flight, occurrences " +
		"claimed, skipped and coalesced, database writes, leadership, nodes, schedules by status and notifications. " +
		"The Prometheus text format (" + mediaPrometheusText + ") unless Accept asks for OpenMetrics " +
		"(application/openmetrics-text) or protobuf. Counters count what this node did since it started. " +
		"GET /metrics answers the same to a client whose Accept prefers these types to JSON."
	o.Responses = map[string]*huma.Response{
		"200": {Description: "The series", Content: exposition()},
		"503": problemResponse("This server exports no Prometheus metrics (it runs no engine)"),
	}
	return o
}

// describeExposition adds the Prometheus exposition to the responses of
// GET /metrics, which answers it when Accept asks for it.
func describeExposition(oapi *huma.OpenAPI) {
	o := oapi.Paths["/metrics"].Get
	o.Description = "The seed's JSON counters, by default and to Accept: application/json. A client whose Accept " +
		"prefers the Prometheus text format (" + mediaPrometheusText + ", as Prometheus sends it, or any text/plain) or " +
		"OpenMetrics (application/openmetrics-text) to JSON gets the Prometheus exposition instead, as from GET /metrics/prometheus."
	for mt, m := range exposition() {
		o.Responses["200"].Content[mt] = m
	}
}

// prometheusMetrics serves GET /metrics/prometheus through Config.MetricsHandler.
func (s *Server) prometheusMetrics(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
	if s.metricsHandler == nil {
		return nil, s.apiError(ctx, "prometheus metrics", apicron.Errorf(apicron.EUNAVAILABLE, "this server exports no Prometheus metrics"))
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		r, w := humago.Unwrap(hctx)
		s.metricsHandler.ServeHTTP(w, r)
	}}, nil
}

// wantsExposition reports whether a request for /metrics prefers the
// Prometheus exposition to JSON: its Accept header gives text/plain (with
// or without a version), application/openmetrics-text or Prometheus'
// protobuf a higher q than any type that JSON matches (application/json,
// application/*, */*). A tie, or no Accept, keeps the seed's JSON.
func wantsExposition(r *http.Request) bool {
	var expo, json float64
	for _, accept := range r.Header.Values("Accept") {
		for _, part := range strings.Split(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					continue
				}
			}
			switch {
			case mt == "text/plain", mt == "application/openmetrics-text",
				mt == "application/vnd.google.protobuf" && params["proto"] == "io.prometheus.client.MetricFamily":
				expo = max(expo, q)
			case mt == "application/json", mt == "application/*", mt == "*/*":
				json = max(json, q)
			}
		}
	}
	return expo > json
}
