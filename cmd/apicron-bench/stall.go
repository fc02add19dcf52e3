package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The stalls --stall injects into the steady window of the many scenario.
const (
	stallNone    = "none"
	stallSIGSTOP = "sigstop" // SIGSTOP to apicron's PID, SIGCONT after --stall-for
	stallDBLock  = "dblock"  // another connection holds the database's write lock for --stall-for
)

// Recovery: apicron has recovered from a stall at the first second of
// scheduled time that begins recoveryHold seconds in a row whose p99
// lateness at the sink is under recoveryLimitMs.
const (
	recoveryLimitMs = 10.0
	recoveryHold    = 5
)

// StallRun is a stall injected into the steady window and how apicron came
// back from it. Offsets (_s) are seconds from the steady window's start.
type StallRun struct {
	Kind        string    `json:"kind"`
	PlannedAtS  F         `json:"planned_at_s"`
	PlannedForS F         `json:"planned_for_s"`
	Start       time.Time `json:"start,omitzero"` // apicron stopped, or the lock held
	End         time.Time `json:"end,omitzero"`   // SIGCONT sent, or the lock released
	StartS      F         `json:"start_s"`
	EndS        F         `json:"end_s"`
	LockWaitMs  F         `json:"lock_wait_ms,omitempty"` // dblock: from asking for the lock to holding it
	Error       string    `json:"error,omitempty"`

	Recovered bool `json:"recovered"`
	// RecoveryS is from the stall's end to the start of the first of
	// recoveryHold good seconds in a row (0 when the second the stall ended
	// in was already one); null when that never happened in the window.
	RecoveryS    F `json:"time_to_recovery_s"`
	RecoveredAtS F `json:"recovered_at_s"`
	// Before the stall: of the seconds of the steady window before the one
	// it began in (in which something was due), how many were good, for
	// telling a slow recovery from a run that was never under the limit.
	GoodBefore    int `json:"good_seconds_before"`
	SecondsBefore int `json:"seconds_before"`
	// The worst seconds of scheduled time from the one the stall began in.
	WorstP99 StallSecond `json:"worst_p99_second"`
	WorstMax StallSecond `json:"worst_max_second"`
	// Arrivals at the sink more than recoveryLimitMs late, by when they were
	// scheduled: while the stall lasted, and after it until the window's end.
	LateDuring     int64 `json:"late_during"`
	ArrivalsDuring int64 `json:"arrivals_during"`
	LateAfter      int64 `json:"late_after"`
	ArrivalsAfter  int64 `json:"arrivals_after"`
	// Coalesced is the sum of runs.missed over the steady window; the
	// engine's counters are its run_stats over the process's life.
	Coalesced            int64 `json:"coalesced_steady"`
	MissedSteady         int64 `json:"missed_steady"`
	EngineMissed         int64 `json:"engine_missed"`
	EngineSkippedOverlap int64 `json:"engine_skipped_overlap"`
}

// StallSecond is one second of the lateness chart, placed in the steady window.
type StallSecond struct {
	AtS F   `json:"at_s"` // the second's start, from the steady window's start
	N   int `json:"n"`
	P99 F   `json:"p99_ms"`
	Max F   `json:"max_ms"`
}

func newStallRun(o options) *StallRun {
	if o.stall == stallNone {
		return nil
	}
	nan := F(math.NaN()) // until the run's results say
	return &StallRun{Kind: o.stall, PlannedAtS: F(o.stallAt.Seconds()), PlannedForS: F(o.stallFor.Seconds()),
		RecoveryS: nan, RecoveredAtS: nan}
}

// staller runs one stall; a nil *staller (--stall none) does nothing.
type staller struct {
	run        *StallRun
	kind       string
	at, length time.Duration
	steadyFrom time.Time
	proc       *apicronProc
	driver     string
	lockDB     *sql.DB   // dblock: its own pool,
	lock       *sql.Conn // and the one connection that takes the lock
	cancel     context.CancelFunc
	done       chan struct{}
	once       sync.Once
}

