// Package scheduler is apicron's engine: it keeps the ACTIVE schedules in a
// min-heap by next due time, sleeps on one timer until the earliest, claims
// what is due through the store (one transaction per batch), hands the jobs to
// the executor under a global concurrency bound, and writes results back in
// group-committed batches. The database stays the source of truth: the heap
// only caches when to look.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apicron/apicron"
)

// Config holds a Scheduler's dependencies and knobs.
type Config struct {
	Store    apicron.Engine
	Executor apicron.Executor
	Clock    apicron.Clock
	Logger   *slog.Logger
	// MaxConcurrent bounds requests in flight across all schedules (MAX_CONCURRENT_JOBS).
	MaxConcurrent int
	// ClaimBatch is the most schedules claimed in one transaction.
	ClaimBatch int
	// ClaimLead is how far ahead of its time an occurrence is claimed; the
	// request then waits for its exact time, so the claim's database write
	// does not make it late. The loop wakes when the earliest occurrence is
	// half the lead away and claims everything due within the whole lead,
	// so occurrences spread in time are claimed in batches (half a lead's
	// worth), not one transaction each. Zero claims at the due time.
	ClaimLead time.Duration
	// FlushInterval is how long finished results wait to be written together
	// (group commit). Each commit costs the pages it touches, whatever the
	// number of results: at 10,000 runs/s, 20 ms makes 50 commits of 200
	// results a second instead of 200 commits of 50.
	FlushInterval time.Duration
	// FlushBatch writes at once when this many results wait.
	FlushBatch int
	// ResyncInterval reloads every ACTIVE schedule from the database, a
	// safety net under the change notifications. Zero: every 30 s on a
	// shared database, never otherwise.
	ResyncInterval time.Duration
	// ShutdownGrace is how long in-flight requests may finish after the
	// context ends; zero interrupts them at once.
	ShutdownGrace time.Duration
	// RetryDelay is how long a batch waits after the database refused it.
	RetryDelay time.Duration
	// LeaseTTL is how long the dispatcher lease lasts without renewal.
	LeaseTTL time.Duration
	// Pruner and Retention delete runs finished longer than Retention ago
	// (zero: none), and a schedule's finished runs beyond its keep_runs
	// newest, or DefaultKeepRuns for one without (zero: no cap). A nil
	// Pruner keeps runs forever.
	Pruner          Pruner
	Retention       time.Duration
	DefaultKeepRuns int
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = apicron.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 100
	}
	if c.ClaimBatch <= 0 {
		c.ClaimBatch = 1000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 20 * time.Millisecond
	}
	if c.FlushBatch <= 0 {
		c.FlushBatch = 1000
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 5 * time.Second
	}
}

// sharedResync is ResyncInterval's default on a shared database.
const sharedResync = 30 * time.Second

// Scheduler fires due schedules. Create it with New, start it with Run.
type Scheduler struct {
	cfg    Config
	logger *slog.Logger
	// cluster is the Store when it is shared by several nodes, else nil:
	// the store's mode alone decides how the engine works (see New).
	cluster Cluster

	mu      sync.Mutex
	loaded  bool
	q       *queue
	changed map[int64]struct{} // schedules to re-read from the store
	wake    chan struct{}      // size 1: a change or a new earliest time

	sem     chan struct{} // MaxConcurrent slots
	active  atomic.Int64  // jobs dispatched and not yet done
	running atomic.Int64  // jobs holding a slot: their request under way
	// takeStarved says the last take stopped for want of free slots: the
	// next slot freed takes again, rather than the claimed runs waiting
	// for the next notification or the once-a-second retry.
	takeStarved atomic.Bool
	busyMu      sync.Mutex
	busy        map[int64]int // schedule id -> its jobs dispatched and not yet executed
	inflight    sync.WaitGroup
	leader      atomic.Bool   // holds the dispatcher lease (always true without a cluster)
	epoch       atomic.Int64  // the lease's epoch while leader
	takeC       chan struct{} // size 1: claimed runs wait to be taken
	// claimsDone is closed when the loop has stopped claiming for good.
	claimsDone chan struct{}
	execCtx    context.Context
	stopExec   context.CancelFunc

	resMu   sync.Mutex
	results []apicron.RunResult
	flushC  chan struct{} // size 1: FlushBatch reached

	writes writeHealth // the database writes the engine depends on, for /health
}

