package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// schedulesPage is how many schedules a page of the list shows.
const schedulesPage = 50

type schedulesData struct {
	Rows []scheduleRow
	// Prev and Next are the queries of the neighbouring pages; "": none.
	Prev, Next string
	Total      int
	Filter     scheduleListFilter
	Statuses   []apicron.ScheduleStatus
	Types      []apicron.ScheduleType
	Targets    []*apicron.Target
	Error      string
}

// scheduleListFilter is the list's filter form, as the query has it.
type scheduleListFilter struct {
	Q, Status, Kind, Target string
}

func (f scheduleListFilter) query(offset int) string {
	q := url.Values{}
	for k, v := range map[string]string{"q": f.Q, "status": f.Status, "kind": f.Kind, "target": f.Target} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q.Encode()
}

// scheduleRow is one schedule, its latest outcomes and when it next runs.
type scheduleRow struct {
	*apicron.Schedule
	// Outcomes are its latest runs' statuses, oldest first (the bar reads
	// left to right); Last the latest finished one's.
	Outcomes []apicron.RunStatus
	Last     apicron.RunStatus
	NextAt   *time.Time // when the next run is sent (its fire time)
}

// targetChoices is how many targets the schedule filters and form offer
// in a list; beyond them a target is given by its id.
const targetChoices = 200

func (h *Handler) listSchedules(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	lf := scheduleListFilter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Kind: q.Get("kind"), Target: q.Get("target")}
	d := schedulesData{Filter: lf, Statuses: apicron.ScheduleStatuses, Types: apicron.ScheduleTypes}
	f := apicron.ScheduleFilter{Limit: schedulesPage, Offset: offset, NameContains: lf.Q}
	if lf.Status != "" {
		st := apicron.ScheduleStatus(lf.Status)
		if !slices.Contains(apicron.ScheduleStatuses, st) {
			d.Error = "Unknown status."
		}
		f.Status = &st
	}
	if lf.Kind != "" {
		k := apicron.ScheduleType(lf.Kind)
		if !slices.Contains(apicron.ScheduleTypes, k) {
			d.Error = "Unknown kind."
		}
		f.Type = &k
	}
	if lf.Target != "" {
		id, err := strconv.ParseInt(lf.Target, 10, 64)
		if err != nil || id < 1 {
			d.Error = "Target must be an id."
		}
		f.TargetID = &id
	}
	ctx := r.Context()
	var err error
	if d.Targets, _, err = h.store.FindTargets(ctx, apicron.Page{Limit: targetChoices}); err != nil {
		h.failErr(w, r, "list schedules", err)
		return
	}
	if d.Error != "" {
		h.render(w, r, http.StatusUnprocessableEntity, "schedules", "Schedules", "schedules", d)
		return
	}
	list, total, err := h.store.FindSchedules(ctx, f)
	if err != nil {
		h.failErr(w, r, "list schedules", err)
		return
	}
	ids := make([]int64, 0, len(list))
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	// One query for the page's bars, at most 50 runs a schedule.
	outcomes, err := h.store.RecentOutcomes(ctx, ids, apicron.MaxRecentOutcomes)
	if err != nil {
		h.failErr(w, r, "list schedules", err)
		return
	}
	d.Total = total
	for _, s := range list {
		row := scheduleRow{Schedule: s, NextAt: nextFire(s)}
		o := outcomes[s.ID] // newest first
		for _, st := range o {
			if st != apicron.Running {
				row.Last = st
				break
			}
		}
		row.Outcomes = slices.Clone(o)
		slices.Reverse(row.Outcomes)
		d.Rows = append(d.Rows, row)
	}
	if offset > 0 {
		d.Prev = "?" + lf.query(max(offset-schedulesPage, 0))
	}
	if offset+len(list) < total {
		d.Next = "?" + lf.query(offset+len(list))
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
	// Outcomes are the latest runs' statuses, oldest first; Chart their
	// latency and lateness in ms: [[unix seconds...], [latency...],
	// [lateness...]], null for a run that was not sent.
	Outcomes []apicron.RunStatus
	Chart    [3][]*float64
	Events   []*apicron.ScheduleEvent
	// Ledger is what became of each occurrence of the last hour, newest
	// first; LedgerMore says the hour held more than it lists.
	Ledger     []apicron.LedgerEntry
	LedgerMore bool
}

