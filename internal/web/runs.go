package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/apicron/apicron"
)

// runsPage is how many runs a page of the list shows.
const runsPage = 50

// pollSeconds is how often the first page of runs asks for new ones.
const pollSeconds = 3

// runFilterForm is the filter form's values, as the query string has them.
type runFilterForm struct {
	Schedule, Target, Status, Trigger, Since, Until string
}

type runsData struct {
	Form     runFilterForm
	Statuses []apicron.RunStatus
	Triggers []apicron.Trigger
	Runs     []*apicron.Run
	// Query is the filters' query string, for the poll and the next page.
	Query string
	// Next is the query of the next page; "" on the last.
	Next string
	// Poll is true on the first page: it refreshes itself.
	Poll        bool
	PollSeconds int
	Error       string
}

// timeLayout is how the filter form's datetime-local fields send a time,
// read in UTC.
const timeLayout = "2006-01-02T15:04"

// runFilter reads the filters and the cursor (before: a run id, or with a
// schedule a scheduled_at in unix milliseconds, as the API pages) from q.
func runFilter(q url.Values) (apicron.RunFilter, runFilterForm, string) {
	form := runFilterForm{Schedule: q.Get("schedule"), Target: q.Get("target"), Status: q.Get("status"),
		Trigger: q.Get("trigger"), Since: q.Get("since"), Until: q.Get("until")}
	// One run more than the page tells whether another follows; the count
	// is not shown, so it reads no further.
	f := apicron.RunFilter{Limit: runsPage + 1, CountLimit: runsPage + 1}
	id := func(s, what string) (*int64, string) {
		if s == "" {
			return nil, ""
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1 {
			return nil, what + " must be an id (a whole number above 0)."
		}
		return &v, ""
	}
	at := func(s, what string) (*time.Time, string) {
		if s == "" {
			return nil, ""
		}
		t, err := time.ParseInLocation(timeLayout, s, time.UTC)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, s); err != nil {
				return nil, what + " must be a date and time (UTC)."
			}
		}
		t = t.UTC()
		return &t, ""
	}
	var msg string
	for _, check := range []func() string{
		func() (m string) { f.ScheduleID, m = id(form.Schedule, "Schedule"); return m },
		func() (m string) { f.TargetID, m = id(form.Target, "Target"); return m },
		func() (m string) { f.Since, m = at(form.Since, "From"); return m },
		func() (m string) { f.Until, m = at(form.Until, "To"); return m },
	} {
		if m := check(); m != "" && msg == "" {
			msg = m
		}
	}
	if form.Status != "" {
		s := apicron.RunStatus(form.Status)
		if !slices.Contains(apicron.RunStatuses, s) {
			form.Status, msg = "", "Unknown status."
		} else {
			f.Status = &s
		}
	}
	if form.Trigger != "" {
		tr := apicron.Trigger(form.Trigger)
		if !slices.Contains(apicron.Triggers, tr) {
			form.Trigger, msg = "", "Unknown trigger."
		} else {
			f.Trigger = &tr
		}
	}
	if before, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && before > 0 {
		if f.ScheduleID != nil {
			t := time.UnixMilli(before).UTC()
			f.BeforeScheduledAt = &t
		} else {
			f.BeforeID = before
		}
	}
	return f, form, msg
}

// query is the form's query string, without a cursor.
func (f runFilterForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"schedule": f.Schedule, "target": f.Target, "status": f.Status, "trigger": f.Trigger,
		"since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// findRuns reads the page r asks for.
func (h *Handler) findRuns(r *http.Request) (runsData, error) {
	f, form, msg := runFilter(r.URL.Query())
	d := runsData{Form: form, Statuses: apicron.RunStatuses, Triggers: apicron.Triggers, Error: msg, PollSeconds: pollSeconds}
	d.Query = form.query().Encode()
	d.Poll = f.BeforeID == 0 && f.BeforeScheduledAt == nil
	if msg != "" {
		return d, nil
	}
	runs, _, err := h.store.FindRuns(r.Context(), f)
	if err != nil {
		return d, err
	}
	if len(runs) > runsPage {
		runs = runs[:runsPage]
		last := runs[len(runs)-1]
		q := form.query()
		key := last.ID
		if f.ScheduleID != nil {
			key = last.ScheduledAt.UnixMilli()
		}
		q.Set("before", strconv.FormatInt(key, 10))
		d.Next = q.Encode()
	}
	d.Runs = runs
	return d, nil
}

func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request) {
	d, err := h.findRuns(r)
	if err != nil {
		h.failErr(w, r, "list runs", err)
		return
	}
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	h.render(w, r, status, "runs", "Runs", "runs", d)
}

// runRows is the first page's rows alone, which the page polls for.
func (h *Handler) runRows(w http.ResponseWriter, r *http.Request) {
	d, err := h.findRuns(r)
	if err != nil {
		h.failErr(w, r, "list runs", err)
		return
	}
	h.renderFragment(w, r, "runs", "rows", d)
}

type runData struct {
	Run *apicron.Run
	// Phases are the timing waterfall's bars; Total the run's latency.
	Phases []phase
	Total  *float64
}

// phase is one bar of the waterfall: where it starts and how long it
// lasts, in ms and as percentages of the scale.
type phase struct {
	Name             string
	StartMs, Ms      float64
	StartPct, LenPct float64
}

func (h *Handler) showRun(w http.ResponseWriter, r *http.Request) {
	_, run, ok := byID(h, w, r, "get run", h.store.FindRunByID)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "run", "Run "+strconv.FormatInt(run.ID, 10), "runs",
		runData{Run: run, Phases: waterfall(run.Timings, run.LatencyMs), Total: run.LatencyMs})
}

// waterfall lays the phases of a request end to end: DNS, connect and TLS
// one after the other, then the wait for the first byte (which the
// executor measures from the request's start), then the transfer to the
// total. A phase that did not happen (a reused connection) is left out.
func waterfall(t apicron.Timings, total *float64) []phase {
	var list []phase
	at := 0.0
	for _, p := range []struct {
		name string
		v    *float64
	}{{"DNS", t.DNSMs}, {"Connect", t.ConnectMs}, {"TLS", t.TLSMs}} {
		if p.v != nil {
			list = append(list, phase{Name: p.name, StartMs: at, Ms: *p.v})
			at += *p.v
		}
	}
	end := at
	if t.FirstByteMs != nil && *t.FirstByteMs >= at {
		list = append(list, phase{Name: "First byte", StartMs: at, Ms: *t.FirstByteMs - at})
		end = *t.FirstByteMs
	}
	if total != nil && *total >= end {
		list = append(list, phase{Name: "Transfer", StartMs: end, Ms: *total - end})
		end = *total
	}
	if end <= 0 {
		end = 1
	}
	for i := range list {
		list[i].StartPct = list[i].StartMs / end * 100
		list[i].LenPct = max(list[i].Ms/end*100, 0.5)
	}
	return list
}