// startStall arms the stall of --stall: at --stall-at into the steady
// window (which begins at steadyFrom and ends at windowEnd) it stops
// apicron or takes the database's write lock for --stall-for. The stall
// never outlasts the window. For dblock the connection is opened now, so
// that opening it is not part of the stall.
func (h *harness) startStall(ctx context.Context, p *apicronProc, db *benchDB, steadyFrom, windowEnd time.Time) (*staller, error) {
	if h.o.stall == stallNone {
		return nil, nil
	}
	s := &staller{run: h.rep.Stall, kind: h.o.stall, at: h.o.stallAt, length: h.o.stallFor, steadyFrom: steadyFrom,
		proc: p, driver: db.driver, done: make(chan struct{})}
	if s.kind == stallDBLock {
		if err := s.openLock(ctx, db); err != nil {
			return nil, err
		}
	}
	sctx, cancel := context.WithDeadline(ctx, windowEnd)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if err := sleepUntil(sctx, steadyFrom.Add(s.at)); err != nil {
			s.run.Error = fmt.Sprintf("not started: %v", err)
			return
		}
		var err error
		switch s.kind {
		case stallSIGSTOP:
			err = s.sigstop(sctx)
		case stallDBLock:
			err = s.dblock(sctx)
		}
		if err != nil {
			s.run.Error = err.Error()
		} else if !s.run.End.IsZero() && s.run.End.Sub(s.run.Start) < s.length-time.Millisecond {
			s.run.Error = "cut short: the steady window or the run ended first"
		}
	}()
	h.logf("stall %s for %s armed at %s into the steady window", s.kind, s.length, s.at)
	return s, nil
}

// openLock opens the connection dblock takes the lock on.
func (s *staller) openLock(ctx context.Context, db *benchDB) error {
	var err error
	if db.driver == "sqlite" {
		// busy_timeout: BEGIN IMMEDIATE waits for apicron's writer to commit.
		s.lockDB, err = sql.Open("sqlite", "file:"+db.path+"?_pragma=busy_timeout(10000)")
	} else {
		s.lockDB, err = sql.Open("pgx", db.pgURL)
	}
	if err != nil {
		return fmt.Errorf("dblock: open the database: %w", err)
	}
	s.lockDB.SetMaxOpenConns(1)
	if s.lock, err = s.lockDB.Conn(ctx); err == nil {
		err = s.lock.PingContext(ctx)
	}
	if err == nil && db.driver == "postgres" {
		// LOCK TABLE waits for apicron's open transactions on runs; bound that wait.
		_, err = s.lock.ExecContext(ctx, "SET lock_timeout = '10s'")
	}
	if err != nil {
		s.closeLock()
		return fmt.Errorf("dblock: connect: %w", err)
	}
	return nil
}

func (s *staller) closeLock() {
	if s.lock != nil {
		_ = s.lock.Close()
	}
	if s.lockDB != nil {
		_ = s.lockDB.Close()
	}
}

// sigstop stops apicron for the stall's length. SIGCONT is sent however the
// wait ends (its length, the window's end, the run being cancelled), so
// apicron is never left stopped.
func (s *staller) sigstop(ctx context.Context) (err error) {
	select {
	case <-s.proc.done:
		return fmt.Errorf("apicron had exited before the stall")
	default:
	}
	// Only the PID the harness started, and only while it has not been reaped.
	if err := syscall.Kill(s.proc.pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP to apicron (pid %d): %w", s.proc.pid, err)
	}
	s.run.Start = time.Now()
	defer func() {
		if cerr := syscall.Kill(s.proc.pid, syscall.SIGCONT); cerr != nil && err == nil {
			err = fmt.Errorf("SIGCONT to apicron (pid %d): %w", s.proc.pid, cerr)
		}
		s.run.End = time.Now()
	}()
	hold(ctx, s.length)
	return nil
}

// dblock holds the database's write lock from its own connection for the
// stall's length: on SQLite BEGIN IMMEDIATE (apicron's writer waits, its
// readers do not); on PostgreSQL LOCK TABLE runs IN EXCLUSIVE MODE, which
// blocks inserts and updates of runs but not reads. The rollback runs
// however the wait ends.
func (s *staller) dblock(ctx context.Context) (err error) {
	asked := time.Now()
	if s.driver == "sqlite" {
		_, err = s.lock.ExecContext(ctx, "BEGIN IMMEDIATE")
	} else if _, err = s.lock.ExecContext(ctx, "BEGIN"); err == nil {
		_, err = s.lock.ExecContext(ctx, "LOCK TABLE runs IN EXCLUSIVE MODE")
	}
	held := time.Now()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, rerr := s.lock.ExecContext(rctx, "ROLLBACK"); rerr != nil && err == nil {
			err = fmt.Errorf("dblock: rollback: %w", rerr)
		}
		if !s.run.Start.IsZero() {
			s.run.End = time.Now()
		}
	}()
	if err != nil {
		return fmt.Errorf("dblock: take the lock: %w", err)
	}
	s.run.Start, s.run.LockWaitMs = held, F(msOf(held.Sub(asked)))
	hold(ctx, s.length)
	return nil
}

