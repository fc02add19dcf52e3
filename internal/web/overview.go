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
	// Chart is the runs finished per minute of the last hour, as the
	// chart reads them: [[unix seconds...], [counts...]].
	Chart    [2][]int64
	Failing  []*apicron.FailingSchedule
	NFailing int
	Failures []*apicron.Run
	Health   *healthView
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
	if d.Chart, err = h.runsChart(ctx, now); err != nil {
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

// runsChart returns the runs finished in each of the last 60 minutes, the
// current one included, as uPlot's data: [[times], [counts]].
func (h *Handler) runsChart(ctx context.Context, now time.Time) ([2][]int64, error) {
	end := now.Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-time.Hour)
	list, err := h.store.RunsPerMinute(ctx, start, end)
	if err != nil {
		return [2][]int64{}, err
	}
	byMinute := make(map[int64]int64, len(list))
	for _, m := range list {
		byMinute[m.Minute.Unix()] = m.Runs
	}
	xs, ys := make([]int64, 0, 60), make([]int64, 0, 60)
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		xs, ys = append(xs, t.Unix()), append(ys, byMinute[t.Unix()])
	}
	return [2][]int64{xs, ys}, nil
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
