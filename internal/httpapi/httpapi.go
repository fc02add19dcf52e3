// Package httpapi serves apicron's REST API: the routes, the request and
// response types (DTOs), and the one place where apicron error codes become
// HTTP statuses. It is built on Huma, so the OpenAPI document, request
// validation and the /docs page come from the same Go types.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// MaxBodyBytes is the largest request body the API reads; a larger one is
// refused with 413 before it is parsed.
const MaxBodyBytes = 1 << 20

// Config holds the dependencies of a Server.
type Config struct {
	// Store is the database. Required.
	Store apicron.Store
	// Notifier hears about every schedule the API created, changed or
	// deleted, so the engine can replan at once. Optional.
	Notifier apicron.ChangeNotifier
	// Logger receives internal errors, once each; the caller names the
	// component. Optional: nothing is logged without it.
	Logger *slog.Logger
	// Clock is the time /health reports and /metrics counts "the last hour"
	// from. Optional: the system clock.
	Clock apicron.Clock
	// Title and Version describe the API in its OpenAPI document; Version
	// is also what /health reports. Optional.
	Title   string
	Version string
	// NodeID names this process in /health. Optional.
	NodeID string
	// HealthFunc, when set, reports the engine's state for /health (role and
	// engine), and an error makes the service report "unavailable" with 503,
	// its client-safe message in error.
	HealthFunc func(ctx context.Context) (apicron.EngineHealth, error)
	// Tokens may call every endpoint; ReadTokens only GET and HEAD ones.
	// When either is set, every request but /health needs the header
	// "Authorization: Bearer <token>", the documentation pages and the
	// OpenAPI document included. Optional: without them the API is open.
	Tokens     []string
	ReadTokens []string
	// URLCheckFunc, when set, vets the URL of a target being created or
	// updated (the outbound policy's executor.Policy.CheckURL, say). An error
	// refuses it with 422 on field url; its message is shown to the client.
	URLCheckFunc func(rawURL string) error
	// AllowedHosts are the host names the API answers to, checked against
	// each request's Host header (its port aside), /health included: "*"
	// (any), a name, "*." and a name (any name below it), an IP address or
	// a CIDR prefix. Any other Host gets 421, so that a page on a name its
	// attacker points at this host (DNS rebinding) cannot use the API as
	// its own origin. Optional: without it the API answers to any host.
	AllowedHosts []string
	// DefaultTimezone is the zone of a schedule created without one (the
	// service's SCHEDULER_TIMEZONE). Optional: UTC.
	DefaultTimezone string
	// Dispatcher runs the manual runs POST /schedules/{id}/trigger inserts
	// (through the Store, which must then be an apicron.Runner). Optional:
	// without it that endpoint answers 503.
	Dispatcher apicron.Dispatcher
	// Sender delivers the test alert of POST /notifiers/{id}/test.
	// Optional: without it that endpoint answers 503.
	Sender AlertSender
	// Executor sends the request of POST /targets/{id}/test. Optional:
	// without it that endpoint answers 503.
	Executor apicron.Executor
	// AssertionCheckFunc, when set, vets assertions beyond their shape (the
	// executor's, which parses JSON paths); an error is a 422. Optional.
	AssertionCheckFunc func(field string, list []apicron.Assertion) error
	// UI, when set, serves / and every path under /ui/ (the dashboard),
	// after the Host check and before any token check: it asks for its own
	// login. Every other path stays the API's. Optional: without it, /
	// redirects to /docs.
	UI http.Handler
	// SessionFunc, when set, reports whether a request without an
	// Authorization header carries a valid dashboard session, and whether
	// that session is read-only: the API then treats it as a token of that
	// level, so that the reference (/docs) and its "Try it" answer a
	// logged-in browser. Writes with it still pass the cross-origin check.
	// Optional.
	SessionFunc func(r *http.Request) (actor string, readOnly, ok bool)
	// AccessLog logs one line per request to Logger at Info, the
	// dashboard's included: method, path, status, bytes, duration_ms,
	// remote and, when the client sent X-Request-Id, request_id. Optional.
	AccessLog bool
	// MetricsHandler, when set, serves the Prometheus exposition
	// (promexp.Metrics.Handler): GET /metrics/prometheus, and GET /metrics
	// to a client whose Accept prefers it to JSON (see wantsExposition).
	// Optional: without it /metrics answers JSON only and
	// /metrics/prometheus 503.
	MetricsHandler http.Handler
}