// hold waits for d or ctx.
func hold(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// stop ends the stall if it is still on (apicron continued, the lock
// released) and waits for that; it may be called more than once.
func (s *staller) stop() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.cancel()
		<-s.done
		s.closeLock()
		if !s.run.Start.IsZero() {
			s.run.StartS = F(s.run.Start.Sub(s.steadyFrom).Seconds())
			s.run.EndS = F(s.run.End.Sub(s.steadyFrom).Seconds())
		}
	})
}

// report fills the stall's figures from the run's chart (rep.Chart, from
// origin, unix ms), the scenario's grids and arrivals, and the delivery
// figures already in rep.Apicron.
func (s *staller) report(rep *Report, grids map[int64]grid, arrivals []arrival, origin int64) {
	if s == nil {
		return
	}
	s.stop()
	st, a := s.run, rep.Apicron
	st.Coalesced, st.MissedSteady = a.Steady.Coalesced, a.Steady.Missed
	st.EngineMissed, st.EngineSkippedOverlap = a.Counters.Missed, a.Counters.SkippedOverlap
	rep.note("The stall hits apicron only: the baseline firer is never stalled. The steady window's delivery and lateness " +
		"figures include the stall and the time apicron took to recover from it.")
	if st.Kind == stallDBLock && rep.DB == "postgres" {
		rep.note("The stall's own transaction is one of the rollbacks pg_stat_database counts.")
	}
	if st.Start.IsZero() {
		return
	}
	steadyMs := a.SteadyFrom.UnixMilli()
	startMs, endMs, weMs := st.Start.UnixMilli(), st.End.UnixMilli(), a.WindowEnd.UnixMilli()
	atS := func(t int) F { return F(float64(origin+int64(t)*1000-steadyMs) / 1000) }
	for _, x := range arrivals {
		late := float64(x.at-x.schedAt*int64(time.Millisecond))/float64(time.Millisecond) > recoveryLimitMs
		switch {
		case x.schedAt >= startMs && x.schedAt < endMs:
			st.ArrivalsDuring++
			if late {
				st.LateDuring++
			}
		case x.schedAt >= endMs && x.schedAt < weMs:
			st.ArrivalsAfter++
			if late {
				st.LateAfter++
			}
		}
	}
	// The seconds from the one the stall began in; those in which nothing
	// was due (the odd seconds of a CRON */2) are left out, those in which
	// something was due but nothing arrived count as bad.
	startT, endT := int((startMs-origin)/1000), int((endMs-origin)/1000)
	nan := F(math.NaN())
	st.WorstP99, st.WorstMax = StallSecond{P99: nan, Max: nan}, StallSecond{P99: nan, Max: nan}
	good := func(pt SecondPoint) bool { return pt.N > 0 && float64(pt.P99) < recoveryLimitMs }
	var due []SecondPoint
	for _, pt := range rep.Chart {
		from := origin + int64(pt.T)*1000
		if pt.T < startT {
			if from >= steadyMs && anyDue(grids, from) {
				st.SecondsBefore++
				if good(pt) {
					st.GoodBefore++
				}
			}
			continue
		}
		if pt.N > 0 {
			if math.IsNaN(float64(st.WorstP99.P99)) || pt.P99 > st.WorstP99.P99 {
				st.WorstP99 = StallSecond{AtS: atS(pt.T), N: pt.N, P99: pt.P99, Max: pt.Max}
			}
			if math.IsNaN(float64(st.WorstMax.Max)) || pt.Max > st.WorstMax.Max {
				st.WorstMax = StallSecond{AtS: atS(pt.T), N: pt.N, P99: pt.P99, Max: pt.Max}
			}
		}
		if anyDue(grids, from) {
			due = append(due, pt)
		}
	}
	if t, ok := recoveredAt(due, endT, recoveryLimitMs, recoveryHold); ok {
		st.Recovered = true
		st.RecoveredAtS = atS(t)
		st.RecoveryS = F(max(0, float64(origin+int64(t)*1000-endMs)/1000))
	}
}

