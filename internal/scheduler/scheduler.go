// Package scheduler is apicron's engine: it keeps the ACTIVE schedules in a
// min-heap by next due time, sleeps on one timer until the earliest, claims
// what is due through the store (one transaction per batch), hands the jobs to
// the executor under a global concurrency bound, and writes results back in
// group-committed batches. The database stays the source of truth: the heap
// only caches when to look.
package scheduler

import (
	"context"
	"log/slog"
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
	// Logger receives the engine's logs; the caller names the component
	// (cmd/apicron adds component=scheduler). Default: discard.
	Logger *slog.Logger
	// MaxConcurrent bounds requests in flight across all schedules (MAX_CONCURRENT_JOBS).
	MaxConcurrent int
	// HostMaxConcurrent bounds the requests in flight to one host
	// (HOST_MAX_CONCURRENCY); zero: MaxConcurrent alone. A run waits for its
	// host's slot before it takes one of MaxConcurrent, so a slow or dead
	// host holds at most this many.
	HostMaxConcurrent int
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
	// FinalWriteTimeout bounds the last writes at shutdown, once requests
	// are done: the results still waiting, then the runs left RUNNING
	// marked INTERRUPTED. A database that does not answer within it keeps
	// Run no longer; what was not written is logged. Default 10 s.
	FinalWriteTimeout time.Duration
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
	// Outbox and Sender deliver alert notifications (on the leader, or the
	// only node); either nil: none are sent.
	Outbox Outbox
	Sender AlertSender
	// Metrics hears what the engine does (internal/promexp). Optional:
	// without it nothing is counted.
	Metrics Recorder
}

// Recorder counts what the engine does, for metrics (internal/promexp
// implements it). The engine calls it on its hot path, from many
// goroutines: each call must be cheap, in memory, and never block.
type Recorder interface {
	// RunFinished counts a run this node executed, job's, as r reports it.
	RunFinished(job *apicron.Job, r apicron.RunResult)
	// OccurrenceClaimed counts an occurrence claimed as a run.
	OccurrenceClaimed(trigger apicron.Trigger)
	// OccurrencesMissed counts n occurrences a claim skipped or coalesced,
	// by their apicron.Miss reason.
	OccurrencesMissed(reason string, n int64)
	// DatabaseWrite observes one of the engine's database writes (op is
	// claim, write_results, take_runs, heartbeat or run_backfills).
	DatabaseWrite(op string, took time.Duration, err error)
	// NotificationDelivered counts an alert notification's delivery
	// attempt, by notifier type.
	NotificationDelivered(notifierType string, err error)
	// WriteBatch observes the items one successful engine write carried,
	// op as for DatabaseWrite: the schedules of a claim, the results of a
	// write_results, the runs of a take_runs.
	WriteBatch(op string, items int)
	// LoopLag observes how much later than it asked the scheduling loop's
	// timer woke it: the time the Go runtime or the machine kept it waiting.
	LoopLag(d time.Duration)
}

// noRecorder counts nothing: the engine without Config.Metrics.
type noRecorder struct{}

func (noRecorder) RunFinished(*apicron.Job, apicron.RunResult) {}
func (noRecorder) OccurrenceClaimed(apicron.Trigger)           {}
func (noRecorder) OccurrencesMissed(string, int64)             {}
func (noRecorder) DatabaseWrite(string, time.Duration, error)  {}
func (noRecorder) NotificationDelivered(string, error)         {}
func (noRecorder) WriteBatch(string, int)                      {}
func (noRecorder) LoopLag(time.Duration)                       {}

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
	if c.FinalWriteTimeout <= 0 {
		c.FinalWriteTimeout = 10 * time.Second
	}
	if c.Metrics == nil {
		c.Metrics = noRecorder{}
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
	rerun   []*apicron.Job // runs Load gave back to run again (retry_interrupted), dispatched when Run starts
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
	// waiting holds the schedules whose due occurrence waits for their run
	// in flight; cancels the runs a replace may stop. Both under busyMu.
	waiting map[int64]bool
	cancels map[int64]context.CancelFunc
	// hosts holds each host's slots (HostMaxConcurrent), under busyMu.
	hosts map[string]chan struct{}
	// rates holds the hosts' rate limits (the targets' rate_limit).
	rates *rates
	// hostWaiting counts the runs waiting for a slot or a turn of their host.
	hostWaiting atomic.Int64
	inflight    sync.WaitGroup
	leader      atomic.Bool  // holds the dispatcher lease (always true without a cluster)
	epoch       atomic.Int64 // the lease's epoch while leader
	lastStep    time.Time    // the clock at the last Step (the loop's own)
	// On a node of a cluster: when the last successful heartbeat began (ns
	// after mono0, on the monotonic clock; 0 before any), and the liveness
	// generation, which moves on after a break in the heartbeats (fence).
	mono0   time.Time
	hbStart atomic.Int64
	hbWall  atomic.Int64 // the same instant's wall clock, unix ns
	liveGen atomic.Int64
	takeC   chan struct{} // size 1: claimed runs wait to be taken
	// claimsDone is closed when the loop has stopped claiming for good.
	claimsDone chan struct{}
	execCtx    context.Context
	stopExec   context.CancelFunc
	// backfillAt is when the loop next serves backfills (the loop's own;
	// zero: at its next step).
	backfillAt time.Time

	resMu   sync.Mutex
	results []apicron.RunResult
	// spare is the last batch written, emptied, for the next to fill:
	// results are appended into it instead of into a slice grown from
	// nothing at every flush.
	spare   []apicron.RunResult
	flushC  chan struct{} // size 1: FlushBatch reached
	written atomic.Int64  // results written, so shutdown can say how many it wrote

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
		mono0:   time.Now(),
		logger:  cfg.Logger,
		q:       newQueue(),
		changed: map[int64]struct{}{},
		wake:    make(chan struct{}, 1),
		sem:     make(chan struct{}, cfg.MaxConcurrent),
		flushC:  make(chan struct{}, 1),
		takeC:   make(chan struct{}, 1),
		busy:    map[int64]int{},
		waiting: map[int64]bool{},
		hosts:   map[string]chan struct{}{},
		rates:   newRates(),
		cancels: map[int64]context.CancelFunc{},

		claimsDone: make(chan struct{}),
		writes:     writeHealth{faults: map[string]*writeFault{}, started: map[string]time.Time{}, metrics: cfg.Metrics},
	}
	s.execCtx, s.stopExec = context.WithCancel(context.Background())
	return s
}