// Validate reports a missing required dependency.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("httpapi: config: Store is required")
	}
	for _, t := range append(append([]string(nil), c.Tokens...), c.ReadTokens...) {
		if strings.TrimSpace(t) == "" {
			return errors.New("httpapi: config: a token is empty")
		}
	}
	for _, t := range c.ReadTokens {
		if slices.Contains(c.Tokens, t) {
			return errors.New("httpapi: config: a token is in both Tokens and ReadTokens")
		}
	}
	if _, err := parseHostList(c.AllowedHosts); err != nil {
		return fmt.Errorf("httpapi: config: %w", err)
	}
	if c.DefaultTimezone != "" {
		if _, err := apicron.LoadZone("timezone", c.DefaultTimezone); err != nil {
			return fmt.Errorf("httpapi: config: DefaultTimezone: %w", err)
		}
	}
	return nil
}

// Server is the HTTP API. It implements http.Handler.
type Server struct {
	store      apicron.Store
	notifier   apicron.ChangeNotifier
	logger     *slog.Logger
	clock      apicron.Clock
	title      string
	version    string
	nodeID     string
	healthFunc func(ctx context.Context) (apicron.EngineHealth, error)
	auth       *authenticator // nil: no tokens, the API is open
	hosts      *hostList
	// crossOrigin refuses browsers' cross-origin writes, with tokens or without.
	crossOrigin *http.CrossOriginProtection
	urlCheck    func(rawURL string) error
	// runner, dispatcher and executor serve manual runs and target tests; nil without them.
	runner     apicron.Runner
	dispatcher apicron.Dispatcher
	sender     AlertSender
	executor   apicron.Executor
	// assertionCheck is Config.AssertionCheckFunc.
	assertionCheck func(field string, list []apicron.Assertion) error
	// defaultTimezone fills the timezone of a schedule created without one.
	defaultTimezone string
	// ui is Config.UI, sessionFunc Config.SessionFunc.
	ui          http.Handler
	sessionFunc func(r *http.Request) (actor string, readOnly, ok bool)
	accessLog   bool
	// metricsHandler is Config.MetricsHandler.
	metricsHandler http.Handler

	mux   *http.ServeMux
	api   huma.API
	pages docsPages
	// bodyOps holds the mux patterns of the operations that read a body.
	bodyOps map[string]bool
}

// New builds a Server with every route registered.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newServer(cfg, len(cfg.Tokens)+len(cfg.ReadTokens) > 0), nil
}

// OpenAPIJSON returns the OpenAPI document, as /openapi.json serves it, of a
// Server with this title and version and, when authenticated, access tokens.
// It needs no database: `apicron openapi` prints it.
func OpenAPIJSON(title, version string, authenticated bool) ([]byte, error) {
	s := newServer(Config{Title: title, Version: version}, authenticated)
	return json.Marshal(s.api.OpenAPI()) // what Huma's /openapi.json handler writes
}

// newServer builds a Server from cfg, which New has validated. authenticated
// says whether the OpenAPI document declares the bearer token scheme.
func newServer(cfg Config, authenticated bool) *Server {
	hosts, err := parseHostList(cfg.AllowedHosts)
	if err != nil {
		panic(err) // New validated the list, and OpenAPIJSON gives none: it cannot fail
	}
	s := &Server{
		store:       cfg.Store,
		notifier:    cfg.Notifier,
		logger:      cfg.Logger,
		clock:       cfg.Clock,
		version:     cfg.Version,
		nodeID:      cfg.NodeID,
		healthFunc:  cfg.HealthFunc,
		auth:        newAuthenticator(cfg.Tokens, cfg.ReadTokens),
		hosts:       hosts,
		crossOrigin: http.NewCrossOriginProtection(),
		urlCheck:    cfg.URLCheckFunc,
		mux:         http.NewServeMux(),

		defaultTimezone: cfg.DefaultTimezone,
		dispatcher:      cfg.Dispatcher,
		sender:          cfg.Sender,
		executor:        cfg.Executor,
		assertionCheck:  cfg.AssertionCheckFunc,
		ui:              cfg.UI,
		sessionFunc:     cfg.SessionFunc,
		accessLog:       cfg.AccessLog,
		metricsHandler:  cfg.MetricsHandler,
	}
	s.runner, _ = cfg.Store.(apicron.Runner)
	if s.defaultTimezone == "" {
		s.defaultTimezone = apicron.DefaultTimezone
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = apicron.SystemClock{}
	}
	if s.version == "" {
		s.version = apicron.Version
	}
	s.title = cfg.Title
	if s.title == "" {
		s.title = "apicron"
	}
	s.api = humago.New(s.mux, s.humaConfig(s.title, s.version))
	s.pages = newDocsPages(s.title)
	s.routes()
	s.bodyOps = bodyPatterns(s.api.OpenAPI())
	documentAuth(s.api.OpenAPI(), authenticated)
	return s
}

