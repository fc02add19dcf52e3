package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// The overview reads counters, never the runs table: SystemMetrics (the
// service's run_stats row, schedules by status, the per-minute counts),
// RunsPerMinute (run_stats_minute), FailingSchedules (run_stats) and, for
// the latest failures, one FindRuns per failed status with a small limit,
// which the runs_status (status, id) index answers from its end.

// overviewFailures is how many recent failures the overview lists.
const overviewFailures = 10

// failedStatuses are the final statuses that count as failures.
var failedStatuses = []apicron.RunStatus{apicron.Failed, apicron.Timeout, apicron.DNSError, apicron.ConnectionError}

// healthTimeout bounds the engine's health report, as /health does.
const healthTimeout = 3 * time.Second

type overviewData struct {
	Metrics  *apicron.SystemMetrics
	Statuses []statusCount // schedules by status
	Runs     []statusCount // finished runs by status
	// Range is the charts' span: "1h" or "24h".
	Range string
	// Chart is the runs finished per minute of the range by outcome, as
	// the chart reads them: [[unix seconds...], [succeeded...], [failed...],
	// [interrupted...]]. Latency and Lateness are the minutes' p50, p95 and
	// p99 in ms: [[unix seconds...], [p50...], [p95...], [p99...]], null in
	// a minute without a run sent.
	Chart             [4][]int64
	Latency, Lateness [4][]*float64
	ChartRuns         int64
	Failing           []*apicron.FailingSchedule
	NFailing          int
	Failures          []*apicron.Run
	Health            *healthView
}

type statusCount struct {
	Status string
	N      int64
}

type healthView struct {
	NodeID string
	apicron.EngineHealth
	Database string // "ok", or why not
	Writes   string // "ok", or the faults
	Error    string
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.now()
	m, err := h.store.SystemMetrics(ctx, now)
	if err != nil {
		h.failErr(w, r, "overview: metrics", err)
		return
	}
	d := overviewData{Metrics: m}
	for _, s := range []apicron.ScheduleStatus{apicron.Active, apicron.Paused, apicron.Stopped} {
		d.Statuses = append(d.Statuses, statusCount{string(s), m.SchedulesByStatus[s]})
	}
	for _, s := range apicron.RunStatuses {
		if s != apicron.Running {
			d.Runs = append(d.Runs, statusCount{string(s), m.RunsByStatus[s]})
		}
	}
	span := time.Hour
	d.Range = "1h"
	if r.URL.Query().Get("range") == "24h" {
		span, d.Range = 24*time.Hour, "24h"
	}
	if err = h.charts(ctx, &d, now, span); err != nil {
		h.failErr(w, r, "overview: runs per minute", err)
		return
	}
	if d.Failing, d.NFailing, err = h.store.FailingSchedules(ctx, 10); err != nil {
		h.failErr(w, r, "overview: failing schedules", err)
		return
	}
	if d.Failures, err = h.recentFailures(ctx); err != nil {
		h.failErr(w, r, "overview: recent failures", err)
		return
	}
	d.Health = h.health(ctx)
	h.render(w, r, http.StatusOK, "overview", "Overview", "overview", d)
}

// charts fills d's charts with each minute of the span up to now, the
// current one included, from the per-minute counters (at most one row a
// minute: 1,440 for a day).
func (h *Handler) charts(ctx context.Context, d *overviewData, now time.Time, span time.Duration) error {
	end := now.Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-span)
	list, err := h.store.RunsPerMinute(ctx, start, end)
	if err != nil {
		return err
	}
	byMinute := make(map[int64]*apicron.MinuteRuns, len(list))
	for i := range list {
		byMinute[list[i].Minute.Unix()] = &list[i]
	}
	n := int(span / time.Minute)
	for i := range d.Chart {
		d.Chart[i] = make([]int64, 0, n)
		if i > 0 {
			d.Latency[i], d.Lateness[i] = make([]*float64, 0, n), make([]*float64, 0, n)
		}
	}
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		x := t.Unix()
		var ok, failed, interrupted int64
		lat, late := [3]*float64{}, [3]*float64{}
		if m := byMinute[x]; m != nil {
			d.ChartRuns += m.Runs
			ok, interrupted = m.ByStatus[apicron.Success], m.ByStatus[apicron.Interrupted]
			for _, s := range failedStatuses {
				failed += m.ByStatus[s]
			}
			if m.ByStatus == nil || ok+failed+interrupted == 0 { // a minute recorded before the counters by outcome
				ok = m.Runs
			}
			for i := range 3 {
				if m.Latency[i] > 0 || m.Lateness[i] > 0 {
					lat[i], late[i] = &m.Latency[i], &m.Lateness[i]
				}
			}
		}
		d.Chart[0], d.Chart[1], d.Chart[2], d.Chart[3] = append(d.Chart[0], x), append(d.Chart[1], ok), append(d.Chart[2], failed),
			append(d.Chart[3], interrupted)
		for i := range 3 {
			d.Latency[i+1], d.Lateness[i+1] = append(d.Latency[i+1], lat[i]), append(d.Lateness[i+1], late[i])
		}
	}
	// uPlot wants the x values in every series' data: the first row of the
	// latency charts is the same times.
	d.Latency[0], d.Lateness[0] = floatTimes(d.Chart[0]), floatTimes(d.Chart[0])
	return nil
}

func floatTimes(xs []int64) []*float64 {
	out := make([]*float64, len(xs))
	for i, x := range xs {
		f := float64(x)
		out[i] = &f
	}
	return out
}

// recentFailures returns the latest failed runs: the newest few of each
// failed status, merged newest first.
func (h *Handler) recentFailures(ctx context.Context) ([]*apicron.Run, error) {
	var all []*apicron.Run
	for _, s := range failedStatuses {
		// CountLimit 1: the count, which a list needs no more of, reads one run.
		runs, _, err := h.store.FindRuns(ctx, apicron.RunFilter{Status: &s, Limit: overviewFailures, CountLimit: 1})
		if err != nil {
			return nil, err
		}
		all = append(all, runs...)
	}
	slices.SortFunc(all, func(a, b *apicron.Run) int { return cmp.Compare(b.ID, a.ID) })
	return all[:min(len(all), overviewFailures)], nil
}

// health is what /health says of the database and the engine.
func (h *Handler) health(ctx context.Context) *healthView {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	v := &healthView{NodeID: h.nodeID, Database: "ok", Writes: "ok"}
	if err := h.store.Ping(ctx); err != nil {
		v.Database = apicron.ErrorMessage(err)
	}
	if h.healthFunc == nil {
		return v
	}
	eh, err := h.healthFunc(ctx)
	v.EngineHealth = eh
	if len(eh.WriteFaults) > 0 {
		v.Writes = strings.Join(eh.WriteFaults, "; ")
	}
	if err != nil {
		v.Error = apicron.ErrorMessage(err)
	}
	return v
}