// New returns a Scheduler; it does nothing until Run. When cfg.Store is a
// Cluster whose Shared reports true (PostgreSQL, where any node may join),
// the engine shares the work with the other nodes: only the lease holder
// claims, claimed runs wait in the database, and every node takes them.
// Otherwise it runs everything it claims. One value, the store's, decides
// both sides, so a store that queues runs always has an engine that takes
// them.
func New(cfg Config) *Scheduler {
	cfg.setDefaults()
	var cluster Cluster
	if c, ok := cfg.Store.(Cluster); ok && c.Shared() {
		cluster = c
		if cfg.ResyncInterval == 0 {
			cfg.ResyncInterval = sharedResync
		}
	}
	s := &Scheduler{
		cfg:     cfg,
		cluster: cluster,
		logger:  cfg.Logger.With("component", "scheduler"),
		q:       newQueue(),
		changed: map[int64]struct{}{},
		wake:    make(chan struct{}, 1),
		sem:     make(chan struct{}, cfg.MaxConcurrent),
		flushC:  make(chan struct{}, 1),
		takeC:   make(chan struct{}, 1),
		busy:    map[int64]int{},

		claimsDone: make(chan struct{}),
		writes:     writeHealth{faults: map[string]*writeFault{}, started: map[string]time.Time{}},
	}
	s.execCtx, s.stopExec = context.WithCancel(context.Background())
	return s
}

// Changed implements apicron.Notifier: the schedule is re-read from the
// store before the next step. It never blocks.
func (s *Scheduler) Changed(id int64) {
	s.mu.Lock()
	s.changed[id] = struct{}{}
	s.mu.Unlock()
	s.nudge()
}

func (s *Scheduler) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Load marks runs left RUNNING by a previous process INTERRUPTED and fills
// the queue with every ACTIVE schedule. Run calls it; tests call it directly.
func (s *Scheduler) Load(ctx context.Context) error {
	now := s.cfg.Clock.Now()
	n, err := s.cfg.Store.InterruptRunning(ctx, now, "apicron stopped before the run finished")
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger.Warn("runs left RUNNING by the previous process marked INTERRUPTED", "runs", n)
	}
	if err := s.resync(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.loaded = true
	s.mu.Unlock()
	return nil
}

// resync replaces the queue with the store's ACTIVE schedules.
func (s *Scheduler) resync(ctx context.Context) error {
	q := newQueue()
	if err := s.cfg.Store.ActiveSchedules(ctx, func(id int64, next time.Time) { q.set(id, next) }); err != nil {
		return err
	}
	s.mu.Lock()
	s.q = q
	s.mu.Unlock()
	s.nudge()
	return nil
}

// Run fires schedules until ctx ends, then shuts down: it stops claiming,
// lets requests in flight finish within ShutdownGrace, writes their results,
// and marks what is left INTERRUPTED. It calls Load first unless the caller
// did (to recover before the API answers).
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if !loaded {
		if err := s.Load(ctx); err != nil {
			return err
		}
	}
	flushDone := make(chan struct{})
	flushCtx, stopFlush := context.WithCancel(context.Background())
	go func() { defer close(flushDone); s.flushLoop(flushCtx) }()
	if s.cfg.Pruner != nil {
		go s.pruneLoop(ctx)
	}
	clusterDone := make(chan struct{})
	if s.cluster != nil {
		go s.runCluster(ctx, clusterDone)
	} else {
		close(clusterDone)
	}

	s.loop(ctx)
	close(s.claimsDone)

	<-clusterDone // no more runs taken
	s.shutdown()
	stopFlush()
	<-flushDone
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var resync <-chan time.Time
	if s.cfg.ResyncInterval > 0 {
		t := time.NewTicker(s.cfg.ResyncInterval)
		defer t.Stop()
		resync = t.C
	}
	for {
		wait := s.Step(ctx, s.cfg.Clock.Now())
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		case <-resync:
			if err := s.resync(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("resync schedules", "err", err)
			}
		}
	}
}