// scheduleChartRuns is how many of its latest runs a schedule's chart shows.
const scheduleChartRuns = 200

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
	// The latest runs, read in order from the schedule's index of runs:
	// the table shows 20 of them, the chart and the bar all.
	runs, _, err := h.store.FindRuns(ctx, apicron.RunFilter{ScheduleID: &id, Limit: scheduleChartRuns, CountLimit: 1})
	if err != nil {
		h.failErr(w, r, "get schedule", err)
		return
	}
	d.Runs = runs[:min(len(runs), 20)]
	d.Outcomes, d.Chart = runSeries(runs)
	if d.Events, err = h.store.FindEvents(ctx, id, 0, 20); err != nil {
		h.failErr(w, r, "get schedule", err)
		return
	}
	now := h.clock.Now()
	if _, d.Ledger, d.LedgerMore, err = h.store.Ledger(ctx, id, now.Add(-time.Hour), now, now); err != nil {
		h.failErr(w, r, "get schedule", err)
		return
	}
	slices.Reverse(d.Ledger)
	d.Ledger = d.Ledger[:min(len(d.Ledger), 50)]
	h.render(w, r, http.StatusOK, "schedule", s.Name, "schedules", d)
}

// runSeries returns runs' statuses (the last 50) and their latency and
// lateness, oldest first, as the schedule page's bar and chart read them.
func runSeries(runs []*apicron.Run) ([]apicron.RunStatus, [3][]*float64) {
	var outcomes []apicron.RunStatus
	var chart [3][]*float64
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Status == apicron.Running {
			continue
		}
		if i < apicron.MaxRecentOutcomes {
			outcomes = append(outcomes, r.Status)
		}
		x := float64(r.ScheduledAt.Unix())
		lat, late := r.LatencyMs, (*float64)(nil)
		if sent := r.ErrorType != apicron.ErrHostLimit && r.ErrorType != apicron.ErrRateLimit; sent && !r.StartedAt.IsZero() {
			v := float64(r.StartedAt.Sub(r.ScheduledAt.Add(r.Jitter)).Milliseconds())
			late = &v
		}
		chart[0], chart[1], chart[2] = append(chart[0], &x), append(chart[1], lat), append(chart[2], late)
	}
	return outcomes, chart
}

