package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// sleepUntil waits for t or ctx.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// many runs the "many" scenario (and "api", which adds API probes to it):
// N schedules created through the API, a firing window, SIGTERM, the runs
// read back, then the baseline firer on the same grids.
func (h *harness) many(ctx context.Context) error {
	o, rep := h.o, h.rep
	db, err := newBenchDB(ctx, o.db, h.tmp, o.postgresURL)
	if err != nil {
		return err
	}
	defer h.dropDB(db)
	if o.db == "postgres" {
		rep.note("Fresh PostgreSQL database %s on %s, dropped afterwards. apicron runs it in shared (cluster) mode: "+
			"claimed runs wait in the database until a node takes them (LISTEN/NOTIFY).", db.pgName, redact(o.postgresURL))
	}
	expect := int(float64(o.n) * (o.duration.Seconds() + 30) / o.interval.Seconds())
	sk, err := startSink(min(expect, 20_000_000))
	if err != nil {
		return err
	}
	defer sk.close()

	h.logf("starting apicron on a fresh %s database", o.db)
	p, err := startApicron(ctx, h.procEnv(db, "apicron.log"), 5*time.Minute)
	if err != nil {
		return err
	}
	defer p.kill()
	healthyAt, err := p.waitHealthy(ctx, time.Minute)
	if err != nil {
		return err
	}
	a := &ApicronRun{}
	rep.Apicron = a
	a.Process.PID = p.pid
	a.SpawnToListeningMs = F(msOf(p.listening.Sub(p.spawned)))
	a.SpawnToHealthyMs = F(msOf(healthyAt.Sub(p.spawned)))
	a.DB.BytesEmpty, _, _ = db.size(ctx)

	var sizes func() (int64, int64) // SQLite's files; PostgreSQL's size would cost a connection a second
	if o.db == "sqlite" {
		sizes = func() (int64, int64) {
			total, wal, _ := db.size(context.Background())
			return total - wal, wal
		}
	}
	var extra *extraNodes
	if o.nodes > 1 {
		h.logf("starting %d more apicron nodes on the same database", o.nodes-1)
		if extra, err = h.startExtraNodes(ctx, db); err != nil {
			return err
		}
		defer extra.kill()
		rep.note("%d apicron processes share the database (NODE_ID %s to %s); the API calls go to the first, and the per-second "+
			"figures inside apicron are the first's. Logs of the others: %s.", o.nodes, nodeID(0), nodeID(o.nodes-1), extra.logs())
	}
	ins := startInternals(p.base, p.pid, sizes)
	defer ins.stop()
	api := newAPIClient(p.base)
	target, err := api.createTarget(ctx, sk.url, o.targetFeatures())
	if err != nil {
		return err
	}
	h.logf("creating %d schedules at %s through the API (%d workers)", o.n, o.interval, o.createWorkers)
	ids, cs, err := api.createSchedules(ctx, o.n, o.createWorkers, target, o.interval, o.kind == "cron", o.timezone)
	a.Create = cs
	if err != nil {
		return err
	}
	h.logf("created in %.2f s (%.0f/s)", float64(cs.Seconds), float64(cs.PerSec))

	steadyFrom := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	windowEnd := steadyFrom.Add(o.duration)
	a.SteadyFrom, a.WindowEnd = steadyFrom.UTC(), windowEnd.UTC()
	stall, err := h.startStall(ctx, p, db, steadyFrom, windowEnd)
	if err != nil {
		return err
	}
	defer stall.stop()
	cpu0, err := sampleProc(p.pid)
	if err != nil {
		return err
	}
	if extra != nil {
		if err := extra.sample(); err != nil {
			return err
		}
	}
	hcpu0 := selfCPU()
	pg0, act0, tab0 := db.backendCPU(ctx), db.activity(ctx), db.tables(ctx)
	mc0 := readCPUTimes()
	mon := startMonitor(p.pid, time.Second)
	var probes func() ([]OpStats, int)
	if o.scenario == "api" {
		probes = startProbes(ctx, api, target, ids, windowEnd, o.apiPause)
	}
	perfDone := make(chan string, 1)
	if o.perf {
		go func() { perfDone <- h.perf(ctx, p.pid, o.duration) }()
	} else {
		perfDone <- ""
	}
	h.logf("firing window %s until %s, then %s drain", o.duration, windowEnd.Format("15:04:05.000"), o.drain)
	waitErr := sleepUntil(ctx, windowEnd.Add(o.drain))
	stall.stop()
	end, err := sampleProc(p.pid)
	if err != nil {
		return fmt.Errorf("sample apicron before SIGTERM: %w", err)
	}
	var ends []procSample
	if extra != nil {
		for _, q := range extra.procs {
			s, err := sampleProc(q.pid)
			if err != nil {
				return fmt.Errorf("sample apicron node before SIGTERM: %w", err)
			}
			ends = append(ends, s)
		}
	}
	hcpu1 := selfCPU()
	mc1 := readCPUTimes()
	pgCPU := backendCPUDelta(pg0, db.backendCPU(ctx))
	act := db.activity(ctx).sub(act0)
	tabs := tablesDelta(tab0, db.tables(ctx))
	a.Samples = mon.stop()
	ins.stop()
	if probes != nil {
		var probeSchedules int
		rep.API, probeSchedules = probes()
		rep.note("The api probes created %d extra schedules (interval 3600 s); they are left out of the delivery figures.", probeSchedules)
	}
	rep.Perf = <-perfDone
	a.DB.BytesLive, a.DB.WALLive, _ = db.size(ctx)
	a.StopRequested = time.Now().UTC()
	stopAt := time.Now()
	if extra != nil {
		extra.stop(h)
	}
	h.logf("SIGTERM to apicron (pid %d)", p.pid)
	stopDur, stopErr := p.stop(2 * time.Minute)
	a.Process.StopMs = F(msOf(stopDur))
	if stopErr != nil {
		a.Process.ExitErr = stopErr.Error()
	}
	a.Process.WarnLines, a.Process.ErrorLines, a.Process.LogSample = p.logCounts()
	a.Unlabelled = sk.unlabelled.Load()
	if waitErr != nil {
		return waitErr
	}
	a.DB.BytesAfterStop, _, _ = db.size(ctx)
	arrivalsAll := sk.take()

	h.logf("reading runs back")
	sqlDB, err := db.open()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	allGrids, err := readGrids(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("read schedules: %w", err)
	}
	runsAll, err := readRuns(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("read runs: %w", err)
	}
	a.DB.Rows, _ = countRows(ctx, sqlDB, "schedules", "runs", "attempts", "run_stats", "run_stats_minute")
	a.Counters, _ = readEngineCounters(ctx, sqlDB)
	rep.Features = featureFigures(ctx, sqlDB, o, sk.signed.Load(), int64(len(arrivalsAll))+a.Unlabelled)
	sqlDB.Close()

	// Only the schedules the scenario created count; the api probes' own are left out.
	grids := map[int64]grid{}
	for _, id := range ids {
		if g, ok := allGrids[id]; ok {
			grids[id] = g
		}
	}
	var arrivals []arrival
	var runs []runRow
	for _, x := range arrivalsAll {
		if _, ok := grids[x.sched]; ok {
			arrivals = append(arrivals, x)
		}
	}
	for _, r := range runsAll {
		if _, ok := grids[r.sched]; ok {
			runs = append(runs, r)
		}
	}
	minAnchor := int64(0)
	for _, g := range grids {
		if minAnchor == 0 || g.anchor < minAnchor {
			minAnchor = g.anchor
		}
	}
	a.FirstAnchor = time.UnixMilli(minAnchor).UTC()
	a.Internals = ins.samples(minAnchor)
	wsMs, weMs := steadyFrom.UnixMilli(), windowEnd.UnixMilli()
	wAll := window{Name: "all", From: minAnchor, To: weMs,
		Note: "every occurrence from each schedule's creation (its first occurrence) to the window's end"}
	wSteady := window{Name: "steady", From: wsMs, To: weMs, MinK: 1,
		Note: "from the moment the last schedule was created to the window's end; first occurrences excluded"}
	wFirst := window{Name: "first", From: minAnchor, To: weMs, OnlyFirst: true,
		Note: "each schedule's first occurrence only: its creation instant, known to the engine only after the API's write"}
	a.Windows = []window{wAll, wSteady, wFirst}
	a.All = compute(wAll, grids, arrivals, runs, true)
	a.Steady = compute(wSteady, grids, arrivals, runs, true)
	a.First = compute(wFirst, grids, arrivals, runs, true)
	for _, x := range arrivals {
		if x.schedAt >= weMs {
			a.AfterWindowSink++
		}
	}
	var runsInCPU int64
	for _, r := range runs {
		if r.schedAt >= weMs {
			a.AfterWindowRuns++
		}
	}
	byNode := map[string]int64{}
	for _, r := range runsAll {
		if r.schedAt >= wsMs && r.schedAt < stopAt.UnixMilli() {
			runsInCPU++
			byNode[r.node]++
		}
	}
	// With --nodes the first process's figures are of its own runs, and
	// the other nodes' CPU is apicron's, not the machine's noise.
	firstRuns, othersCPU := runsInCPU, 0.0
	if extra != nil {
		a.Nodes = extra.shares(p.pid, cpu0, end, ends, byNode)
		extra.health(a.Nodes)
		cpu := 0.0
		for _, n := range a.Nodes {
			cpu += float64(n.CPUWindowSec)
		}
		othersCPU = cpu - (end.CPUSec - cpu0.CPUSec)
		firstRuns = byNode[nodeID(0)]
		a.NodesCPUPer1000 = ratio(F(cpu)*1000, F(runsInCPU))
		a.NodesCPUPer1000WithPG = ratio(F(cpu+pgCPU)*1000, F(runsInCPU))
	}
	pr := &a.Process
	pr.CPUTotalSec = F(end.CPUSec)
	pr.CPUWindowSec = F(end.CPUSec - cpu0.CPUSec)
	pr.CPUUtilWindow = F((end.CPUSec - cpu0.CPUSec) / end.At.Sub(cpu0.At).Seconds())
	pr.RunsInCPUWindow = firstRuns
	pr.CPUPer1000Window = ratio(F(end.CPUSec-cpu0.CPUSec)*1000, F(firstRuns))
	pr.RunsTotal = int64(len(runsAll))
	if extra != nil { // the first node's own
		pr.RunsTotal = 0
		for _, r := range runsAll {
			if r.node == nodeID(0) {
				pr.RunsTotal++
			}
		}
	}
	pr.CPUPer1000Total = ratio(F(end.CPUSec)*1000, F(pr.RunsTotal))
	pr.PeakRSSKB, pr.RSSAtStopKB = end.HWMKB, end.RSSKB
	a.DB.BytesPerRun = ratio(F(a.DB.BytesAfterStop-a.DB.BytesEmpty), F(len(runsAll)))
	a.HarnessCPUSec = F(hcpu1 - hcpu0)
	a.Noise = noiseBetween(mc0, mc1, end.CPUSec-cpu0.CPUSec+othersCPU+hcpu1-hcpu0+pgCPU)
	if o.db == "postgres" {
		pr.PGBackendCPUSec = F(pgCPU)
		pr.CPUPer1000WithPG = ratio(F(end.CPUSec-cpu0.CPUSec+othersCPU+pgCPU)*1000, F(runsInCPU)) // every node's
		pr.PGActivity = &act
		pr.PGTables = tabs
	}
	var sinkReqsInWindow int64
	for _, x := range arrivalsAll {
		if x.at >= cpu0.At.UnixNano() && x.at < end.At.UnixNano() {
			sinkReqsInWindow++
		}
	}
	rep.Chart = perSecond(arrivals, minAnchor, weMs)
	rep.ChartSteadyAt = float64(wsMs-minAnchor) / 1000
	stall.report(rep, grids, arrivals, minAnchor)

	rep.note("Lateness at the sink is the sink handler's entry time minus X-Apicron-Scheduled-At (milliseconds; the grid is " +
		"millisecond-aligned). Lateness in runs is started_at - scheduled_at as stored (whole milliseconds).")
	rep.note("The steady window starts when the last schedule was created and excludes each schedule's first run; " +
		"the 'all' column includes the creation phase and the first runs, whose lateness is also shown alone.")
	rep.note("The harness (sink, and later the baseline firer) runs on the same %d CPUs as apicron; its CPU during the "+
		"window was %.2f s for %d requests. Other work on the machine adds noise (see the load averages).",
		rep.Machine.NProc, hcpu1-hcpu0, sinkReqsInWindow)
	if a.All.Missed > 0 || a.Steady.Missed > 0 {
		rep.note("Missed occurrences are those on a schedule's grid inside the window that never reached the sink; "+
			"the engine coalesces late occurrences (runs.missed sums to %d in the window).", a.All.Coalesced)
	}

	if !o.baseline {
		rep.note("Baseline skipped (--baseline=false).")
		return nil
	}
	// The baseline: the same grids, relative to a new origin, fired by bare timers.
	keys := make([]int64, 0, len(grids))
	for id := range grids {
		keys = append(keys, id)
	}
	slices.Sort(keys)
	offsets := make([]time.Duration, len(keys))
	every := make([]time.Duration, len(keys))
	for i, id := range keys {
		g := grids[id]
		offsets[i] = time.Duration(g.anchor-minAnchor) * time.Millisecond
		every[i] = time.Duration(g.every) * time.Millisecond
	}
	origin := time.Now().Add(time.Second).Truncate(time.Millisecond)
	bEnd := origin.Add(time.Duration(weMs-minAnchor) * time.Millisecond)
	h.logf("baseline: %d bare timers on the same grids for %.1f s", len(keys), bEnd.Sub(origin).Seconds())
	sk.take()
	bcpu0, bmc0 := selfCPU(), readCPUTimes()
	br := runBaseline(ctx, sk, origin, bEnd, offsets, every, o.maxConcurrent)
	bcpu1, bmc1 := selfCPU(), readCPUTimes()
	if err := ctx.Err(); err != nil {
		return err
	}
	bgrids := map[int64]grid{}
	for i := range keys {
		bgrids[int64(i+1)] = grid{id: int64(i + 1), anchor: origin.Add(offsets[i]).UnixMilli(), every: every[i].Milliseconds()}
	}
	o0, oEnd := origin.UnixMilli(), bEnd.UnixMilli()
	oSteady := o0 + (wsMs - minAnchor)
	b := &BaselineRun{Errors: br.Errors, HarnessCPUSec: F(bcpu1 - bcpu0), Origin: origin.UTC(),
		Noise: noiseBetween(bmc0, bmc1, bcpu1-bcpu0)}
	b.All = compute(window{Name: "all", From: o0, To: oEnd}, bgrids, br.arrivals, nil, false)
	b.Steady = compute(window{Name: "steady", From: oSteady, To: oEnd, MinK: 1}, bgrids, br.arrivals, nil, false)
	b.First = compute(window{Name: "first", From: o0, To: oEnd, OnlyFirst: true}, bgrids, br.arrivals, nil, false)
	sinkPer := float64(hcpu1-hcpu0) / float64(max(sinkReqsInWindow, 1))
	b.SinkCPUPer1000 = F(sinkPer * 1000)
	b.HarnessCPUPer1000 = ratio(F(bcpu1-bcpu0)*1000, F(len(br.arrivals)))
	rep.Baseline = b
	rep.BaselineChart = perSecond(br.arrivals, o0, oEnd)
	apicronPer1000 := pr.CPUPer1000Window
	if len(a.Nodes) > 1 {
		apicronPer1000 = a.NodesCPUPer1000 // the firer's cost against every node's
	}
	rep.Ratios = &Ratios{
		FiresPerSec:     ratio(a.Steady.FiresPerSec, b.Steady.FiresPerSec),
		LatenessP50:     ratio(a.Steady.LatenessSink.P50, b.Steady.LatenessSink.P50),
		LatenessP99:     ratio(a.Steady.LatenessSink.P99, b.Steady.LatenessSink.P99),
		LatenessMax:     ratio(a.Steady.LatenessSink.Max, b.Steady.LatenessSink.Max),
		CPUPer1000Runs:  ratio(apicronPer1000, b.HarnessCPUPer1000),
		LatenessP50Diff: a.Steady.LatenessSink.P50 - b.Steady.LatenessSink.P50,
		LatenessP99Diff: a.Steady.LatenessSink.P99 - b.Steady.LatenessSink.P99,
	}
	rep.note("Baseline: one goroutine and one time.Timer per schedule, reset to each grid point, GET to the same sink through a "+
		"keep-alive client tuned like apicron's, at most %d requests in flight, no database. It ran after apicron stopped, "+
		"on the same grid offsets. The harness (firer + sink) used %.2f CPU-s for it, %s CPU-s per 1,000 requests; the sink "+
		"alone cost %s CPU-s per 1,000 requests during apicron's window.",
		o.maxConcurrent, float64(b.HarnessCPUSec), fmtF(b.HarnessCPUPer1000, 3), fmtF(b.SinkCPUPer1000, 3))
	return nil
}

