// Package web serves apicron's dashboard: pages rendered on the server with
// html/template from the same apicron.Store methods the REST API calls, so
// the two never disagree. Templates, styles, scripts and the vendored htmx
// and uPlot are embedded: the dashboard works from the one binary, offline,
// and its pages load nothing from elsewhere (Content-Security-Policy
// default-src 'self').
//
// One file per page group (overview.go, runs.go, schedules.go, targets.go,
// notifiers.go, settings.go) holds its handlers; render.go the layout and
// the helpers every page uses; forms.go what the forms share; session.go
// the login.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// AlertSender delivers one notification, as the API's: the dashboard uses
// it for a notifier's test alert.
type AlertSender interface {
	Send(ctx context.Context, n *apicron.Notifier, id string, m *apicron.AlertMessage) error
}

// Setting is one effective setting as the settings page shows it: its
// environment variable, its value (a secret masked), where it came from
// (flag, env, .env, default) and whether it is the default.
type Setting struct {
	Name, Value, Source string
}

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 12 * time.Hour

// Config holds the dependencies of a Handler.
type Config struct {
	// Store is the database. Required. When it is also an apicron.Runner,
	// a schedule's "Run now" button inserts the run through it.
	Store apicron.Store
	// Dispatcher runs what "Run now" inserted, as the API's trigger does.
	// Optional: without it the button is not shown.
	Dispatcher apicron.Dispatcher
	// Notifier hears about the schedules the dashboard paused or resumed.
	// Optional.
	Notifier apicron.ChangeNotifier
	// Executor sends a target's "Test" request, as POST /targets/{id}/test.
	// Optional: without it (or a Runner) the button is not shown.
	Executor apicron.Executor
	// URLCheckFunc vets a target's or notifier's URL, as the API's
	// (the outbound policy). Optional.
	URLCheckFunc func(rawURL string) error
	// AssertionCheckFunc vets a list of assertions beyond
	// apicron.ValidateAssertions, as the API's (the executor's, which
	// parses JSON paths). Optional.
	AssertionCheckFunc func(field string, list []apicron.Assertion) error
	// Sender delivers a notifier's test alert. Optional: without it the
	// button is not shown.
	Sender AlertSender
	// DefaultTimezone fills a new schedule's zone (SCHEDULER_TIMEZONE).
	// Optional: UTC.
	DefaultTimezone string
	// Settings are the effective settings the settings page lists, secrets
	// masked. Optional.
	Settings []Setting
	// HealthFunc reports the engine's state, as for the API's /health.
	// Optional: the overview then says nothing of the engine.
	HealthFunc func(ctx context.Context) (apicron.EngineHealth, error)
	// Tokens may do everything, ReadTokens only look: the API's tokens.
	// With either set, the dashboard asks for one on its login page.
	// Optional: without them the dashboard is open, as the API is.
	Tokens     []string
	ReadTokens []string
	// SessionTTL is how long a login lasts. Optional: DefaultSessionTTL.
	SessionTTL time.Duration
	// SessionSecret signs the session cookies with the tokens; nodes that
	// share it (the store's, SessionSecret) accept each other's sessions.
	// Required with tokens.
	SessionSecret []byte
	// SessionEnds records logouts for every node (the store). Optional:
	// without it a logout clears the browser's cookie alone, and a copy of
	// it stays valid until it expires.
	SessionEnds SessionEnds
	// Clock tells the time. Optional: the system clock.
	Clock apicron.Clock
	// Logger receives internal errors. Optional.
	Logger *slog.Logger
	// Title names the service on every page (APP_TITLE). Optional.
	Title string
	// NodeID names this node on the overview. Optional.
	NodeID string
}

// Validate reports a missing dependency or a bad token.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("web: config: Store is required")
	}
	for _, t := range slices.Concat(c.Tokens, c.ReadTokens) {
		if strings.TrimSpace(t) == "" {
			return errors.New("web: config: a token is empty")
		}
	}
	if c.SessionTTL < 0 {
		return errors.New("web: config: SessionTTL is negative")
	}
	return nil
}

