package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ListTargets returns a page of targets and how many there are in all.
func (c *Client) ListTargets(ctx context.Context, p Page) ([]Target, int, error) {
	var out []Target
	n, err := c.list(ctx, "/targets", p.query(), &out)
	return out, n, err
}

// AllTargets returns every target, reading as many pages as it takes.
func (c *Client) AllTargets(ctx context.Context) ([]Target, error) {
	return all[Target](ctx, c, "/targets", nil)
}

// GetTarget returns target id (404: an *Error that IsNotFound).
func (c *Client) GetTarget(ctx context.Context, id int64) (*Target, error) {
	var out Target
	_, err := c.Do(ctx, http.MethodGet, idPath("targets", id), nil, nil, &out)
	return ptr(&out, err)
}

// CreateTarget creates a target.
func (c *Client) CreateTarget(ctx context.Context, body TargetCreate) (*Target, error) {
	return c.CreateTargetRaw(ctx, body)
}

// CreateTargetRaw creates a target from any body that encodes as TargetCreate does.
func (c *Client) CreateTargetRaw(ctx context.Context, body any) (*Target, error) {
	var out Target
	_, err := c.Do(ctx, http.MethodPost, "/targets", nil, body, &out)
	return ptr(&out, err)
}

// UpdateTarget changes the fields body sets and leaves the others.
func (c *Client) UpdateTarget(ctx context.Context, id int64, body TargetUpdate) (*Target, error) {
	return c.UpdateTargetRaw(ctx, id, body)
}

// UpdateTargetRaw is UpdateTarget with any body, such as a map[string]any
// whose nil values are sent as null (back to the default).
func (c *Client) UpdateTargetRaw(ctx context.Context, id int64, body any) (*Target, error) {
	var out Target
	_, err := c.Do(ctx, http.MethodPatch, idPath("targets", id), nil, body, &out)
	return ptr(&out, err)
}

// DeleteTarget deletes a target no schedule uses (409 otherwise).
func (c *Client) DeleteTarget(ctx context.Context, id int64) error {
	_, err := c.Do(ctx, http.MethodDelete, idPath("targets", id), nil, nil, nil)
	return err
}

// ScheduleFilter narrows ListSchedules.
type ScheduleFilter struct {
	Page
	Status   string // ACTIVE, PAUSED or STOPPED
	TargetID int64
}

func (f ScheduleFilter) query() url.Values {
	q := f.Page.query()
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.TargetID != 0 {
		q.Set("target_id", strconv.FormatInt(f.TargetID, 10))
	}
	return q
}

// ListSchedules returns a page of schedules and how many match in all.
func (c *Client) ListSchedules(ctx context.Context, f ScheduleFilter) ([]Schedule, int, error) {
	var out []Schedule
	n, err := c.list(ctx, "/schedules", f.query(), &out)
	return out, n, err
}

// AllSchedules returns every schedule.
func (c *Client) AllSchedules(ctx context.Context) ([]Schedule, error) {
	return all[Schedule](ctx, c, "/schedules", nil)
}

// GetSchedule returns schedule id.
func (c *Client) GetSchedule(ctx context.Context, id int64) (*Schedule, error) {
	var out Schedule
	_, err := c.Do(ctx, http.MethodGet, idPath("schedules", id), nil, nil, &out)
	return ptr(&out, err)
}

// CreateSchedule creates a schedule.
func (c *Client) CreateSchedule(ctx context.Context, body ScheduleCreate) (*Schedule, error) {
	return c.CreateScheduleRaw(ctx, body)
}

// CreateScheduleRaw creates a schedule from any body that encodes as ScheduleCreate does.
func (c *Client) CreateScheduleRaw(ctx context.Context, body any) (*Schedule, error) {
	var out Schedule
	_, err := c.Do(ctx, http.MethodPost, "/schedules", nil, body, &out)
	return ptr(&out, err)
}

// UpdateSchedule changes the fields body sets and leaves the others.
func (c *Client) UpdateSchedule(ctx context.Context, id int64, body ScheduleUpdate) (*Schedule, error) {
	return c.UpdateScheduleRaw(ctx, id, body)
}

// UpdateScheduleRaw is UpdateSchedule with any body (nil map values: null).
func (c *Client) UpdateScheduleRaw(ctx context.Context, id int64, body any) (*Schedule, error) {
	var out Schedule
	_, err := c.Do(ctx, http.MethodPatch, idPath("schedules", id), nil, body, &out)
	return ptr(&out, err)
}

// DeleteSchedule deletes a schedule; its runs stay.
func (c *Client) DeleteSchedule(ctx context.Context, id int64) error {
	_, err := c.Do(ctx, http.MethodDelete, idPath("schedules", id), nil, nil, nil)
	return err
}

// PauseSchedule pauses a schedule; body may be nil, or give a reason and an
// automatic resume. A STOPPED schedule is a 409.
func (c *Client) PauseSchedule(ctx context.Context, id int64, body *PauseBody) (*Schedule, error) {
	var out Schedule
	var b any
	if body != nil {
		b = body
	}
	_, err := c.Do(ctx, http.MethodPost, idPath("schedules", id)+"/pause", nil, b, &out)
	return ptr(&out, err)
}

// ResumeSchedule resumes a paused schedule.
func (c *Client) ResumeSchedule(ctx context.Context, id int64) (*Schedule, error) {
	var out Schedule
	_, err := c.Do(ctx, http.MethodPost, idPath("schedules", id)+"/resume", nil, nil, &out)
	return ptr(&out, err)
}