// procEnv is how this run starts apicron.
func (h *harness) procEnv(db *benchDB, logName string) procEnv {
	return procEnv{
		bin: h.bin, databaseURL: db.databaseURL(), maxConcurrent: h.o.maxConcurrent, logLevel: h.o.logLevel,
		nodeID: "bench", dir: h.tmp, logPath: filepath.Join(h.tmp, logName), retention: h.o.retention,
	}
}

func (h *harness) dropDB(db *benchDB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.drop(ctx); err != nil {
		h.logf("drop database %s: %v", db.pgName, err)
	} else if db.driver == "postgres" {
		h.logf("dropped database %s", db.pgName)
	}
}

// perf records apicron for d and returns perf report's summary.
func (h *harness) perf(ctx context.Context, pid int, d time.Duration) string {
	data := strings.TrimSuffix(h.o.out, filepath.Ext(h.o.out)) + ".perf.data"
	if err := perfRecord(ctx, pid, d, data); err != nil {
		return fmt.Sprintf("perf record failed: %v\n", err)
	}
	out, err := perfTop(ctx, data, 25)
	if err != nil {
		return out + fmt.Sprintf("perf report failed: %v\n", err)
	}
	return fmt.Sprintf("perf record -F 499 -g -p %d for %s; data in %s\n%s", pid, d, data, out)
}
