package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
)

// stepClock is the loader's clock: it tells the instant the loader sets.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *stepClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// claimBatch is the scheduler's default ClaimBatch: the most schedules claimed in one transaction.
const claimBatch = 1000

// fakeResult is what the executor would report for job against a fast
// target: mostly 200s, some 503s and timeouts, one attempt each, the
// response headers the executor keeps.
func fakeResult(job *apicron.Job, rng *rand.Rand) apicron.RunResult {
	started := job.ScheduledAt.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
	lat := 1 + rng.ExpFloat64()*20
	res := apicron.RunResult{
		RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: started,
		Request: apicron.RequestInfo{Method: job.Method, URL: job.URL},
	}
	a := apicron.Attempt{Number: 1, StartedAt: started}
	switch u := rng.IntN(100); {
	case u < 97:
		code, size := 200, int64(2)
		a.Status, a.StatusCode, a.ResponseSize = apicron.Success, &code, &size
		res.ResponseBody = "ok"
	case u < 99:
		code, size := 503, int64(19)
		a.Status, a.StatusCode, a.ResponseSize = apicron.Failed, &code, &size
		a.ErrorType, a.ErrorMessage = apicron.ErrHTTP5xx, "HTTP 503 Service Unavailable"
		res.ResponseBody = "service unavailable"
	default:
		lat = 10000
		a.Status, a.ErrorType, a.ErrorMessage = apicron.Timeout, apicron.ErrTimeout, "no answer within 10s"
	}
	fb := lat * 0.9
	a.LatencyMs = &lat
	a.FinishedAt = started.Add(time.Duration(lat * float64(time.Millisecond)))
	if a.StatusCode != nil {
		a.Timings.FirstByteMs = &fb
		res.ResponseHeaders = map[string]string{"Content-Type": "text/plain", "Content-Length": fmt.Sprint(*a.ResponseSize),
			"Date": a.FinishedAt.Format(http.TimeFormat)}
	}
	res.Status, res.FinishedAt, res.LatencyMs = a.Status, a.FinishedAt, a.LatencyMs
	res.StatusCode, res.ResponseSize, res.ErrorType, res.ErrorMessage = a.StatusCode, a.ResponseSize, a.ErrorType, a.ErrorMessage
	res.Timings = a.Timings
	res.Attempts = []apicron.Attempt{a}
	return res
}