// Handler serves the dashboard: / and everything under /ui/. It
// implements http.Handler.
type Handler struct {
	store      apicron.Store
	runner     apicron.Runner // nil: no "Run now"
	dispatcher apicron.Dispatcher
	notifier   apicron.ChangeNotifier
	healthFunc func(ctx context.Context) (apicron.EngineHealth, error)
	executor   apicron.Executor
	sender     AlertSender
	urlCheck   func(rawURL string) error
	// assertionCheck is Config.AssertionCheckFunc.
	assertionCheck func(field string, list []apicron.Assertion) error
	timezone       string
	settings       []Setting
	sessions       *sessions // nil: no tokens, the dashboard is open
	logins         loginLimiter
	clock          apicron.Clock
	logger         *slog.Logger
	title          string
	nodeID         string
	pages          *pages
	mux            *http.ServeMux
	// crossOrigin refuses form posts from pages of other origins.
	crossOrigin *http.CrossOriginProtection
}

// New returns the dashboard of cfg.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{
		store:      cfg.Store,
		dispatcher: cfg.Dispatcher,
		notifier:   cfg.Notifier,
		healthFunc: cfg.HealthFunc,
		executor:   cfg.Executor,
		sender:     cfg.Sender,
		urlCheck:   cfg.URLCheckFunc,
		timezone:   cfg.DefaultTimezone,
		settings:   cfg.Settings,

		assertionCheck: cfg.AssertionCheckFunc,
		clock:          cfg.Clock,
		logger:         cfg.Logger,
		title:          cfg.Title,
		nodeID:         cfg.NodeID,
		mux:            http.NewServeMux(),
		crossOrigin:    http.NewCrossOriginProtection(),
	}
	if r, ok := cfg.Store.(apicron.Runner); ok && cfg.Dispatcher != nil {
		h.runner = r
	}
	ttl := cfg.SessionTTL
	if ttl == 0 {
		ttl = DefaultSessionTTL
	}
	if (len(cfg.Tokens) > 0 || len(cfg.ReadTokens) > 0) && len(cfg.SessionSecret) < 16 {
		return nil, errors.New("web: config: SessionSecret (16 bytes or more) is required with tokens")
	}
	h.sessions = newSessions(cfg.Tokens, cfg.ReadTokens, cfg.SessionSecret, ttl)
	if h.sessions != nil {
		h.sessions.ends = cfg.SessionEnds
	}
	if h.clock == nil {
		h.clock = apicron.SystemClock{}
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.timezone == "" {
		h.timezone = "UTC"
	}
	if h.title == "" {
		h.title = "apicron"
	}
	var err error
	if h.pages, err = loadPages(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// routes registers every page. The API keeps all its paths: the dashboard
// has / and /ui/ only.
func (h *Handler) routes() {
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusFound) })
	h.mux.HandleFunc("GET "+staticPrefix+"{file...}", serveStatic)
	h.mux.HandleFunc("GET /ui/login", h.loginPage)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/logout", h.logout)

	h.mux.HandleFunc("GET /ui/runs", h.listRuns)
	h.mux.HandleFunc("GET /ui/runs/rows", h.runRows)
	h.mux.HandleFunc("GET /ui/runs/{id}", h.showRun)

	h.mux.HandleFunc("GET /ui/schedules", h.listSchedules)
	h.mux.HandleFunc("GET /ui/schedules/new", h.newSchedule)
	h.mux.HandleFunc("POST /ui/schedules", h.saveSchedule)
	h.mux.HandleFunc("POST /ui/schedules/preview", h.previewSchedule)
	h.mux.HandleFunc("GET /ui/schedules/{id}", h.showSchedule)
	h.mux.HandleFunc("GET /ui/schedules/{id}/edit", h.editSchedule)
	h.mux.HandleFunc("POST /ui/schedules/{id}", h.saveSchedule)
	h.mux.HandleFunc("GET /ui/schedules/{id}/delete", h.confirmDeleteSchedule)
	h.mux.HandleFunc("POST /ui/schedules/{id}/delete", h.deleteSchedule)
	h.mux.HandleFunc("POST /ui/schedules/{id}/backfill", h.backfillSchedule)
	h.mux.HandleFunc("POST /ui/schedules/{id}/pause", h.pauseSchedule)
	h.mux.HandleFunc("POST /ui/schedules/{id}/resume", h.resumeSchedule)
	h.mux.HandleFunc("POST /ui/schedules/{id}/run", h.runSchedule)

	h.mux.HandleFunc("GET /ui/settings", h.showSettings)

	h.mux.HandleFunc("GET /ui/notifiers", h.listNotifiers)
	h.mux.HandleFunc("GET /ui/notifiers/new", h.newNotifier)
	h.mux.HandleFunc("POST /ui/notifiers", h.saveNotifier)
	h.mux.HandleFunc("POST /ui/notifiers/default-rule", h.saveDefaultRule)
	h.mux.HandleFunc("GET /ui/notifiers/{id}", h.editNotifier)
	h.mux.HandleFunc("POST /ui/notifiers/{id}", h.saveNotifier)
	h.mux.HandleFunc("GET /ui/notifiers/{id}/delete", h.confirmDeleteNotifier)
	h.mux.HandleFunc("POST /ui/notifiers/{id}/delete", h.deleteNotifier)
	h.mux.HandleFunc("POST /ui/notifiers/{id}/test", h.testNotifier)
	h.mux.HandleFunc("GET /ui/notifications", h.listNotifications)

	h.mux.HandleFunc("GET /ui/targets", h.listTargets)
	h.mux.HandleFunc("GET /ui/targets/new", h.newTarget)
	h.mux.HandleFunc("POST /ui/targets", h.saveTarget)
	h.mux.HandleFunc("GET /ui/targets/{id}", h.editTarget)
	h.mux.HandleFunc("POST /ui/targets/{id}", h.saveTarget)
	h.mux.HandleFunc("GET /ui/targets/{id}/delete", h.confirmDeleteTarget)
	h.mux.HandleFunc("POST /ui/targets/{id}/delete", h.deleteTarget)
	h.mux.HandleFunc("POST /ui/targets/{id}/test", h.testTarget)
}