// idleWait is how long the loop sleeps with nothing queued; a change wakes it sooner.
const idleWait = time.Minute

// Step applies pending changes, claims every schedule due at now, dispatches
// the jobs, and returns how long until the next is due. It is the loop's
// deterministic step: tests call it with a fake clock.
func (s *Scheduler) Step(ctx context.Context, now time.Time) time.Duration {
	s.applyChanges(ctx)
	if !s.isLeader() {
		s.writes.forget(opClaim) // claiming is another node's job now
		return idleWait
	}
	until := now.Add(s.cfg.ClaimLead)
	for {
		s.mu.Lock()
		ids := s.q.popDue(until, s.cfg.ClaimBatch)
		s.mu.Unlock()
		if len(ids) == 0 {
			break
		}
		s.claim(ctx, now, until, ids)
		if len(ids) < s.cfg.ClaimBatch {
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, ok := s.q.peek()
	if !ok {
		// Nothing left to claim (the schedules whose claim failed were
		// paused or deleted since): no claim is failing any more.
		s.writes.forget(opClaim)
		return idleWait
	}
	return max(next.Sub(s.cfg.Clock.Now())-s.cfg.ClaimLead/2, 0)
}

func (s *Scheduler) applyChanges(ctx context.Context) {
	s.mu.Lock()
	if len(s.changed) == 0 {
		s.mu.Unlock()
		return
	}
	ids := slices.Collect(maps.Keys(s.changed))
	clear(s.changed)
	s.mu.Unlock()
	next, err := s.cfg.Store.NextRunAts(ctx, ids)
	if err != nil {
		s.logger.Error("read changed schedules", "schedules", len(ids), "err", err)
		s.mu.Lock()
		for _, id := range ids {
			s.changed[id] = struct{}{} // try again on the next step
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	for _, id := range ids {
		if t, ok := next[id]; ok {
			s.q.set(id, t)
		} else {
			s.q.remove(id)
		}
	}
	s.mu.Unlock()
}

func (s *Scheduler) claim(ctx context.Context, now, until time.Time, ids []int64) {
	// Alone on its database this process executes every run it claims, so
	// it knows which schedules have one in flight, at once and without a
	// query; the runs table would still show a run as RUNNING until its
	// result is written. Sharing the database, other nodes' runs count too.
	busy := s.isBusy
	if s.cluster != nil {
		busy = nil
	}
	s.writes.start(opClaim)
	results, err := s.cfg.Store.Claim(ctx, now, until, ids, busy)
	s.writes.end(ctx, s.logger, opClaim, err, "claim due schedules; retrying", "schedules", len(ids))
	if err != nil {
		// Nothing was claimed: the transaction rolled back. Try again later.
		s.mu.Lock()
		for _, id := range ids {
			s.q.set(id, now.Add(s.cfg.RetryDelay))
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	for _, r := range results {
		if r.Next != nil {
			s.q.set(r.ScheduleID, *r.Next)
		}
	}
	s.mu.Unlock()
	if s.cluster != nil {
		// The runs wait in the database for whichever node takes them; the
		// claim's NOTIFY wakes every node, this one included, so they race
		// fairly.
		return
	}
	for _, r := range results {
		if r.Job != nil {
			s.dispatch(r.Job)
		}
	}
}

func (s *Scheduler) isBusy(id int64) bool {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	return s.busy[id] > 0
}

func (s *Scheduler) setBusy(id int64, delta int) {
	s.busyMu.Lock()
	if n := s.busy[id] + delta; n > 0 {
		s.busy[id] = n
	} else {
		delete(s.busy, id)
	}
	s.busyMu.Unlock()
}

// dispatch runs job at its time, under the concurrency bound, without
// blocking the loop.
func (s *Scheduler) dispatch(job *apicron.Job) {
	s.inflight.Add(1)
	s.active.Add(1)
	s.setBusy(job.ScheduleID, 1)
	go func() {
		defer s.inflight.Done()
		defer s.active.Add(-1)
		// The schedule is free for its next occurrence once the request is
		// over, though its result may wait a few milliseconds to be written.
		defer s.setBusy(job.ScheduleID, -1)
		if d := job.ScheduledAt.Sub(s.cfg.Clock.Now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.execCtx.Done():
				t.Stop()
				return
			}
		}
		select {
		case s.sem <- struct{}{}:
		case <-s.execCtx.Done():
			return // shutting down: the run is marked INTERRUPTED
		}
		s.running.Add(1)
		res := s.cfg.Executor.Execute(s.execCtx, job)
		s.running.Add(-1)
		<-s.sem
		if s.takeStarved.CompareAndSwap(true, false) {
			s.nudgeTake()
		}
		if s.execCtx.Err() != nil {
			return // cut off by shutdown: INTERRUPTED, not whatever the cut produced
		}
		s.addResult(res)
	}()
}

func (s *Scheduler) addResult(r apicron.RunResult) {
	s.resMu.Lock()
	s.results = append(s.results, r)
	full := len(s.results) >= s.cfg.FlushBatch
	s.resMu.Unlock()
	if full {
		select {
		case s.flushC <- struct{}{}:
		default:
		}
	}
}

// flushLoop writes waiting results every FlushInterval (group commit) until
// ctx ends, then writes what is left.
// After a failed write it waits RetryDelay before the next try, so a
// database that refuses writes is not hammered every few milliseconds.
func (s *Scheduler) flushLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	var retryAt time.Time
	for {
		select {
		case <-ctx.Done():
			s.Flush(context.Background())
			return
		case <-t.C:
		case <-s.flushC:
		}
		if !retryAt.IsZero() && time.Now().Before(retryAt) {
			continue
		}
		retryAt = time.Time{}
		if err := s.Flush(ctx); err != nil {
			retryAt = time.Now().Add(s.cfg.RetryDelay)
		}
	}
}

// Flush writes the results waiting in the buffer. When the database refuses
// them they stay in the buffer, in order, for the next flush: a result is
// never dropped because the database was briefly away.
func (s *Scheduler) Flush(ctx context.Context) error {
	s.resMu.Lock()
	batch := s.results
	s.results = nil
	s.resMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	s.writes.start(opFlush)
	err := s.cfg.Store.Finish(ctx, batch)
	s.writes.end(ctx, s.logger, opFlush, err, "write run results; keeping them to retry", "results", len(batch))
	if err != nil {
		s.resMu.Lock()
		s.results = append(batch, s.results...)
		s.resMu.Unlock()
	}
	return err
}

// Wait blocks until every dispatched job has finished and its result is
// written. Tests use it after Step.
func (s *Scheduler) Wait(ctx context.Context) error {
	s.inflight.Wait()
	return s.Flush(ctx)
}

func (s *Scheduler) shutdown() {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownGrace):
		s.logger.Warn("shutdown grace elapsed; interrupting requests still in flight", "grace", s.cfg.ShutdownGrace)
	}
	s.stopExec()
	s.inflight.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		s.logger.Error("write last results", "err", err)
	}
	if n, err := s.cfg.Store.InterruptRunning(ctx, s.cfg.Clock.Now(), "apicron shut down before the run finished"); err != nil {
		s.logger.Error("mark unfinished runs INTERRUPTED", "err", err)
	} else if n > 0 {
		s.logger.Warn("unfinished runs marked INTERRUPTED", "runs", n)
	}
}

// Health reports the engine's state for /health, and EUNAVAILABLE while a
// database write it needs fails or waits too long.
func (s *Scheduler) Health(context.Context) (apicron.EngineHealth, error) {
	h := apicron.EngineHealth{Role: apicron.RoleSingle, InFlight: s.active.Load()}
	s.mu.Lock()
	h.Scheduled = s.q.Len()
	s.mu.Unlock()
	s.resMu.Lock()
	h.PendingResults = len(s.results)
	s.resMu.Unlock()
	if s.cluster != nil {
		h.Role = apicron.RoleFollower
		if s.leader.Load() {
			h.Role, h.LeaseEpoch = apicron.RoleLeader, s.epoch.Load()
		}
	}
	h.WriteFaults = s.writes.report(time.Now())
	if len(h.WriteFaults) == 0 {
		return h, nil
	}
	return h, apicron.Errorf(apicron.EUNAVAILABLE, "database writes failing: %s", strings.Join(h.WriteFaults, "; "))
}

// Database writes the engine cannot do without; /health reports those failing.
const (
	opClaim     = "claim"
	opFlush     = "write results"
	opHeartbeat = "heartbeat"
	opTake      = "take runs"
)

// stuckWrite is how long a write may wait on the database (a lock held
// elsewhere, a server that does not answer) before /health reports it.
const stuckWrite = 5 * time.Second

// writeHealth remembers, per operation, the writes that failed and have not
// succeeded since, and the writes under way, so /health can say the database
// refuses writes even while it still answers reads. It costs a lock per write.
type writeHealth struct {
	mu      sync.Mutex
	faults  map[string]*writeFault
	started map[string]time.Time
}

// writeFault is an operation failing since a time.
type writeFault struct {
	since time.Time
	tries int
	last  error
}

func (w *writeHealth) start(op string) {
	w.mu.Lock()
	w.started[op] = time.Now()
	w.mu.Unlock()
}

// end records how a write of op ended. A failure is logged as an Error once,
// when op starts failing, then at Debug; the recovery is logged once.
// Failures caused by ctx ending (shutdown) are not faults of the database.
func (w *writeHealth) end(ctx context.Context, logger *slog.Logger, op string, err error, msg string, args ...any) {
	w.mu.Lock()
	delete(w.started, op)
	f := w.faults[op]
	switch {
	case err == nil:
		delete(w.faults, op)
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		w.mu.Unlock()
		return
	default:
		if f == nil {
			f = &writeFault{since: time.Now()}
			w.faults[op] = f
		}
		f.tries++
		f.last = err
	}
	var tries int
	var since time.Time
	if f != nil {
		tries, since = f.tries, f.since
	}
	w.mu.Unlock()
	switch {
	case err == nil && f != nil:
		logger.Info("database writes work again", "op", op, "failed_for", time.Since(since).Round(time.Millisecond), "tries", tries)
	case err != nil && tries == 1:
		logger.Error(msg, append(args, "err", err)...)
	case err != nil:
		logger.Debug(msg, append(args, "err", err, "tries", tries)...)
	}
}

// forget drops op's fault without a success: nothing is left to retry.
func (w *writeHealth) forget(op string) {
	w.mu.Lock()
	delete(w.faults, op)
	w.mu.Unlock()
}

// report describes the failing and stuck writes as of now, sorted; none when all is well.
func (w *writeHealth) report(now time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for op, f := range w.faults {
		out = append(out, fmt.Sprintf("%s failing since %s (%d tries): %s",
			op, f.since.UTC().Format(apicron.TimeFormat), f.tries, apicron.ErrorMessage(f.last)))
	}
	for op, t := range w.started {
		if d := now.Sub(t); d > stuckWrite {
			out = append(out, fmt.Sprintf("%s waiting on the database for %s", op, d.Round(time.Second)))
		}
	}
	slices.Sort(out)
	return out
}