// metrics stores --runs runs through the store's own Claim and Finish (so
// the counters are kept as in production), starts apicron on that database
// and measures the metrics endpoints (and, for contrast, the runs list).
func (h *harness) metrics(ctx context.Context) error {
	o, rep := h.o, h.rep
	rep.N, rep.IntervalS, rep.DurationS = o.schedules, 1, 0
	db, err := newBenchDB(ctx, o.db, h.tmp, o.postgresURL)
	if err != nil {
		return err
	}
	defer h.dropDB(db)
	m := &MetricsRun{RunsRequested: o.runs, Schedules: o.schedules}
	rep.Metrics = m
	steps := (o.runs + o.schedules - 1) / o.schedules
	// The occurrences lie in the past, one second apart, ending about now.
	base := time.Now().Add(-time.Duration(steps+5) * time.Second).Truncate(time.Second)
	clk := &stepClock{t: base}
	cfg := db.storeConfig()
	cfg.Clock = clk
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	target := &apicron.Target{Name: "bench-sink", URL: "http://127.0.0.1:9/hook", Method: "GET"}
	if err := st.CreateTarget(ctx, target); err != nil {
		return err
	}
	ids := make([]int64, 0, o.schedules)
	for i := range o.schedules {
		s := &apicron.Schedule{Name: fmt.Sprintf("bench-%d", i), TargetID: target.ID, Type: apicron.Interval, IntervalSeconds: 1}
		if err := st.CreateSchedule(ctx, s); err != nil {
			return err
		}
		ids = append(ids, s.ID)
	}
	m.LoadMethod = fmt.Sprintf("store.Claim (batches of %d schedules, as the scheduler's ClaimBatch) then store.Finish of the same batch, "+
		"one step per second of a stepped clock; results are synthetic: 97%% 200, 2%% 503, 1%% timeout, one attempt each", claimBatch)
	h.logf("loading %d runs: %d steps of %d schedules through Claim+Finish", o.runs, steps, o.schedules)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	loadDeadline := start.Add(o.loadFor)
	lastLog := start
	var claimDur, finishDur time.Duration
	var loaded int64
load:
	for k := range steps {
		now := base.Add(time.Duration(k) * time.Second)
		clk.set(now)
		for i := 0; i < len(ids); i += claimBatch {
			if ctx.Err() != nil {
				break load
			}
			chunk := ids[i:min(i+claimBatch, len(ids))]
			t0 := time.Now()
			claimed, err := st.Claim(ctx, now, now, chunk, nil)
			claimDur += time.Since(t0)
			if err != nil {
				return fmt.Errorf("claim at step %d: %w", k, err)
			}
			results := make([]apicron.RunResult, 0, len(claimed))
			for _, c := range claimed {
				if c.Job != nil {
					results = append(results, fakeResult(c.Job, rng))
				}
			}
			clk.add(50 * time.Millisecond)
			t1 := time.Now()
			if err := st.Finish(ctx, results); err != nil {
				return fmt.Errorf("finish at step %d: %w", k, err)
			}
			finishDur += time.Since(t1)
			loaded += int64(len(results))
		}
		if time.Now().After(loadDeadline) {
			rep.note("Loading stopped by --load-for (%s) after %s runs; the endpoints were measured with those.", o.loadFor, fmtInt(loaded))
			break
		}
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			el := time.Since(start).Seconds()
			h.logf("loaded %d runs in %.0f s (%.0f/s; claim %.0f s, finish %.0f s)", loaded, el, float64(loaded)/el,
				claimDur.Seconds(), finishDur.Seconds())
		}
	}
	m.RunsLoaded = loaded
	el := time.Since(start)
	m.LoadSeconds, m.LoadRunsPerSec = F(el.Seconds()), F(float64(loaded)/el.Seconds())
	m.ClaimSeconds, m.FinishSeconds = F(claimDur.Seconds()), F(finishDur.Seconds())
	if ctx.Err() != nil {
		return fmt.Errorf("loading stopped after %d runs: %w", loaded, ctx.Err())
	}
	// Quiet the schedules, so the endpoints are measured without firing load.
	for _, id := range ids {
		if _, err := st.PauseSchedule(ctx, id, apicron.PauseRequest{}); err != nil {
			return err
		}
	}
	if err := st.Close(); err != nil {
		return err
	}
	if loaded < 10_000_000 {
		rep.note("Scaled down: %s runs stored instead of 10,000,000.", fmtInt(loaded))
	}
	rep.note("The %d schedules were paused after loading, so apicron fires nothing while the endpoints are measured.", o.schedules)
	sqlDB, err := db.open()
	if err != nil {
		return err
	}
	m.Rows, _ = countRows(ctx, sqlDB, "schedules", "runs", "attempts", "run_stats", "run_stats_minute")
	sqlDB.Close()
	m.DBBytes, _, _ = db.size(ctx)
	m.BytesPerRun = ratio(F(m.DBBytes), F(loaded))

	sk, err := startSink(1024)
	if err != nil {
		return err
	}
	defer sk.close()
	p, err := startApicron(ctx, h.procEnv(db, "apicron.log"), 10*time.Minute)
	if err != nil {
		return err
	}
	defer p.kill()
	if _, err := p.waitHealthy(ctx, time.Minute); err != nil {
		return err
	}
	m.SpawnToListen = F(msOf(p.listening.Sub(p.spawned)))
	api := newAPIClient(p.base)
	var sys struct {
		TotalRuns int64 `json:"total_runs"`
	}
	if _, _, _, err := api.do(ctx, http.MethodGet, "/metrics", nil, &sys); err != nil {
		return err
	}
	rep.note("GET /metrics reports total_runs=%d (runs loaded: %d).", sys.TotalRuns, loaded)
	var recent []idOnly
	if _, _, _, err := api.do(ctx, http.MethodGet, "/runs?limit=1", nil, &recent); err != nil {
		return err
	}
	runID := int64(1)
	if len(recent) > 0 {
		runID = recent[0].ID / 2
	}
	ops := []struct {
		name, path, note string
		page             bool // a dashboard page: its size is reported
	}{
		{"GET /metrics", "/metrics", "", false},
		{"GET /metrics/schedules", "/metrics/schedules", "default page: 100", false},
		{"GET /metrics/schedules?limit=1000", "/metrics/schedules?limit=1000", "", false},
		{"GET /metrics/schedules?limit=100&offset=900", "/metrics/schedules?limit=100&offset=900", "", false},
		{"GET /health", "/health", "", false},
		{"GET /runs?limit=100", "/runs?limit=100", "for contrast: counts every run (X-Total-Count)", false},
		{"GET /runs?schedule_id={id}&limit=100", fmt.Sprintf("/runs?schedule_id=%d&limit=100", ids[len(ids)/2]), "for contrast", false},
		{"GET /runs?status_filter=FAILED&limit=100", "/runs?status_filter=FAILED&limit=100", "for contrast", false},
		{"GET /runs/{id}", fmt.Sprintf("/runs/%d", runID), "for contrast", false},
		{"dashboard: overview", "/", "", true},
		{"dashboard: runs", "/ui/runs", "first page: 50", true},
		{"dashboard: runs of a schedule", fmt.Sprintf("/ui/runs?schedule=%d", ids[len(ids)/2]), "", true},
		{"dashboard: failed runs", "/ui/runs?status=FAILED", "", true},
		{"dashboard: a run", fmt.Sprintf("/ui/runs/%d", runID), "", true},
		{"dashboard: schedules", "/ui/schedules", "", true},
		{"dashboard: a schedule", fmt.Sprintf("/ui/schedules/%d", ids[len(ids)/2]), "", true},
		{"dashboard: targets", "/ui/targets", "", true},
	}
	for _, op := range ops {
		h.logf("measuring %s", op.name)
		_, _, _, _ = api.do(ctx, http.MethodGet, op.path, nil, nil) // warm-up, not counted
		var lats []float64
		errs := 0
		deadline := time.Now().Add(time.Minute)
		size := 0
		for i := 0; i < o.requests && time.Now().Before(deadline) && ctx.Err() == nil; i++ {
			var (
				lat time.Duration
				err error
			)
			if op.page {
				size, lat, err = api.page(ctx, op.path)
			} else {
				_, _, lat, err = api.do(ctx, http.MethodGet, op.path, nil, nil)
			}
			if err != nil {
				errs++
				continue
			}
			lats = append(lats, msOf(lat))
		}
		note := op.note
		if len(lats)+errs < o.requests {
			note = fmt.Sprintf("%s; stopped after 60 s", note)
		}
		m.Ops = append(m.Ops, OpStats{Op: op.name, Latency: summarize(lats), Errors: errs, Bytes: size, Note: note})
	}
	if s, err := sampleProc(p.pid); err == nil {
		m.PeakRSSKB = s.HWMKB
	}
	if _, err := p.stop(2 * time.Minute); err != nil {
		rep.note("apicron stop: %v", err)
	}
	return ctx.Err()
}