// csp keeps every page on this host: scripts, styles, images and requests
// (htmx's) from this origin only, no inline script or style, no framing.
const csp = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; img-src 'self' data:"

// ServeHTTP implements http.Handler. Every answer carries the security
// headers; a form post must come from a page of this origin
// (http.CrossOriginProtection); with tokens, every page but the login and
// the static files needs a session, and a read-only session may not post
// (but to log out).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if err := h.crossOrigin.Check(r); err != nil {
		h.logger.InfoContext(r.Context(), "cross-origin form post refused", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr)
		h.fail(w, r, http.StatusForbidden, "A page of another site may not change anything here.")
		return
	}
	static := strings.HasPrefix(r.URL.Path, staticPrefix)
	public := static || r.URL.Path == "/ui/login" || r.URL.Path == "/ui/logout"
	var sess session
	if !static { // scripts and styles need no session: no lookup of its logout
		sess = h.sessions.of(r, h.clock.Now())
	}
	if !public && sess.Access == accessNone {
		h.needLogin(w, r)
		return
	}
	if r.Method == http.MethodPost && !public && sess.Access != accessFull {
		h.logger.InfoContext(r.Context(), "read-only session refused a change", "path", r.URL.Path, "peer", r.RemoteAddr)
		h.fail(w, r, http.StatusForbidden, "This session is read-only: log in with a token of API_TOKEN to change anything.")
		return
	}
	if !strings.HasPrefix(r.URL.Path, staticPrefix) {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r.WithContext(withSession(apicron.WithActor(r.Context(), sess.Actor), sess)))
}

// needLogin sends a browser to the login page, and an htmx request (a
// fragment polled after the session expired) there by HX-Redirect.
func (h *Handler) needLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Header.Get("HX-Request") != "" {
		// A polled fragment: after the login, the page that polled it.
		next = "/"
		if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && u.Path != "" {
			next = u.RequestURI()
		}
	}
	to := "/ui/login?next=" + urlQueryEscape(next)
	switch {
	case r.Header.Get("HX-Request") != "":
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusUnauthorized)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		http.Redirect(w, r, to, http.StatusSeeOther)
	default:
		h.fail(w, r, http.StatusUnauthorized, "Log in first.")
	}
}

// SessionAccess reports whether r carries a valid dashboard session and
// whether it is read-only: for the API, so that its reference (/docs) and
// its operations answer a logged-in browser. Without tokens there is no
// session to carry: ok is false.
func (h *Handler) SessionAccess(r *http.Request) (actor string, readOnly, ok bool) {
	if h.sessions == nil {
		return "", false, false
	}
	switch sess := h.sessions.of(r, h.clock.Now()); sess.Access {
	case accessFull:
		return sess.Actor, false, true
	case accessRead:
		return sess.Actor, true, true
	}
	return "", false, false
}

// now returns the current time in UTC.
func (h *Handler) now() time.Time { return h.clock.Now().UTC() }

// notify tells the engine a schedule changed; it never blocks.
func (h *Handler) notify(id int64) {
	if h.notifier != nil {
		h.notifier.Changed(id)
	}
}
