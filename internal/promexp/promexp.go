// Package promexp exposes apicron's metrics in the Prometheus formats (text
// and OpenMetrics). The engine reports what it does through the methods of
// Metrics (scheduler.Recorder): each is a few in-memory counter updates, with
// no database access, so the hot path pays nothing it would notice. What
// only the database knows (schedules by status, live nodes) is read when
// Prometheus scrapes, and kept for a few seconds.
package promexp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/apicron/apicron"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every apicron series.
const namespace = "apicron"

// OtherSchedules is the schedule_id of the runs of the schedules beyond the
// first Config.ScheduleLabels seen.
const OtherSchedules = "other"

// DefaultStateTTL is how long the values read from the database at a
// scrape are reused by the next scrapes.
const DefaultStateTTL = 5 * time.Second

// stateTimeout bounds the database reads of one scrape.
const stateTimeout = 2 * time.Second

// latencyBuckets are the classic buckets of the latency and lateness
// histograms, in seconds: 1 ms to 60 s, about 2.5x apart.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// dbBuckets are those of the database write histogram: 0.5 ms to 10 s.
var dbBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Native histograms, for a Prometheus that negotiates them (protobuf):
// buckets about 10 % wide, at most 160 of them per series.
const (
	nativeFactor     = 1.1
	nativeMaxBuckets = 160
	nativeMinReset   = time.Hour
)

// Store is what the scrape reads from the database (store.DB implements it).
type Store interface {
	// SystemMetrics reads the service-wide counters: the schedules by
	// status and the targets are what Metrics takes from it.
	SystemMetrics(ctx context.Context, now time.Time) (*apicron.SystemMetrics, error)
}

// Config holds what a Metrics reports on.
type Config struct {
	// Store is read at scrape time (cached for StateTTL): schedules by
	// status, targets. Optional: without it those series are absent.
	Store Store
	// NodesFunc counts the live nodes sharing the database (1 alone on
	// it), at scrape time, cached with the Store's values. Optional.
	NodesFunc func(ctx context.Context) (int, error)
	// EngineFunc reports the engine's state (role, runs in flight,
	// results waiting, schedules queued) at each scrape; it must not touch
	// the database. Optional.
	EngineFunc func(ctx context.Context) (apicron.EngineHealth, error)
	// RequestsFunc says how many requests to targets are under way.
	// Optional.
	RequestsFunc func() int64
	// ScheduleLabels, when positive, adds a schedule_id label to the runs
	// finished and latency series for the first ScheduleLabels schedules
	// whose runs finish; later ones are counted as schedule_id "other".
	// Zero (the default): no such label (METRICS_SCHEDULE_LABELS).
	ScheduleLabels int
	// StateTTL is how long the database's values are reused. Zero:
	// DefaultStateTTL; negative: read at every scrape.
	StateTTL time.Duration
	// Version is reported by apicron_build_info. Optional.
	Version string
	// Logger receives the scrape's errors. Optional.
	Logger *slog.Logger
	// WriterFunc reports what the store's writer did so far (transactions,
	// statements, time busy and waited, SQLite's checkpoints), at each
	// scrape; it must not touch the database. Optional.
	WriterFunc func() apicron.WriterStats
}

// Metrics holds apicron's Prometheus series. It implements
// scheduler.Recorder; its methods are safe for concurrent use.
type Metrics struct {
	reg    *prometheus.Registry
	logger *slog.Logger
	// sched names the schedule_id label's values; nil without the label.
	sched *scheduleLabels

	runs      *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	latAll    prometheus.Observer // latency's one series without the schedule_id label
	lateness  prometheus.Histogram
	claimed   *prometheus.CounterVec
	skipped   *prometheus.CounterVec
	coalesced prometheus.Counter
	dbWrites  *prometheus.HistogramVec
	dbFails   *prometheus.CounterVec
	notesSent *prometheus.CounterVec
	notesFail *prometheus.CounterVec
	batches   *prometheus.HistogramVec
	loopLag   prometheus.Histogram
}

