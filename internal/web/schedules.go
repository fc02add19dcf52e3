package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// schedulesPage is how many schedules a page of the list shows.
const schedulesPage = 50

type schedulesData struct {
	Rows []scheduleRow
	// Prev and Next are the offsets of the neighbouring pages; -1: none.
	Prev, Next int
	Total      int
}

// scheduleRow is one schedule and its counters.
type scheduleRow struct {
	*apicron.Schedule
	Metrics *apicron.ScheduleMetrics // nil: none yet
	NextAt  *time.Time               // when the next run is sent (its fire time)
}

func (h *Handler) listSchedules(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	offset = max(offset, 0)
	p := apicron.Page{Limit: schedulesPage, Offset: offset}
	list, total, err := h.store.FindSchedules(r.Context(), apicron.ScheduleFilter{Limit: p.Limit, Offset: p.Offset})
	if err != nil {
		h.failErr(w, r, "list schedules", err)
		return
	}
	// The same page of the counters: both lists are by id.
	metrics, _, err := h.store.ScheduleMetrics(r.Context(), p)
	if err != nil {
		h.failErr(w, r, "list schedules", err)
		return
	}
	byID := make(map[int64]*apicron.ScheduleMetrics, len(metrics))
	for _, m := range metrics {
		byID[m.ScheduleID] = m
	}
	d := schedulesData{Prev: -1, Next: -1, Total: total}
	for _, s := range list {
		d.Rows = append(d.Rows, scheduleRow{Schedule: s, Metrics: byID[s.ID], NextAt: nextFire(s)})
	}
	if offset > 0 {
		d.Prev = max(offset-schedulesPage, 0)
	}
	if offset+len(list) < total {
		d.Next = offset + len(list)
	}
	h.render(w, r, http.StatusOK, "schedules", "Schedules", "schedules", d)
}

// nextFire is when s next sends a request: its next occurrence plus its
// jitter, as the API's next_fire_at.
func nextFire(s *apicron.Schedule) *time.Time {
	if s.NextRunAt == nil {
		return nil
	}
	t := s.FireAt(*s.NextRunAt)
	return &t
}

// upcomingCount is how many next occurrences a schedule's page shows.
const upcomingCount = 10

type scheduleData struct {
	Schedule *apicron.Schedule
	Target   *apicron.Target // nil if it could not be read
	NextAt   *time.Time
	Alert    *apicron.AlertState
	Upcoming []upcoming
	Runs     []*apicron.Run
	CanRun   bool
}

// upcoming is one planned occurrence, as GET /schedules/{id}/preview shows it.
type upcoming struct {
	At, FireAt time.Time
	DST        string
}

func (h *Handler) showSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	s, err := h.store.FindScheduleByID(ctx, id)
	if err != nil {
		h.failErr(w, r, "get schedule", err)
		return
	}
	d := scheduleData{Schedule: s, NextAt: nextFire(s), CanRun: h.runner != nil}
	if d.Target, err = h.store.FindTargetByID(ctx, s.TargetID); err != nil && apicron.ErrorCode(err) != apicron.ENOTFOUND {
		h.failErr(w, r, "get schedule", err)
		return
	}
	if d.Alert, err = h.store.AlertState(ctx, id); err != nil {
		h.failErr(w, r, "get schedule", err)
		return
	}
	// The preview the API's GET /schedules/{id}/preview makes.
	for _, o := range s.Upcoming(h.clock.Now(), upcomingCount) {
		d.Upcoming = append(d.Upcoming, upcoming{At: o.At, FireAt: s.FireAt(o.At), DST: o.DST})
	}
	if d.Runs, _, err = h.store.FindRuns(ctx, apicron.RunFilter{ScheduleID: &id, Limit: 20, CountLimit: 21}); err != nil {
		h.failErr(w, r, "get schedule", err)
		return
	}
	h.render(w, r, http.StatusOK, "schedule", s.Name, "schedules", d)
}

// back sends the browser to the schedule's page after a change.
func back(w http.ResponseWriter, r *http.Request, id int64) {
	http.Redirect(w, r, "/ui/schedules/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// pauseSchedule pauses it with the form's reason, as POST /schedules/{id}/pause.
func (h *Handler) pauseSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := h.store.PauseSchedule(r.Context(), id, apicron.PauseRequest{Reason: reason}); err != nil {
		h.failErr(w, r, "pause schedule", err)
		return
	}
	h.notify(id)
	back(w, r, id)
}

func (h *Handler) resumeSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	if _, err := h.store.ResumeSchedule(r.Context(), id); err != nil {
		h.failErr(w, r, "resume schedule", err)
		return
	}
	h.notify(id)
	back(w, r, id)
}

// runSchedule runs it now, as POST /schedules/{id}/trigger: the store
// inserts a manual run and the dispatcher sends it.
func (h *Handler) runSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	if h.runner == nil {
		h.fail(w, r, http.StatusServiceUnavailable, "This server runs no engine: manual runs are not available.")
		return
	}
	job, err := h.runner.TriggerRun(r.Context(), id, false)
	if err != nil {
		h.failErr(w, r, "run schedule", err)
		return
	}
	h.dispatcher.Submit(job)
	http.Redirect(w, r, "/ui/runs/"+strconv.FormatInt(job.RunID, 10), http.StatusSeeOther)
}