// anyDue reports whether an occurrence of grids falls in the second from
// from (unix ms).
func anyDue(grids map[int64]grid, from int64) bool {
	for _, g := range grids {
		if g.count(from, from+1000, 0) > 0 {
			return true
		}
	}
	return false
}

// recoveredAt returns the T of the first point, among those with T >= from,
// that begins hold points in a row whose p99 is under limitMs; a point
// with no arrivals (N = 0) breaks a row. pts are in order of T, and only the
// seconds in which something was due: consecutive points count as
// consecutive seconds. ok is false when no such row exists.
func recoveredAt(pts []SecondPoint, from int, limitMs float64, hold int) (t int, ok bool) {
	run := 0
	for _, pt := range pts {
		if pt.T < from {
			continue
		}
		if pt.N == 0 || !(float64(pt.P99) < limitMs) { // NaN is not under the limit
			run = 0
			continue
		}
		if run == 0 {
			t = pt.T
		}
		if run++; run >= hold {
			return t, true
		}
	}
	return 0, false
}

// renderStall writes the stall's section of the markdown report.
func renderStall(b *strings.Builder, r *Report) {
	st := r.Stall
	if st == nil || r.Apicron == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	what := map[string]string{
		stallSIGSTOP: fmt.Sprintf("SIGSTOP to apicron (pid %d), SIGCONT after %g s", r.Apicron.Process.PID, float64(st.PlannedForS)),
		stallDBLock: map[string]string{
			"sqlite":   fmt.Sprintf("BEGIN IMMEDIATE on another connection to the SQLite file, ROLLBACK after %g s", float64(st.PlannedForS)),
			"postgres": fmt.Sprintf("LOCK TABLE runs IN EXCLUSIVE MODE in another transaction, ROLLBACK after %g s", float64(st.PlannedForS)),
		}[r.DB],
	}[st.Kind]
	p("\n| stall (offsets from the steady window's start) | value |\n|---|---|\n")
	p("| kind | %s: %s, planned at %g s |\n", st.Kind, what, float64(st.PlannedAtS))
	if st.Error != "" {
		p("| error | %s |\n", st.Error)
	}
	if st.Start.IsZero() {
		return
	}
	held := fmt.Sprintf("%s s -> %s s (%s s)", fmtF(st.StartS, 3), fmtF(st.EndS, 3), fmtF(st.EndS-st.StartS, 3))
	if st.Kind == stallDBLock {
		held += fmt.Sprintf("; waited %s ms for the lock", fmtMs(st.LockWaitMs))
	}
	p("| held | %s |\n", held)
	if len(r.Chart) == 0 {
		return // the run ended before the arrivals were read: no recovery to tell
	}
	rec := fmt.Sprintf("not recovered: no %d seconds in a row with p99 < %g ms before the window's end", recoveryHold, recoveryLimitMs)
	if st.Recovered {
		rec = fmt.Sprintf("**%s s** after the stall's end (from the second starting at %s s, %d seconds in a row with p99 < %g ms)",
			fmtF(st.RecoveryS, 2), fmtF(st.RecoveredAtS, 1), recoveryHold, recoveryLimitMs)
	}
	p("| time to recovery | %s |\n", rec)
	p("| before the stall, steady window | %d of %d seconds with p99 < %g ms |\n", st.GoodBefore, st.SecondsBefore, recoveryLimitMs)
	sec := func(x StallSecond) string {
		if x.N == 0 {
			return "-"
		}
		return fmt.Sprintf("p99 %s ms, max %s ms (second at %s s, %s arrivals)", fmtMs(x.P99), fmtMs(x.Max), fmtF(x.AtS, 1), fmtInt(int64(x.N)))
	}
	p("| worst second from the stall's start, by p99 | %s |\n", sec(st.WorstP99))
	p("| worst second from the stall's start, by max | %s |\n", sec(st.WorstMax))
	p("| late arrivals (> %g ms), scheduled during / after the stall | %s of %s / %s of %s |\n", recoveryLimitMs,
		fmtInt(st.LateDuring), fmtInt(st.ArrivalsDuring), fmtInt(st.LateAfter), fmtInt(st.ArrivalsAfter))
	p("| steady window: coalesced (sum of runs.missed) / missed (planned, never fired) | %s / %s |\n",
		fmtInt(st.Coalesced), fmtInt(st.MissedSteady))
	p("| engine counters, process life: missed / skipped_overlap | %s / %s |\n", fmtInt(st.EngineMissed), fmtInt(st.EngineSkippedOverlap))
}
