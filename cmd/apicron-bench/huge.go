package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
)

// spreadClock hands each transaction the next instant of an even spread, so
// that schedules created in a loop get anchors evenly spaced over one interval.
type spreadClock struct {
	base time.Time
	step time.Duration
	n    atomic.Int64
}

func (c *spreadClock) Now() time.Time {
	return c.base.Add(time.Duration(c.n.Add(1)-1) * c.step)
}

// huge inserts N schedules through store.CreateSchedule, with anchors spread
// evenly over one interval, starts apicron on them (load time, memory, first
// fire), lets them fire for the window, stops it, and restarts it at once to
// measure the start-up until the first fire after a restart.
func (h *harness) huge(ctx context.Context) error {
	o, rep := h.o, h.rep
	db, err := newBenchDB(ctx, o.db, h.tmp, o.postgresURL)
	if err != nil {
		return err
	}
	defer h.dropDB(db)
	hr := &HugeRun{}
	rep.Huge = hr
	sk, err := startSink(int(float64(o.n)*(o.duration+o.restartFor+time.Minute).Seconds()/o.interval.Seconds()) + 1024)
	if err != nil {
		return err
	}
	defer sk.close()

	// Insert through the store, not HTTP: a million POSTs would measure the API, not the engine.
	insStart := time.Now()
	clk := &spreadClock{base: insStart.Truncate(time.Millisecond), step: o.interval / time.Duration(o.n)}
	if clk.step <= 0 {
		clk.step = time.Millisecond
	}
	cfg := db.storeConfig()
	cfg.Clock = clk
	if o.kind == "cron" {
		cfg.Clock = nil // a cron timetable is laid by its expression, not its creation time
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	target := &apicron.Target{Name: "bench-sink", URL: sk.url, Method: "GET"}
	if err := st.CreateTarget(ctx, target); err != nil {
		return err
	}
	h.logf("inserting %d schedules at %s through store.CreateSchedule (%d workers)", o.n, o.interval, o.createWorkers)
	var (
		next, errs atomic.Int64
		wg         sync.WaitGroup
		firstErr   atomic.Value
	)
	stopLog := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopLog:
				return
			case <-t.C:
				n := next.Load()
				h.logf("inserted %d (%.0f/s)", n, float64(n)/time.Since(insStart).Seconds())
			}
		}
	}()
	secs := int(o.interval / time.Second)
	for range o.createWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(o.n) || ctx.Err() != nil {
					return
				}
				s := &apicron.Schedule{Name: fmt.Sprintf("huge-%d", i), TargetID: target.ID, Type: apicron.Interval, IntervalSeconds: secs}
				if o.kind == "cron" {
					// Hourly, at second slot of the hour: the 3,600 slots evenly used.
					slot := i * 3600 / int64(o.n)
					s = &apicron.Schedule{Name: s.Name, TargetID: target.ID, Type: apicron.Cron,
						CronExpression: fmt.Sprintf("%d %d * * * *", slot%60, slot/60)}
				}
				if err := st.CreateSchedule(ctx, s); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	close(stopLog)
	insEl := time.Since(insStart)
	hr.Create = CreateStats{Count: o.n, Method: "store.CreateSchedule in a loop (not HTTP)", Workers: o.createWorkers,
		Seconds: F(insEl.Seconds()), PerSec: F(float64(o.n) / insEl.Seconds()), Errors: int(errs.Load())}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("%d inserts failed; first: %v", errs.Load(), e)
	}
	if err := st.Close(); err != nil {
		return err
	}
	// The anchors were laid from the insert's start; the first occurrences
	// that passed during the insert would all fire at once when apicron
	// starts. Move them to their next grid point from now, as if they had
	// fired, so the first start sees what a restart after a short downtime
	// sees: whatever comes due while it loads fires (coalesced) once it has
	// loaded, then the grid continues.
	shifted, err := shiftOverdue(ctx, db, time.Now())
	if err != nil {
		return fmt.Errorf("shift overdue first occurrences: %w", err)
	}
	hr.Create.Shifted = shifted
	hr.Create.Extra = fmt.Sprintf("anchors spread evenly over one interval (store clock stepped by %s per insert); "+
		"%d schedules whose first occurrence passed during the insert had next_run_at moved to their next grid point by one SQL UPDATE",
		clk.step, shifted)
	hr.DBBytes, _, _ = db.size(ctx)
	rep.note("Schedules were inserted directly through the store package's CreateSchedule, %d concurrent callers, not through HTTP.", o.createWorkers)
	rep.note("No baseline in this scenario: a bare firer would need one goroutine and timer per schedule (%d).", o.n)

	// First start: load time, memory, steady firing.
	sk.take()
	h.logf("first start of apicron with %d schedules", o.n)
	p, err := startApicron(ctx, h.procEnv(db, "apicron-1.log"), 10*time.Minute)
	if err != nil {
		return err
	}
	defer p.kill()
	if hr.First, err = h.boot(ctx, p, sk); err != nil {
		return err
	}
	steadyFrom := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	windowEnd := steadyFrom.Add(o.duration)
	cpu0, _ := sampleProc(p.pid)
	hcpu0, mc0 := selfCPU(), readCPUTimes()
	mon := startMonitor(p.pid, time.Second)
	perfDone := make(chan string, 1)
	if o.perf {
		go func() { perfDone <- h.perf(ctx, p.pid, o.duration) }()
	} else {
		perfDone <- ""
	}
	h.logf("firing window %s", o.duration)
	if err := sleepUntil(ctx, windowEnd.Add(o.drain)); err != nil {
		return err
	}
	end, _ := sampleProc(p.pid)
	hcpu1, mc1 := selfCPU(), readCPUTimes()
	samples := mon.stop()
	hr.Noise = noiseBetween(mc0, mc1, end.CPUSec-cpu0.CPUSec+hcpu1-hcpu0)
	rep.Perf = <-perfDone
	hr.First.PeakRSSKB = end.HWMKB
	hr.SteadyCPUSec = F(end.CPUSec - cpu0.CPUSec)
	stopAt := time.Now()
	stopDur, stopErr := p.stop(2 * time.Minute)
	hr.StopMs = F(msOf(stopDur))
	if stopErr != nil {
		rep.note("first stop: %v", stopErr)
	}
	hr.First.WarnLines, hr.First.ErrorLines, _ = p.logCounts()
	arrivals1 := sk.take()

	// Restart at once: load again, and how long until requests flow again.
	h.logf("restarting apicron")
	p2, err := startApicron(ctx, h.procEnv(db, "apicron-2.log"), 10*time.Minute)
	if err != nil {
		return err
	}
	defer p2.kill()
	hr.Downtime = F(msOf(p2.listening.Sub(stopAt)))
	if hr.Restart, err = h.boot(ctx, p2, sk); err != nil {
		return err
	}
	restartEnd := time.Now().Add(o.restartFor)
	if err := sleepUntil(ctx, restartEnd); err != nil {
		return err
	}
	if s, err := sampleProc(p2.pid); err == nil {
		hr.Restart.PeakRSSKB = s.HWMKB
	}
	if _, err := p2.stop(2 * time.Minute); err != nil {
		rep.note("restart stop: %v", err)
	}
	hr.Restart.WarnLines, hr.Restart.ErrorLines, _ = p2.logCounts()
	arrivals2 := sk.take()

	h.logf("reading runs back")
	sqlDB, err := db.open()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	grids, err := readGrids(ctx, sqlDB)
	if err != nil {
		return err
	}
	runs, err := readRuns(ctx, sqlDB)
	if err != nil {
		return err
	}
	wsMs, weMs := steadyFrom.UnixMilli(), windowEnd.UnixMilli()
	hr.Steady = compute(window{Name: "steady", From: wsMs, To: weMs, MinK: 0,
		Note: "the first process's window; every occurrence in it is planned"}, grids, arrivals1, runs, true)
	var inCPU int64
	for _, r := range runs {
		if r.schedAt >= wsMs && r.schedAt < stopAt.UnixMilli() {
			inCPU++
		}
	}
	hr.CPUPer1000 = ratio(hr.SteadyCPUSec*1000, F(inCPU))
	var late []float64
	restartFrom := p2.spawned.UnixMilli()
	for _, r := range runs {
		if r.startedAt >= restartFrom {
			hr.RestartRuns++
			hr.Coalesced += r.missed
		}
	}
	for _, x := range arrivals2 {
		late = append(late, float64(x.at-x.schedAt*int64(time.Millisecond))/1e6)
	}
	hr.RestartLate = summarize(late)
	rep.Chart = perSecond(arrivals1, wsMs, weMs)
	hr.Samples = samples
	return nil
}