// RequestsInFlight says how many requests to targets are under way (at
// most MaxConcurrent).
func (s *Scheduler) RequestsInFlight() int64 { return s.running.Load() }

// Load marks runs left RUNNING by a previous process INTERRUPTED and fills
// the queue with every ACTIVE schedule. Run calls it; tests call it directly.
func (s *Scheduler) Load(ctx context.Context) error {
	now := s.cfg.Clock.Now()
	n, again, err := s.cfg.Store.ResumeRunning(ctx, now, "apicron stopped before the run finished")
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger.Warn("runs left RUNNING by the previous process marked INTERRUPTED", "runs", n)
	}
	if len(again) > 0 {
		s.logger.Warn("runs left RUNNING by the previous process run again (retry_interrupted)", "runs", len(again))
	}
	s.mu.Lock()
	s.rerun = append(s.rerun, again...)
	s.mu.Unlock()
	if err := s.resync(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.loaded = true
	s.mu.Unlock()
	return nil
}

// Run fires schedules until ctx ends, then shuts down: it stops claiming,
// lets requests in flight finish within ShutdownGrace, writes their results,
// and marks what is left INTERRUPTED. It calls Load first unless the caller
// did (to recover before the API answers). It returns when every goroutine
// it started has returned, at most FinalWriteTimeout after the requests
// are done.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if !loaded {
		if err := s.Load(ctx); err != nil {
			return err
		}
	}
	// Run owns these goroutines and joins each before it returns: the
	// cluster node's (heartbeat, listener, worker) once claiming has
	// stopped, the flusher and the pruner once the requests are done.
	var cluster, background sync.WaitGroup
	flushCtx, stopFlush := context.WithCancel(context.Background())
	defer stopFlush()
	background.Go(func() { s.flushLoop(flushCtx) })
	if s.cfg.Pruner != nil {
		background.Go(func() { s.pruneLoop(ctx) })
	}
	if s.cfg.Outbox != nil && s.cfg.Sender != nil {
		background.Go(func() { s.notifyLoop(ctx) })
	}
	if s.cluster != nil {
		cluster.Go(func() { s.runCluster(ctx) })
	}
	s.mu.Lock()
	rerun := s.rerun
	s.rerun = nil
	s.mu.Unlock()
	for _, j := range rerun {
		s.dispatch(j)
	}

	s.loop(ctx)
	close(s.claimsDone)
	stopping, written := time.Now(), s.written.Load()
	s.logger.Info("stopping: claiming no more runs, waiting for those in flight",
		"in_flight", s.active.Load(), "grace", s.cfg.ShutdownGrace)

	cluster.Wait() // no more runs taken
	s.drain(stopping)
	// The flusher's last write ends before the runs still RUNNING are
	// marked INTERRUPTED: marking first would fence off a result whose
	// write was under way, and record a finished request as cut off.
	stopFlush()
	background.Wait()
	s.lastWrites()
	s.logger.Info("results written while stopping", "results", s.written.Load()-written)
	return nil
}

// drain lets the requests in flight finish within ShutdownGrace, then cuts
// off the rest, and returns when every dispatched job is done. It logs how
// long the runs took to finish, or how many it cut off.
func (s *Scheduler) drain(stopping time.Time) {
	n := s.active.Load()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	grace := time.NewTimer(s.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	}
	// A job is no longer active by the time done closes, so none is cut
	// off when every job ended within the grace.
	if cut := s.active.Load(); cut > 0 {
		s.logger.Warn("shutdown grace elapsed; interrupting requests still in flight, their runs become INTERRUPTED",
			"grace", s.cfg.ShutdownGrace, "runs", cut)
	} else if n > 0 {
		s.logger.Info("runs in flight finished", "runs", n, "took", time.Since(stopping).Round(time.Millisecond))
	}
	s.stopExec()
	<-done
}

// lastWrites writes the results still waiting, then marks INTERRUPTED the
// runs left RUNNING (cut off by shutdown, or whose result could not be
// written), both within FinalWriteTimeout.
func (s *Scheduler) lastWrites() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.FinalWriteTimeout)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		s.resMu.Lock()
		n := len(s.results)
		s.resMu.Unlock()
		s.logger.Error("write the last results", "results", n, "timeout", s.cfg.FinalWriteTimeout, "err", err)
	}
	if n, err := s.cfg.Store.InterruptRunning(ctx, s.cfg.Clock.Now(), "apicron shut down before the run finished"); err != nil {
		s.logger.Error("mark unfinished runs INTERRUPTED; they stay RUNNING until the next start, or another node's reaper, marks them", "timeout", s.cfg.FinalWriteTimeout, "err", err)
	} else if n > 0 {
		s.logger.Warn("unfinished runs marked INTERRUPTED", "runs", n)
	}
}
