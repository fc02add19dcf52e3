package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

//go:embed templates
var templateFiles embed.FS

// The styles, scripts and vendored files (static/vendor, refreshed by
// static/vendor.sh) are served under a prefix that carries a digest of
// them all, so a browser may cache them for good: another build that
// changes any of them serves them under another prefix.
//
//go:embed static
var staticFiles embed.FS

// staticTypes are the only files served from static/, by extension.
var staticTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// staticPrefix is where the static files are served from; staticVersion
// the digest in their URLs.
const staticPrefix = "/ui/static/"

var staticVersion = func() string {
	h := sha256.New()
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFiles.ReadFile(p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// serveStatic serves /ui/static/<version>/<file>. An old version's URL
// gets today's file, uncached.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	version, file, ok := strings.Cut(r.PathValue("file"), "/")
	ctype := staticTypes[path.Ext(file)]
	if !ok || ctype == "" || !fs.ValidPath(file) {
		http.NotFound(w, r)
		return
	}
	b, err := staticFiles.ReadFile("static/" + file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	if version == staticVersion {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(b))
}

// pages holds each page's template set: the layout and the page.
type pages struct {
	set map[string]*template.Template
}

// pageNames are the files under templates/ besides layout.html.
var pageNames = []string{"login", "error", "overview", "runs", "run", "schedules", "schedule", "targets", "target", "confirm", "scheduleform", "settings", "notifiers", "notifier", "notifications"}

func loadPages() (*pages, error) {
	p := &pages{set: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", name, err)
		}
		p.set[name] = t
	}
	return p, nil
}

// view is what the layout reads; Data is the page's own.
type view struct {
	App     string
	Title   string
	Nav     string
	Static  string
	Session session
	// Open is true without tokens: no login, no logout.
	Open bool
	Data any
}

// render writes page name in the layout with data, or only its template
// fragment when fragment is not empty (an htmx poll).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title, nav string, data any) {
	h.renderTemplate(w, r, status, name, "layout", view{App: h.title, Title: title, Nav: nav,
		Static: staticPrefix + staticVersion + "/", Session: sessionOf(r.Context()), Open: h.sessions == nil, Data: data})
}

// renderFragment writes one template of page name with data alone.
func (h *Handler) renderFragment(w http.ResponseWriter, r *http.Request, name, fragment string, data any) {
	h.renderTemplate(w, r, http.StatusOK, name, fragment, view{App: h.title, Session: sessionOf(r.Context()), Open: h.sessions == nil, Data: data})
}

func (h *Handler) renderTemplate(w http.ResponseWriter, r *http.Request, status int, name, tmpl string, v view) {
	var buf bytes.Buffer
	if err := h.pages.set[name].ExecuteTemplate(&buf, tmpl, v); err != nil {
		h.logger.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail answers with the error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", http.StatusText(status), "", msg)
}

// failErr answers a store error: 404 for ENOTFOUND, 409 for ECONFLICT, 422
// for EINVALID (with their messages, which are the client's), 503 when the
// database does not answer, 500 (logged, no details) for anything else.
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, op string, err error) {
	status := http.StatusInternalServerError
	switch apicron.ErrorCode(err) {
	case apicron.ENOTFOUND:
		status = http.StatusNotFound
	case apicron.ECONFLICT:
		status = http.StatusConflict
	case apicron.EINVALID:
		status = http.StatusUnprocessableEntity
	case apicron.EUNAVAILABLE:
		h.logger.WarnContext(r.Context(), op, "err", err)
		h.fail(w, r, http.StatusServiceUnavailable, "The database does not answer.")
		return
	default:
		h.logger.ErrorContext(r.Context(), op, "err", err)
		h.fail(w, r, status, "Something went wrong; it is in the log.")
		return
	}
	h.fail(w, r, status, apicron.ErrorMessage(err))
}

// pathID returns the {id} of r, or answers 404 and returns false.
func (h *Handler) pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.fail(w, r, http.StatusNotFound, "No such page.")
		return 0, false
	}
	return id, true
}

// byID reads the {id} of r and what find stores under it; when the id is
// bad or the read fails it has answered the request (404, or the error),
// and ok is false.
func byID[T any](h *Handler, w http.ResponseWriter, r *http.Request, what string, find func(context.Context, int64) (T, error)) (int64, T, bool) {
	var zero T
	id, ok := h.pathID(w, r)
	if !ok {
		return 0, zero, false
	}
	v, err := find(r.Context(), id)
	if err != nil {
		h.failErr(w, r, what, err)
		return 0, zero, false
	}
	return id, v, true
}

// funcs are the helpers templates call.
var funcs = template.FuncMap{
	"utc":        formatUTC,
	"inZone":     formatInZone,
	"ms":         formatMs,
	"statusCls":  statusClass,
	"pct":        func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
	"derefInt":   func(p *int) int { return *p },
	"derefFloat": func(p *float64) float64 { return *p },
	"status":     func(p *apicron.RunStatus) string { return string(*p) },
	"lateness":   func(r *apicron.Run) string { return formatDuration(r.StartedAt.Sub(r.ScheduledAt.Add(r.Jitter))) },
	"duration":   formatDuration,
	"has":        slices.Contains[[]string],
	"list":       func(v ...string) []string { return v },
	"jsonText":   jsonText,
}

// formatUTC shows an instant in UTC to the second; "-" for none.
func formatUTC(v any) string {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	case *time.Time:
		if t == nil {
			return "-"
		}
		return formatUTC(*t)
	}
	return "-"
}

// formatInZone shows an instant on the wall clock of zone, with the zone's
// abbreviation, as the engine reads a CRON expression there.
func formatInZone(v any, zone string) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "-"
		}
		t = *x
	}
	loc, err := apicron.LoadZone("timezone", zone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// formatMs shows a latency in milliseconds; "-" when there is none.
func formatMs(v any) string {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case *float64:
		if x == nil {
			return "-"
		}
		f = *x
	default:
		return "-"
	}
	if f >= 100 {
		return strconv.FormatFloat(math.Round(f), 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " ms"
}

// formatDuration shows a duration rounded for a person.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0 && d > -time.Millisecond, d >= 0 && d < time.Millisecond:
		return "0 ms"
	case d.Abs() < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return d.Round(10 * time.Millisecond).String()
}

// statusClass is the CSS class of a run or schedule status.
func statusClass(v any) string {
	var s string
	switch x := v.(type) {
	case apicron.RunStatus:
		s = string(x)
	case *apicron.RunStatus:
		if x == nil {
			return "st-none"
		}
		s = string(*x)
	case apicron.ScheduleStatus:
		s = string(x)
	case string:
		s = x
	}
	switch s {
	case "SUCCESS", "ACTIVE", "ok":
		return "st-ok"
	case "RUNNING":
		return "st-run"
	case "PAUSED", "INTERRUPTED", "STOPPED":
		return "st-idle"
	}
	return "st-bad"
}

// jsonText is v as compact JSON text, for showing (the template escapes it).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