// boot waits for a started apicron to be healthy and to fire once, and
// samples it after its load.
func (h *harness) boot(ctx context.Context, p *apicronProc, sk *sink) (Boot, error) {
	var b Boot
	b.SpawnToListeningMs = F(msOf(p.listening.Sub(p.spawned)))
	if s, err := sampleProc(p.pid); err == nil {
		b.CPUToListeningSec = F(s.CPUSec)
		b.RSSAfterLoadKB = s.RSSKB
	}
	healthy, err := p.waitHealthy(ctx, 5*time.Minute)
	if err != nil {
		return b, err
	}
	b.SpawnToHealthyMs = F(msOf(healthy.Sub(p.spawned)))
	deadline := time.Now().Add(2 * time.Minute)
	for sk.count() == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if first := sk.first(); first != 0 {
		b.SpawnToFirstFireMs = F(float64(first-p.spawned.UnixNano()) / 1e6)
	} else {
		b.SpawnToFirstFireMs = F(nan())
	}
	return b, ctx.Err()
}

func nan() float64 { return math.NaN() }

// shiftOverdue moves the next_run_at of ACTIVE schedules due before t to
// their first grid point at or after t, in one statement.
func shiftOverdue(ctx context.Context, db *benchDB, t time.Time) (int64, error) {
	var (
		sqlDB *sql.DB
		err   error
		q     = `UPDATE schedules SET next_run_at = CASE WHEN schedule_type = 'CRON'
			THEN next_run_at + ((? - next_run_at + 3599999) / 3600000) * 3600000
			ELSE anchor_at + ((? - anchor_at + interval_seconds * 1000 - 1) / (interval_seconds * 1000)) * (interval_seconds * 1000) END
			WHERE status = 'ACTIVE' AND next_run_at < ?`
	)
	if db.driver == "sqlite" {
		sqlDB, err = sql.Open("sqlite", "file:"+db.path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	} else {
		sqlDB, err = sql.Open("pgx", db.pgURL)
		q = strings.Replace(strings.Replace(strings.Replace(q, "?", "$1", 1), "?", "$2", 1), "?", "$3", 1)
	}
	if err != nil {
		return 0, err
	}
	defer sqlDB.Close()
	ms := t.UnixMilli()
	res, err := sqlDB.ExecContext(ctx, q, ms, ms, ms) // the hourly CRON schedules of --kind cron move by whole hours
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