// TriggerSchedule runs a schedule now (trigger manual); force lets it
// overlap a run in flight, which is otherwise a 409.
func (c *Client) TriggerSchedule(ctx context.Context, id int64, force bool) (*TriggeredRun, error) {
	var out TriggeredRun
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	_, err := c.Do(ctx, http.MethodPost, idPath("schedules", id)+"/trigger", q, nil, &out)
	return ptr(&out, err)
}

// PreviewSchedule returns a schedule's next n occurrences (0: 10).
func (c *Client) PreviewSchedule(ctx context.Context, id int64, n int) (*SchedulePreview, error) {
	var out SchedulePreview
	q := url.Values{}
	if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	_, err := c.Do(ctx, http.MethodGet, idPath("schedules", id)+"/preview", q, nil, &out)
	return ptr(&out, err)
}

// ListNotifiers returns a page of notifiers and how many there are.
func (c *Client) ListNotifiers(ctx context.Context, p Page) ([]Notifier, int, error) {
	var out []Notifier
	n, err := c.list(ctx, "/notifiers", p.query(), &out)
	return out, n, err
}

// AllNotifiers returns every notifier.
func (c *Client) AllNotifiers(ctx context.Context) ([]Notifier, error) {
	return all[Notifier](ctx, c, "/notifiers", nil)
}

// GetNotifier returns notifier id.
func (c *Client) GetNotifier(ctx context.Context, id int64) (*Notifier, error) {
	var out Notifier
	_, err := c.Do(ctx, http.MethodGet, idPath("notifiers", id), nil, nil, &out)
	return ptr(&out, err)
}

// CreateNotifier creates a notifier; a name already taken is a 409.
func (c *Client) CreateNotifier(ctx context.Context, body NotifierCreate) (*Notifier, error) {
	return c.CreateNotifierRaw(ctx, body)
}

// CreateNotifierRaw creates a notifier from any body that encodes as NotifierCreate does.
func (c *Client) CreateNotifierRaw(ctx context.Context, body any) (*Notifier, error) {
	var out Notifier
	_, err := c.Do(ctx, http.MethodPost, "/notifiers", nil, body, &out)
	return ptr(&out, err)
}

// UpdateNotifier changes the fields body sets.
func (c *Client) UpdateNotifier(ctx context.Context, id int64, body NotifierUpdate) (*Notifier, error) {
	return c.UpdateNotifierRaw(ctx, id, body)
}

// UpdateNotifierRaw is UpdateNotifier with any body.
func (c *Client) UpdateNotifierRaw(ctx context.Context, id int64, body any) (*Notifier, error) {
	var out Notifier
	_, err := c.Do(ctx, http.MethodPatch, idPath("notifiers", id), nil, body, &out)
	return ptr(&out, err)
}

// DeleteNotifier deletes a notifier no alert rule names (409 otherwise).
func (c *Client) DeleteNotifier(ctx context.Context, id int64) error {
	_, err := c.Do(ctx, http.MethodDelete, idPath("notifiers", id), nil, nil, nil)
	return err
}

// RunFilter narrows ListRuns; zero fields do not filter.
type RunFilter struct {
	Page
	// Cursor continues after the page whose RunPage.NextCursor it is (not with Offset).
	Cursor     string
	ScheduleID int64
	TargetID   int64
	Status     string // SUCCESS, FAILED, ...
	Trigger    string // schedule, manual, backfill, catch_up
	Since      time.Time
	Until      time.Time
}

func (f RunFilter) query() url.Values {
	q := f.Page.query()
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("cursor", f.Cursor)
	if f.ScheduleID != 0 {
		q.Set("schedule_id", strconv.FormatInt(f.ScheduleID, 10))
	}
	if f.TargetID != 0 {
		q.Set("target_id", strconv.FormatInt(f.TargetID, 10))
	}
	set("status", f.Status)
	set("trigger", f.Trigger)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// RunPage is a page of runs, newest first.
type RunPage struct {
	Runs []Run
	// Total counts the matching runs up to 10000 (-1: not sent).
	Total int
	// NextCursor is the next page's RunFilter.Cursor; "" on the last page.
	NextCursor string
}

// ListRuns returns a page of runs, newest first.
func (c *Client) ListRuns(ctx context.Context, f RunFilter) (*RunPage, error) {
	var runs []Run
	r, err := c.Do(ctx, http.MethodGet, "/runs", f.query(), nil, &runs)
	if err != nil {
		return nil, err
	}
	return &RunPage{Runs: runs, Total: total(r), NextCursor: r.Header.Get("X-Next-Cursor")}, nil
}

// GetRun returns a run with its attempts.
func (c *Client) GetRun(ctx context.Context, id int64) (*RunDetail, error) {
	var out RunDetail
	_, err := c.Do(ctx, http.MethodGet, idPath("runs", id), nil, nil, &out)
	return ptr(&out, err)
}

// Health returns GET /health. A node that answers 503 is an *Error with
// status 503 whose Problem.Detail is the body, which says why.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	_, err := c.Do(ctx, http.MethodGet, "/health", nil, nil, &out)
	return ptr(&out, err)
}

// Metrics returns the service-wide metrics (GET /metrics).
func (c *Client) Metrics(ctx context.Context) (*SystemMetrics, error) {
	var out SystemMetrics
	_, err := c.Do(ctx, http.MethodGet, "/metrics", nil, nil, &out)
	return ptr(&out, err)
}

func ptr[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