// humaConfig is Huma's default configuration less what does not fit this API:
// no $schema property or Link header in responses (they are not part of the
// contract), no /schemas route, no /docs page of its own (see docs.go),
// integral numbers such as 10.0 accepted for integers (see format.go),
// unknown query parameters refused, and errors with a readable detail (see
// errors.go).
func (s *Server) humaConfig(title, version string) huma.Config {
	cfg := huma.DefaultConfig(title, version)
	cfg.CreateHooks = nil // drops the schema link transformer
	cfg.SchemasPath = ""
	cfg.DocsPath = "" // Huma's /docs loads from a CDN; ours (docs.go) is embedded
	cfg.Info.Description = "apicron stores HTTP targets and schedules, fires requests on time and records every run. " +
		"Every operation answers 421 to a request whose Host header is not a name this apicron answers to (ALLOWED_HOSTS)."
	// Relative: the API is where the document was fetched from, whatever
	// host, port or scheme a client (or a proxy in front) used, and the same
	// document holds for every deployment, as `apicron openapi` prints it.
	cfg.Servers = []*huma.Server{{URL: "/", Description: "This apicron: the host that served this document"}}
	cfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	// A misspelt filter (status_filtr) would otherwise be ignored, and the
	// client would take every run for the filtered ones.
	cfg.RejectUnknownQueryParameters = true
	cfg.Transformers = append(cfg.Transformers, s.transformError)
	return cfg
}

// ServeHTTP implements http.Handler. Every request passes these checks, in
// this order, before a route sees it:
//
//  1. its Host is one the API answers to (see allowHost): first, since the
//     browser checks below trust that the name in Host is this API's own;
//     then the dashboard's paths (Config.UI) go to the dashboard, which
//     makes its own checks;
//  2. a browser's request that may change something comes from a page of
//     this origin, with tokens or without (see sameOrigin);
//  3. with tokens configured, it has a valid one (see authorize);
//  4. a GET /metrics that prefers the Prometheus exposition to JSON gets
//     it from Config.MetricsHandler (see wantsExposition); one with a query
//     goes on to the route, which refuses every parameter;
//  5. it matches a route: if not, it gets a problem+json 404 or 405 like
//     every other error, rather than the mux's plain text;
//  6. the body of an operation that reads one is declared JSON (see
//     requireJSONBody).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.accessLog {
		aw := &accessWriter{ResponseWriter: w}
		defer s.logRequest(aw, r, time.Now())
		w = aw
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			writeProblem(w, http.StatusInternalServerError, "internal error")
		}
	}()
	if !s.allowHost(w, r) {
		return
	}
	if s.ui != nil && isUIPath(r.URL.Path) {
		s.ui.ServeHTTP(w, r)
		return
	}
	if !s.sameOrigin(w, r) {
		return
	}
	r, ok := s.authorize(w, r)
	if !ok {
		return
	}
	if r.URL.Path == "/metrics" && r.URL.RawQuery == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		s.metricsHandler != nil && wantsExposition(r) {
		s.metricsHandler.ServeHTTP(w, r) // the same series as /metrics/prometheus
		return
	}
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.unmatched(w, r)
		return
	}
	if s.bodyOps[pattern] && !requireJSONBody(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// isUIPath reports whether path is the dashboard's: / and /ui/...
func isUIPath(path string) bool {
	return path == "/" || path == "/ui" || strings.HasPrefix(path, "/ui/")
}

// OpenAPI returns the API's OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI {
	return s.api.OpenAPI()
}

// unmatched lets the mux decide between 404 and 405 (and set Allow), then
// writes the problem body itself.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{header: http.Header{}}
	s.mux.ServeHTTP(rec, r)
	status := rec.status
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		// A redirect to the cleaned path, say: let the mux answer.
		s.mux.ServeHTTP(w, r)
		return
	}
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	msg := "no such route: " + r.URL.Path
	if status == http.StatusMethodNotAllowed {
		msg = "method " + r.Method + " is not allowed on " + r.URL.Path
	}
	writeProblem(w, status, msg)
}

// statusRecorder keeps the status and headers a handler writes and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// notify tells the engine that a schedule changed; it never blocks.
func (s *Server) notify(id int64) {
	if s.notifier != nil {
		s.notifier.Changed(id)
	}
}

// now returns the current time in UTC.
func (s *Server) now() time.Time {
	return s.clock.Now().UTC()
}