// New returns a Metrics with every series registered, the Go runtime's and
// the process's included.
func New(cfg Config) (*Metrics, error) {
	if cfg.ScheduleLabels < 0 || cfg.ScheduleLabels > apicron.MaxScheduleLabels {
		return nil, errors.New("promexp: ScheduleLabels must be 0 to " + strconv.Itoa(apicron.MaxScheduleLabels))
	}
	m := &Metrics{reg: prometheus.NewRegistry(), logger: cfg.Logger}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	runLabels := []string{"status", "error_type"}
	var latLabels []string
	if cfg.ScheduleLabels > 0 {
		m.sched = newScheduleLabels(cfg.ScheduleLabels)
		runLabels, latLabels = append(runLabels, "schedule_id"), []string{"schedule_id"}
	}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "runs_finished_total",
		Help: "Runs this node executed, by final status and error_type (empty for SUCCESS).",
	}, runLabels)
	m.latency = prometheus.NewHistogramVec(histogramOpts("run_latency_seconds",
		"Latency of the runs' last attempt: sending the request to reading the last body byte.", latencyBuckets), latLabels)
	if m.sched == nil {
		m.latAll = m.latency.WithLabelValues()
	}
	m.lateness = prometheus.NewHistogram(histogramOpts("run_lateness_seconds",
		"How late runs left: their first request's start after their due time (scheduled_at plus jitter).", latencyBuckets))
	m.claimed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "occurrences_claimed_total",
		Help: "Occurrences this node claimed as runs, by trigger (schedule, catch_up).",
	}, []string{"trigger"})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "occurrences_skipped_total",
		Help: "Occurrences this node's claims skipped, none of them run, by reason (skipped_overlap, misfire, window_ended).",
	}, []string{"reason"})
	m.coalesced = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "occurrences_coalesced_total",
		Help: "Occurrences claimed late together with a later one, whose single run covers them.",
	})
	m.dbWrites = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "database_write_duration_seconds",
		Help:    "Duration of the engine's database writes, by op (claim, write_results, take_runs, heartbeat, run_backfills).",
		Buckets: dbBuckets,
	}, []string{"op"})
	m.dbFails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "database_write_failures_total",
		Help: "The engine's database writes that failed, by op; each is retried.",
	}, []string{"op"})
	m.notesSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "notifications_sent_total",
		Help: "Alert notifications delivered, by notifier type.",
	}, []string{"type"})
	m.notesFail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "notifications_failed_total",
		Help: "Alert notification delivery attempts that failed, by notifier type; they are retried.",
	}, []string{"type"})
	m.batches = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "database_write_batch_items",
		Help:    "Items one engine write carried, by op: schedules of a claim, results of a write_results, runs of a take_runs.",
		Buckets: batchBuckets,
	}, []string{"op"})
	m.loopLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "scheduler_loop_lag_seconds",
		Help:    "How much later than asked the scheduling loop's timer woke it (the Go runtime or the machine kept it waiting).",
		Buckets: dbBuckets,
	})
	// Counters start at zero, so that a rate sees their first increase; a
	// histogram appears with its op's first write.
	for _, op := range dbOps {
		m.dbFails.WithLabelValues(op)
	}
	for _, reason := range []string{apicron.MissOverlap, apicron.MissMisfire, apicron.MissWindowEnded} {
		m.skipped.WithLabelValues(reason)
	}
	for _, t := range []apicron.Trigger{apicron.TriggerSchedule, apicron.TriggerCatchUp} {
		m.claimed.WithLabelValues(string(t))
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info", Help: "Always 1: the version of apicron serving.",
	}, []string{"version"})
	version := cfg.Version
	if version == "" {
		version = apicron.Version
	}
	build.WithLabelValues(version).Set(1)

	cs := []prometheus.Collector{m.runs, m.latency, m.lateness, m.claimed, m.skipped, m.coalesced, m.dbWrites, m.dbFails,
		m.notesSent, m.notesFail, m.batches, m.loopLag, build,
		// Beside the default Go series: how long runnable goroutines wait
		// for a core, and the stop-the-world pauses of the collector.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{
			Matcher: regexp.MustCompile(`^/sched/(latencies|pauses/total/gc):seconds$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&engineCollector{engine: cfg.EngineFunc, requests: cfg.RequestsFunc},
	}
	if cfg.WriterFunc != nil {
		cs = append(cs, &writerCollector{stats: cfg.WriterFunc})
	}
	if cfg.Store != nil || cfg.NodesFunc != nil {
		ttl := cfg.StateTTL
		if ttl == 0 {
			ttl = DefaultStateTTL
		}
		cs = append(cs, &stateCollector{store: cfg.Store, nodes: cfg.NodesFunc, ttl: ttl, logger: m.logger})
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// histogramOpts are a latency histogram's: classic buckets and native ones.
func histogramOpts(name, help string, buckets []float64) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Namespace: namespace, Name: name, Help: help, Buckets: buckets,
		NativeHistogramBucketFactor:     nativeFactor,
		NativeHistogramMaxBucketNumber:  nativeMaxBuckets,
		NativeHistogramMinResetDuration: nativeMinReset,
	}
}

// batchBuckets are those of the batch size histogram: 1 to 4,096 items.
var batchBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096}

// dbOps are the op label's values, one per database write the engine makes.
var dbOps = []string{"claim", "write_results", "take_runs", "heartbeat", "run_backfills"}

// Handler serves the series in the format the request's Accept header asks
// for: the Prometheus text format (text/plain; version=0.0.4) by default,
// OpenMetrics (application/openmetrics-text) or protobuf.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// Gatherer returns the registry, for tests and other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// RunFinished counts a run this node executed, and observes its latency
// and lateness: a few atomic updates and a map lookup, no allocation once
// its label values were seen.
func (m *Metrics) RunFinished(job *apicron.Job, r apicron.RunResult) {
	status := string(r.Status)
	if m.sched == nil {
		m.runs.WithLabelValues(status, r.ErrorType).Inc()
		if r.LatencyMs != nil {
			m.latAll.Observe(*r.LatencyMs / 1000)
		}
	} else {
		id := m.sched.label(r.ScheduleID)
		m.runs.WithLabelValues(status, r.ErrorType, id).Inc()
		if r.LatencyMs != nil {
			m.latency.WithLabelValues(id).Observe(*r.LatencyMs / 1000)
		}
	}
	if job != nil && len(r.Attempts) > 0 && !r.StartedAt.IsZero() { // it was sent: how late it left
		m.lateness.Observe(max(r.StartedAt.Sub(job.FireAt()), 0).Seconds())
	}
}

// OccurrenceClaimed counts an occurrence claimed as a run.
func (m *Metrics) OccurrenceClaimed(trigger apicron.Trigger) {
	m.claimed.WithLabelValues(string(trigger)).Inc()
}

// OccurrencesMissed counts occurrences a claim skipped or coalesced
// (reason is an apicron.Miss reason).
func (m *Metrics) OccurrencesMissed(reason string, n int64) {
	if n <= 0 {
		return
	}
	if reason == apicron.MissCoalesced {
		m.coalesced.Add(float64(n))
		return
	}
	m.skipped.WithLabelValues(reason).Add(float64(n))
}

// DatabaseWrite observes one of the engine's database writes.
func (m *Metrics) DatabaseWrite(op string, took time.Duration, err error) {
	m.dbWrites.WithLabelValues(op).Observe(took.Seconds())
	if err != nil {
		m.dbFails.WithLabelValues(op).Inc()
	}
}

// WriteBatch observes the items of one engine write.
func (m *Metrics) WriteBatch(op string, items int) {
	m.batches.WithLabelValues(op).Observe(float64(items))
}

// LoopLag observes how late the scheduling loop woke.
func (m *Metrics) LoopLag(d time.Duration) { m.loopLag.Observe(d.Seconds()) }

// NotificationDelivered counts an alert notification's delivery attempt.
func (m *Metrics) NotificationDelivered(notifierType string, err error) {
	if err != nil {
		m.notesFail.WithLabelValues(notifierType).Inc()
		return
	}
	m.notesSent.WithLabelValues(notifierType).Inc()
}

// scheduleLabels gives the first limit schedules seen a schedule_id label
// of their own and the rest OtherSchedules, so that the number of series
// stays bounded whatever the number of schedules.
type scheduleLabels struct {
	limit int
	mu    sync.RWMutex
	ids   map[int64]string
}

func newScheduleLabels(limit int) *scheduleLabels {
	return &scheduleLabels{limit: limit, ids: make(map[int64]string, min(limit, 1024))}
}

// label returns schedule id's label value.
func (s *scheduleLabels) label(id int64) string {
	s.mu.RLock()
	l, ok := s.ids[id]
	full := len(s.ids) >= s.limit
	s.mu.RUnlock()
	switch {
	case ok:
		return l
	case full:
		return OtherSchedules
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.ids[id]; ok {
		return l
	}
	if len(s.ids) >= s.limit {
		return OtherSchedules
	}
	l = strconv.FormatInt(id, 10)
	s.ids[id] = l
	return l
}

var (
	leaderDesc = prometheus.NewDesc(namespace+"_leader",
		"1 while this node claims occurrences (it holds the dispatcher lease, or is alone on its database), else 0.", nil, nil)
	requestsDesc = prometheus.NewDesc(namespace+"_requests_in_flight",
		"Requests to targets under way on this node (at most MAX_CONCURRENT_JOBS).", nil, nil)
	runsInFlightDesc = prometheus.NewDesc(namespace+"_runs_in_flight",
		"Runs dispatched on this node and not yet done: waiting for their time or their host, or under way (/health's engine.in_flight).", nil, nil)
	pendingDesc = prometheus.NewDesc(namespace+"_results_pending",
		"Results waiting to be written to the database (group commit).", nil, nil)
	queuedDesc = prometheus.NewDesc(namespace+"_schedules_queued",
		"ACTIVE schedules in this node's engine queue (the leader's, on a shared database).", nil, nil)
	schedulesDesc = prometheus.NewDesc(namespace+"_schedules",
		"Schedules in the database, by status.", []string{"status"}, nil)
	targetsDesc = prometheus.NewDesc(namespace+"_targets", "Targets in the database.", nil, nil)
	nodesDesc   = prometheus.NewDesc(namespace+"_nodes",
		"Live nodes sharing the database (heartbeat within LEASE_TTL); 1 alone on it.", nil, nil)
)

// engineCollector reads the engine's state at each scrape: memory only.
type engineCollector struct {
	engine   func(ctx context.Context) (apicron.EngineHealth, error)
	requests func() int64
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{leaderDesc, requestsDesc, runsInFlightDesc, pendingDesc, queuedDesc} {
		ch <- d
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	if c.requests != nil {
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.GaugeValue, float64(c.requests()))
	}
	if c.engine == nil {
		return
	}
	// An error says the engine's writes fail; its state is still reported.
	h, _ := c.engine(context.Background())
	leader := 0.0
	if h.Role != apicron.RoleFollower {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, leader)
	ch <- prometheus.MustNewConstMetric(runsInFlightDesc, prometheus.GaugeValue, float64(h.InFlight))
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(h.PendingResults))
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(h.Scheduled))
}

// stateCollector reads what the database knows at scrape time, reusing it
// for ttl so that scrapes from several Prometheus servers, or a short
// scrape interval, cost the database one read every ttl at most.
type stateCollector struct {
	store  Store
	nodes  func(ctx context.Context) (int, error)
	ttl    time.Duration
	logger *slog.Logger

	mu     sync.Mutex
	readAt time.Time
	cached []prometheus.Metric
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- schedulesDesc
	ch <- targetsDesc
	ch <- nodesDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached == nil || c.ttl < 0 || time.Since(c.readAt) >= c.ttl {
		c.cached, c.readAt = c.read(), time.Now()
	}
	for _, m := range c.cached {
		ch <- m
	}
}

// read queries the database; a value it cannot read is left out of the
// scrape (and logged), the others are reported.
func (c *stateCollector) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	out := []prometheus.Metric{}
	if c.store != nil {
		if sm, err := c.store.SystemMetrics(ctx, time.Now()); err != nil {
			c.logger.Warn("metrics: read schedules by status", "err", err)
		} else {
			for _, st := range []apicron.ScheduleStatus{apicron.Active, apicron.Paused, apicron.Stopped} {
				out = append(out, prometheus.MustNewConstMetric(schedulesDesc, prometheus.GaugeValue,
					float64(sm.SchedulesByStatus[st]), string(st)))
			}
			out = append(out, prometheus.MustNewConstMetric(targetsDesc, prometheus.GaugeValue, float64(sm.TotalTargets)))
		}
	}
	if c.nodes != nil {
		if n, err := c.nodes(ctx); err != nil {
			c.logger.Warn("metrics: count live nodes", "err", err)
		} else {
			out = append(out, prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, float64(n)))
		}
	}
	return out
}

var (
	txDesc = prometheus.NewDesc(namespace+"_database_write_transactions_total",
		"Write transactions the store ran: the engine's, the API's and its write probes.", nil, nil)
	stmtDesc = prometheus.NewDesc(namespace+"_database_write_statements_total",
		"Statements run inside write transactions.", nil, nil)
	busyDesc = prometheus.NewDesc(namespace+"_database_writer_busy_seconds_total",
		"Time write transactions held the writer, from begin to commit.", nil, nil)
	waitDesc = prometheus.NewDesc(namespace+"_database_writer_wait_seconds_total",
		"Time writes waited for the writer before they began.", nil, nil)
	ckptDesc = prometheus.NewDesc(namespace+"_sqlite_checkpoints_total",
		"Checkpoints of the write-ahead log, by connection: checkpointer (beside the writer) or writer (to restart the log; the writer waits).",
		[]string{"connection"}, nil)
	ckptTimeDesc = prometheus.NewDesc(namespace+"_sqlite_checkpoint_seconds_total",
		"Time spent in checkpoints of the write-ahead log, by connection.", []string{"connection"}, nil)
	walDesc = prometheus.NewDesc(namespace+"_sqlite_wal_frames",
		"Length of the write-ahead log in pages at the last checkpoint.", nil, nil)
)

// writerCollector reports the store's writer counts at each scrape: memory only.
type writerCollector struct{ stats func() apicron.WriterStats }

func (c *writerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{txDesc, stmtDesc, busyDesc, waitDesc, ckptDesc, ckptTimeDesc, walDesc} {
		ch <- d
	}
}

func (c *writerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(txDesc, prometheus.CounterValue, float64(s.Transactions))
	ch <- prometheus.MustNewConstMetric(stmtDesc, prometheus.CounterValue, float64(s.Statements))
	ch <- prometheus.MustNewConstMetric(busyDesc, prometheus.CounterValue, s.Busy.Seconds())
	ch <- prometheus.MustNewConstMetric(waitDesc, prometheus.CounterValue, s.Wait.Seconds())
	if !s.SQLite {
		return
	}
	ch <- prometheus.MustNewConstMetric(ckptDesc, prometheus.CounterValue, float64(s.Checkpoints), "checkpointer")
	ch <- prometheus.MustNewConstMetric(ckptDesc, prometheus.CounterValue, float64(s.WriterCheckpoints), "writer")
	ch <- prometheus.MustNewConstMetric(ckptTimeDesc, prometheus.CounterValue, s.CheckpointTime.Seconds(), "checkpointer")
	ch <- prometheus.MustNewConstMetric(ckptTimeDesc, prometheus.CounterValue, s.WriterCheckpointTime.Seconds(), "writer")
	ch <- prometheus.MustNewConstMetric(walDesc, prometheus.GaugeValue, float64(s.WALFrames))
}