// back sends the browser to the schedule's page after a change.
func back(w http.ResponseWriter, r *http.Request, id int64) {
	http.Redirect(w, r, "/ui/schedules/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// pauseSchedule pauses it with the form's reason and until (on its zone's
// wall clock), as POST /schedules/{id}/pause.
func (h *Handler) pauseSchedule(w http.ResponseWriter, r *http.Request) {
	id, s, ok := byID(h, w, r, "pause schedule", h.store.FindScheduleByID)
	if !ok {
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	loc, _ := apicron.LoadZone("timezone", s.Timezone)
	p := apicron.PauseRequest{Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	var err error
	if p.Until, err = formTime("until", r.PostFormValue("until"), loc); err != nil {
		h.failErr(w, r, "pause schedule", err)
		return
	}
	if _, err := h.store.PauseSchedule(r.Context(), id, p); err != nil {
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

// scheduleForm is a schedule's form as posted and as shown again. Times
// are on the wall clock of its zone (datetime-local fields).
type scheduleForm struct {
	ID                                 int64 // 0: a new schedule
	Name, Target, Type                 string
	Interval, Duration, Cron, Timezone string
	RunAt, StartAt, EndAt              string
	MaxRuns, Jitter, AutoPause         string
	Misfire, MisfireGrace, Overlap     string
	MaxParallel, CatchUpMax, KeepRuns  string
	// Assertions are the schedule's own, as JSON; blank: the target's.
	Assertions                         string
	OwnAlert                           bool // false: the default rule
	Notifiers                          []string
	FailureThreshold, SuccessThreshold string
	Realert                            string
	OnAutoPause, OnWindowEnd           bool
	RetryInterrupted                   bool
}

// newScheduleForm fills the form from s (nil: a new schedule in zone).
func newScheduleForm(s *apicron.Schedule, zone string) scheduleForm {
	if s == nil {
		return scheduleForm{Type: string(apicron.Cron), Timezone: zone, Overlap: string(apicron.OverlapSkip),
			Misfire: string(apicron.MisfireCoalesce)}
	}
	f := scheduleForm{ID: s.ID, Name: s.Name, Target: strconv.FormatInt(s.TargetID, 10), Type: string(s.Type),
		Cron: s.CronExpression, Timezone: s.Timezone, Duration: itoa(s.DurationSeconds),
		RunAt: localValue(s.RunAt, s.Timezone), StartAt: localValue(s.StartAt, s.Timezone), EndAt: localValue(s.EndAt, s.Timezone),
		MaxRuns: itoa(s.MaxRuns), AutoPause: itoa(s.AutoPauseAfter), MisfireGrace: itoa(s.MisfireGraceSeconds),
		Overlap: string(s.OverlapPolicy), Misfire: string(s.MisfirePolicy),
		MaxParallel: itoa(s.MaxParallel), CatchUpMax: itoa(s.CatchUpMax), KeepRuns: itoa(s.KeepRuns), RetryInterrupted: s.RetryInterrupted}
	if s.Assertions != nil {
		f.Assertions = assertionsJSON(*s.Assertions)
	}
	if s.IntervalSeconds != 0 {
		f.Interval = strconv.Itoa(s.IntervalSeconds)
	}
	if s.JitterSeconds != 0 {
		f.Jitter = strconv.Itoa(s.JitterSeconds)
	}
	if f.Overlap == "" {
		f.Overlap = string(apicron.OverlapSkip)
	}
	if f.Misfire == "" {
		f.Misfire = string(apicron.MisfireCoalesce)
	}
	if a := s.Alert; a != nil {
		f.OwnAlert, f.OnAutoPause, f.OnWindowEnd = true, a.OnAutoPause, a.OnWindowEnd
		f.FailureThreshold, f.SuccessThreshold = strconv.Itoa(a.FailureThreshold), strconv.Itoa(a.SuccessThreshold)
		f.Realert = strconv.Itoa(a.RealertMinutes)
		for _, id := range a.NotifierIDs {
			f.Notifiers = append(f.Notifiers, strconv.FormatInt(id, 10))
		}
	}
	return f
}

func readScheduleForm(r *http.Request, id int64) scheduleForm {
	v := r.PostForm
	return scheduleForm{ID: id, Name: v.Get("name"), Target: v.Get("target_id"), Type: v.Get("schedule_type"),
		Interval: v.Get("interval_seconds"), Duration: v.Get("duration_seconds"), Cron: v.Get("cron_expression"),
		Timezone: strings.TrimSpace(v.Get("timezone")), RunAt: v.Get("run_at"), StartAt: v.Get("start_at"), EndAt: v.Get("end_at"),
		MaxRuns: v.Get("max_runs"), Jitter: v.Get("jitter_seconds"), AutoPause: v.Get("auto_pause_after"),
		Misfire: v.Get("misfire_policy"), MisfireGrace: v.Get("misfire_grace_seconds"), Overlap: v.Get("overlap_policy"),
		MaxParallel: v.Get("max_parallel"), CatchUpMax: v.Get("catch_up_max"), KeepRuns: v.Get("keep_runs"), Assertions: v.Get("assertions"),
		OwnAlert: v.Get("own_alert") == "on", Notifiers: v["alert_notifier"], FailureThreshold: v.Get("failure_threshold"),
		SuccessThreshold: v.Get("success_threshold"), Realert: v.Get("realert_minutes"),
		OnAutoPause: v.Get("on_auto_pause") == "on", OnWindowEnd: v.Get("on_window_end") == "on",
		RetryInterrupted: v.Get("retry_interrupted") == "on"}
}

// schedule converts the form as the API's newScheduleFrom converts a
// create body; the caller validates.
func (f scheduleForm) schedule(defaultZone string) (*apicron.Schedule, error) {
	s := &apicron.Schedule{Name: strings.TrimSpace(f.Name), Type: apicron.ScheduleType(f.Type), Timezone: f.Timezone,
		CronExpression: strings.TrimSpace(f.Cron), OverlapPolicy: apicron.OverlapPolicy(f.Overlap), MisfirePolicy: apicron.MisfirePolicy(f.Misfire),
		RetryInterrupted: f.RetryInterrupted}
	if s.Timezone == "" {
		s.Timezone = defaultZone
	}
	loc, err := apicron.LoadZone("timezone", s.Timezone)
	if err != nil {
		return nil, err
	}
	if f.Target != "" {
		if s.TargetID, err = strconv.ParseInt(f.Target, 10, 64); err != nil {
			return nil, apicron.Invalid("target_id", "must be a target id")
		}
	}
	ints := []struct {
		field, v string
		dst      **int
	}{{"duration_seconds", f.Duration, &s.DurationSeconds}, {"max_runs", f.MaxRuns, &s.MaxRuns},
		{"auto_pause_after", f.AutoPause, &s.AutoPauseAfter}, {"misfire_grace_seconds", f.MisfireGrace, &s.MisfireGraceSeconds},
		{"max_parallel", f.MaxParallel, &s.MaxParallel}, {"catch_up_max", f.CatchUpMax, &s.CatchUpMax}, {"keep_runs", f.KeepRuns, &s.KeepRuns}}
	for _, c := range ints {
		if *c.dst, err = formInt(c.field, c.v); err != nil {
			return nil, err
		}
	}
	if s.Type != apicron.Window {
		s.DurationSeconds = nil
	}
	for _, c := range []struct {
		field, v string
		dst      *int
	}{{"interval_seconds", f.Interval, &s.IntervalSeconds}, {"jitter_seconds", f.Jitter, &s.JitterSeconds}} {
		p, err := formInt(c.field, c.v)
		if err != nil {
			return nil, err
		}
		if p != nil {
			*c.dst = *p
		}
	}
	switch s.Type {
	case apicron.Interval, apicron.Window:
		s.CronExpression = ""
		if strings.TrimSpace(f.Interval) == "" {
			return nil, apicron.Invalid("interval_seconds", "is required for %s schedules", s.Type)
		}
	default:
		s.IntervalSeconds = 0
	}
	if s.Type != apicron.Cron {
		s.CronExpression = ""
	}
	for _, c := range []struct {
		field, v string
		dst      **time.Time
	}{{"run_at", f.RunAt, &s.RunAt}, {"start_at", f.StartAt, &s.StartAt}, {"end_at", f.EndAt, &s.EndAt}} {
		if *c.dst, err = formTime(c.field, c.v, loc); err != nil {
			return nil, err
		}
	}
	if s.Type != apicron.Once {
		s.RunAt = nil
	}
	// The API refuses max_parallel beside another policy than allow, and
	// catch_up_max beside another than catch_up; a value left in a field
	// the chosen policy hides is dropped, as the form shows it is unused.
	if s.OverlapPolicy != apicron.OverlapAllow {
		s.MaxParallel = nil
	}
	if s.MisfirePolicy != apicron.MisfireCatchUp {
		s.CatchUpMax = nil
	}
	if strings.TrimSpace(f.Assertions) != "" {
		list, err := parseAssertions(f.Assertions)
		if err != nil {
			return nil, err
		}
		s.Assertions = &list
	}
	if f.OwnAlert {
		a := &apicron.AlertRule{OnAutoPause: f.OnAutoPause, OnWindowEnd: f.OnWindowEnd}
		for _, c := range []struct {
			field, v string
			dst      *int
		}{{"alert.failure_threshold", f.FailureThreshold, &a.FailureThreshold}, {"alert.success_threshold", f.SuccessThreshold, &a.SuccessThreshold},
			{"alert.realert_minutes", f.Realert, &a.RealertMinutes}} {
			p, err := formInt(c.field, c.v)
			if err != nil {
				return nil, err
			}
			if p != nil {
				*c.dst = *p
			}
		}
		for _, n := range f.Notifiers {
			id, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return nil, apicron.Invalid("alert.notifier_ids", "must be notifier ids")
			}
			a.NotifierIDs = append(a.NotifierIDs, id)
		}
		a.Normalize()
		s.Alert = a
	}
	return s, nil
}

// update is the PUT the form stands for: every field it shows set, as
// the stored schedule's kind has them.
func scheduleUpdate(s, cur *apicron.Schedule, f scheduleForm) apicron.ScheduleUpdate {
	upd := apicron.ScheduleUpdate{Name: &s.Name, TargetID: &s.TargetID, Type: &s.Type, Timezone: &s.Timezone,
		MaxRuns: &s.MaxRuns, JitterSeconds: &s.JitterSeconds, OverlapPolicy: &s.OverlapPolicy, MisfirePolicy: &s.MisfirePolicy,
		Alert: &s.Alert, AutoPauseAfter: &s.AutoPauseAfter, MaxParallel: &s.MaxParallel, CatchUpMax: &s.CatchUpMax,
		KeepRuns: &s.KeepRuns, Assertions: &s.Assertions, RetryInterrupted: &s.RetryInterrupted}
	// The times and the grace are updated only when the form changed them:
	// the form shows a time on the schedule's wall clock (where an hour of
	// autumn reads twice, so reading it back could move it by an hour), and
	// an update that names run_at, end_at or the grace is checked against
	// now, so a schedule whose run_at has passed could not even be renamed.
	unchanged := func(stored *time.Time, shown string) bool {
		return cur.Timezone == s.Timezone && localValue(stored, cur.Timezone) == strings.TrimSpace(shown)
	}
	if !unchanged(cur.StartAt, f.StartAt) {
		upd.StartAt = &s.StartAt
	}
	if !unchanged(cur.EndAt, f.EndAt) {
		upd.EndAt = &s.EndAt
	}
	if !samePtr(s.MisfireGraceSeconds, cur.MisfireGraceSeconds) {
		upd.MisfireGraceSeconds = &s.MisfireGraceSeconds
	}
	switch s.Type {
	case apicron.Interval:
		upd.IntervalSeconds = &s.IntervalSeconds
	case apicron.Window:
		upd.IntervalSeconds, upd.DurationSeconds = &s.IntervalSeconds, s.DurationSeconds
	case apicron.Cron:
		upd.CronExpression = &s.CronExpression
	case apicron.Once:
		if !unchanged(cur.RunAt, f.RunAt) {
			upd.RunAt = s.RunAt
		}
	}
	return upd
}

func samePtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// schedulePage is the data of the schedule form's page.
type schedulePage struct {
	Form      scheduleForm
	Err       fieldError
	Types     []apicron.ScheduleType
	Overlaps  []apicron.OverlapPolicy
	Misfires  []apicron.MisfirePolicy
	Targets   []*apicron.Target
	Notifiers []*apicron.Notifier
	Preview   previewData
}

// previewData is the live preview's: the next occurrences of the form's
// schedule as if created now, or why there are none.
type previewData struct {
	Zone     string
	Upcoming []upcoming
	Error    fieldError
}

func (h *Handler) schedulePage(ctx context.Context, f scheduleForm) (schedulePage, error) {
	p := schedulePage{Form: f, Types: apicron.ScheduleTypes, Overlaps: apicron.OverlapPolicies, Misfires: apicron.MisfirePolicies}
	var err error
	if p.Targets, _, err = h.store.FindTargets(ctx, apicron.Page{Limit: targetChoices}); err != nil {
		return p, err
	}
	if p.Notifiers, _, err = h.store.FindNotifiers(ctx, apicron.Page{Limit: targetChoices}); err != nil {
		return p, err
	}
	// The lists hold the first targetChoices; the form's own choices are
	// added when they lie beyond, so that saving it unchanged changes nothing.
	if id, perr := strconv.ParseInt(f.Target, 10, 64); perr == nil && !slices.ContainsFunc(p.Targets, func(t *apicron.Target) bool { return t.ID == id }) {
		if t, err := h.store.FindTargetByID(ctx, id); err == nil {
			p.Targets = append(p.Targets, t)
		} else if apicron.ErrorCode(err) != apicron.ENOTFOUND {
			return p, err
		}
	}
	if p.Notifiers, err = h.withNotifiers(ctx, p.Notifiers, f.Notifiers); err != nil {
		return p, err
	}
	p.Preview = h.preview(f)
	return p, nil
}

// withNotifiers returns list with the notifiers of ids (decimal) it lacks.
func (h *Handler) withNotifiers(ctx context.Context, list []*apicron.Notifier, ids []string) ([]*apicron.Notifier, error) {
	for _, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || slices.ContainsFunc(list, func(n *apicron.Notifier) bool { return n.ID == id }) {
			continue
		}
		n, err := h.store.FindNotifierByID(ctx, id)
		if apicron.ErrorCode(err) == apicron.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		list = append(list, n)
	}
	return list, nil
}

// preview lays out the form's next occurrences by the code of POST
// /schedules/preview (Schedule.PreviewNew), in the schedule's zone.
func (h *Handler) preview(f scheduleForm) previewData {
	if f.Name == "" {
		f.Name = "preview"
	}
	if f.Target == "" {
		f.Target = "1"
	}
	s, err := f.schedule(h.timezone)
	d := previewData{Zone: f.Timezone}
	if err == nil {
		d.Zone = s.Timezone
		var list []apicron.Occurrence
		if list, err = s.PreviewNew(h.clock.Now(), upcomingCount); err == nil {
			s.Activate(h.clock.Now())
			for _, o := range list {
				d.Upcoming = append(d.Upcoming, upcoming{At: o.At, FireAt: s.FireAt(o.At), DST: o.DST})
			}
		}
	}
	if err != nil {
		d.Error, _ = newFieldError(err)
		if d.Error.Message == "" {
			d.Error.Message = "No preview."
		}
	}
	return d
}

func (h *Handler) newSchedule(w http.ResponseWriter, r *http.Request) {
	if !h.writable(w, r) {
		return
	}
	f := newScheduleForm(nil, h.timezone)
	f.Target = r.URL.Query().Get("target")
	p, err := h.schedulePage(r.Context(), f)
	if err != nil {
		h.failErr(w, r, "new schedule", err)
		return
	}
	h.render(w, r, http.StatusOK, "scheduleform", "New schedule", "schedules", p)
}

func (h *Handler) editSchedule(w http.ResponseWriter, r *http.Request) {
	if !h.writable(w, r) {
		return
	}
	_, s, ok := byID(h, w, r, "get schedule", h.store.FindScheduleByID)
	if !ok {
		return
	}
	p, err := h.schedulePage(r.Context(), newScheduleForm(s, h.timezone))
	if err != nil {
		h.failErr(w, r, "edit schedule", err)
		return
	}
	h.render(w, r, http.StatusOK, "scheduleform", "Edit "+s.Name, "schedules", p)
}

// saveSchedule creates (no {id}) or updates a schedule from its form with
// the API's conversion and store methods, then tells the engine.
func (h *Handler) saveSchedule(w http.ResponseWriter, r *http.Request) {
	var id int64
	if r.PathValue("id") != "" {
		var ok bool
		if id, ok = h.pathID(w, r); !ok {
			return
		}
	}
	if !h.parseForm(w, r) {
		return
	}
	f := readScheduleForm(r, id)
	s, err := f.schedule(h.timezone)
	if err == nil && s.Assertions != nil {
		if err = apicron.ValidateAssertions("assertions", *s.Assertions); err == nil && h.assertionCheck != nil {
			err = h.assertionCheck("assertions", *s.Assertions)
		}
	}
	if err == nil {
		if id == 0 {
			if err = s.Validate(); err == nil {
				err = h.store.CreateSchedule(r.Context(), s)
			}
		} else {
			var cur *apicron.Schedule
			if cur, err = h.store.FindScheduleByID(r.Context(), id); err == nil {
				s, err = h.store.UpdateSchedule(r.Context(), id, scheduleUpdate(s, cur, f))
			}
		}
	}
	if err != nil {
		fe, ok := newFieldError(err)
		if !ok {
			h.failErr(w, r, "save schedule", err)
			return
		}
		p, perr := h.schedulePage(r.Context(), f)
		if perr != nil {
			h.failErr(w, r, "save schedule", perr)
			return
		}
		p.Err = fe
		title := "New schedule"
		if id != 0 {
			title = "Edit schedule"
		}
		h.render(w, r, http.StatusUnprocessableEntity, "scheduleform", title, "schedules", p)
		return
	}
	h.notify(s.ID)
	back(w, r, s.ID)
}

// previewSchedule answers the form's live preview: htmx posts the whole
// form on every change.
func (h *Handler) previewSchedule(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	h.renderFragment(w, r, "scheduleform", "previewFragment", h.preview(readScheduleForm(r, 0)))
}

func (h *Handler) confirmDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	id, s, ok := byID(h, w, r, "get schedule", h.store.FindScheduleByID)
	if !ok {
		return
	}
	path := "/ui/schedules/" + strconv.FormatInt(id, 10)
	h.render(w, r, http.StatusOK, "confirm", "Delete "+s.Name, "schedules", confirmData{
		Question: "Delete schedule " + s.Name + "? Its runs stay as history.", Action: path + "/delete", Back: path})
}

func (h *Handler) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r)
	if !ok {
		return
	}
	if err := h.store.DeleteSchedule(r.Context(), id); err != nil {
		h.failErr(w, r, "delete schedule", err)
		return
	}
	h.notify(id)
	see(w, r, "/ui/schedules")
}

// backfillSchedule records a backfill of the form's range, as POST
// /schedules/{id}/backfill.
func (h *Handler) backfillSchedule(w http.ResponseWriter, r *http.Request) {
	id, s, ok := byID(h, w, r, "backfill schedule", h.store.FindScheduleByID)
	if !ok {
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	loc, _ := apicron.LoadZone("timezone", s.Timezone)
	req := apicron.BackfillRequest{}
	since, err := formTime("since", r.PostFormValue("since"), loc)
	var until *time.Time
	if err == nil {
		until, err = formTime("until", r.PostFormValue("until"), loc)
	}
	var rate *int
	if err == nil {
		rate, err = formInt("rate_per_second", r.PostFormValue("rate_per_second"))
	}
	if err == nil {
		if since == nil || until == nil {
			err = apicron.Invalid("since", "a backfill needs a start and an end")
		} else {
			req.Since, req.Until = *since, *until
			if rate != nil {
				req.RatePerSecond = *rate
			}
			_, err = h.store.CreateBackfill(r.Context(), id, req)
		}
	}
	if err != nil {
		h.failErr(w, r, "backfill schedule", err)
		return
	}
	h.notify(id)
	back(w, r, id)
}
