package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Internal is one second of apicron's insides, from two scrapes of its
// /metrics/prometheus a second apart and of /proc/<pid>/io, so that a
// second whose requests were late shows what the engine was doing: claims,
// result writes, the writer's time, checkpoints, the Go runtime's pauses.
// Rates are per second of wall time; "max" figures are the upper bound of
// the highest histogram bucket that grew.
type Internal struct {
	At time.Time `json:"at"`
	// T is the second on the lateness chart (scheduled time since the
	// first anchor) this sample ends in.
	T int `json:"t"`

	Claims        F     `json:"claims"`          // claim transactions, failed ones included
	ClaimsDone    F     `json:"claims_done"`     // claims that committed
	ClaimItems    F     `json:"claim_items"`     // schedules claimed
	ClaimMs       F     `json:"claim_ms"`        // time in claims
	ClaimMaxMs    F     `json:"claim_max_ms"`    // longest claim (bucket bound)
	Writes        F     `json:"writes"`          // write_results transactions, failed ones included
	WritesDone    F     `json:"writes_done"`     // result writes that committed
	WriteItems    F     `json:"write_items"`     // results written
	WriteMs       F     `json:"write_ms"`        // time in result writes
	WriteMaxMs    F     `json:"write_max_ms"`    // longest result write (bucket bound)
	Takes         F     `json:"takes,omitempty"` // take_runs that took runs (shared database)
	TakeItems     F     `json:"take_items,omitempty"`
	Pending       F     `json:"results_pending"`    // results waiting to be written, at the scrape
	InFlight      F     `json:"runs_in_flight"`     // at the scrape
	Transactions  F     `json:"transactions"`       // write transactions
	Statements    F     `json:"statements"`         // statements in them
	WriterBusyMs  F     `json:"writer_busy_ms"`     // time transactions held the writer
	WriterWaitMs  F     `json:"writer_wait_ms"`     // time writes waited for it
	Checkpoints   F     `json:"checkpoints"`        // SQLite, on the checkpointer's connection
	CheckpointMs  F     `json:"checkpoint_ms"`      //
	WriterCkpts   F     `json:"writer_checkpoints"` // SQLite, on the writer's connection (the writer waits)
	WriterCkptMs  F     `json:"writer_checkpoint_ms"`
	WALFrames     F     `json:"wal_frames"`           // at the last checkpoint
	WALBytes      int64 `json:"wal_bytes"`            // the -wal file's size
	DBBytes       int64 `json:"db_bytes"`             // the database file's size
	LoopLagMaxMs  F     `json:"loop_lag_max_ms"`      // the scheduling loop's latest wake (bucket bound)
	GCPauses      F     `json:"gc_pauses"`            // stop-the-world pauses for the collector
	GCPauseMs     F     `json:"gc_pause_ms"`          // their total
	GCPauseMaxMs  F     `json:"gc_pause_max_ms"`      // longest (bucket bound: 0.92, 10.5 or 117 ms)
	SchedLatP99Ms F     `json:"sched_latency_p99_ms"` // goroutines' wait for a core, p99 (bucket bound, as above)
	Coalesced     F     `json:"coalesced"`
	Skipped       F     `json:"skipped"`
	ReadKB        F     `json:"read_kb"`  // rchar: bytes read by syscalls (page cache misses of SQLite)
	WriteKB       F     `json:"write_kb"` // wchar: bytes written by syscalls (WAL, checkpoints, sockets)
	ReadCalls     F     `json:"read_calls"`
	WriteCalls    F     `json:"write_calls"`
	RSSKB         int64 `json:"rss_kb"`
	ScrapeMs      F     `json:"scrape_ms"` // how long the scrape took: a stalled process answers late
}

// scrape is one reading of the metrics and /proc/<pid>/io.
type scrape struct {
	at       time.Time
	took     time.Duration
	families map[string]*dto.MetricFamily
	io       map[string]int64
	db, wal  int64 // file sizes (SQLite)
}

// internals scrapes apicron once a second until stop.
type internals struct {
	base   string
	pid    int
	sizes  func() (db, wal int64)
	client *http.Client

	mu      sync.Mutex
	once    sync.Once
	scrapes []scrape
	stopC   chan struct{}
	done    chan struct{}
}

func startInternals(base string, pid int, sizes func() (db, wal int64)) *internals {
	in := &internals{base: base, pid: pid, sizes: sizes, client: &http.Client{Timeout: 5 * time.Second},
		stopC: make(chan struct{}), done: make(chan struct{})}
	go in.loop()
	return in
}

func (in *internals) loop() {
	defer close(in.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if s, err := in.read(); err == nil {
			in.mu.Lock()
			in.scrapes = append(in.scrapes, s)
			in.mu.Unlock()
		}
		select {
		case <-in.stopC:
			return
		case <-t.C:
		}
	}
}

func (in *internals) read() (scrape, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := scrape{at: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.base+"/metrics/prometheus", nil)
	if err != nil {
		return s, err
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if s.families, err = p.TextToMetricFamilies(resp.Body); err != nil {
		return s, err
	}
	// The values are those of the moment apicron answered: the rates are
	// between answers, which a stalled process delays.
	s.took = time.Since(s.at)
	s.at = time.Now()
	s.io = readProcIO(in.pid)
	if in.sizes != nil {
		s.db, s.wal = in.sizes()
	}
	return s, nil
}

// stop ends the scraping; it may be called more than once.
func (in *internals) stop() {
	in.once.Do(func() { close(in.stopC) })
	<-in.done
}

// samples turns the scrapes into per-second samples, placed on the
// lateness chart's seconds counted from origin (unix ms).
func (in *internals) samples(origin int64) []Internal {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Internal
	for i := 1; i < len(in.scrapes); i++ {
		out = append(out, in.between(in.scrapes[i-1], in.scrapes[i], origin))
	}
	return out
}

func (in *internals) between(a, b scrape, origin int64) Internal {
	secs := b.at.Sub(a.at).Seconds()
	rate := func(v float64) F { return F(v / secs) }
	ctr := func(name string, labels ...string) float64 {
		return value(b.families, name, labels...) - value(a.families, name, labels...)
	}
	// The second on the chart that holds the middle of the interval.
	mid := (a.at.UnixMilli() + b.at.UnixMilli()) / 2
	x := Internal{At: b.at.UTC(), T: int(math.Floor(float64(mid-origin) / 1000))}
	hist := func(op string) (count, sum, maxMs float64) {
		ha, hb := histogram(a.families, "apicron_database_write_duration_seconds", "op", op),
			histogram(b.families, "apicron_database_write_duration_seconds", "op", op)
		return hcount(hb) - hcount(ha), (hsum(hb) - hsum(ha)) * 1000, topBucket(ha, hb) * 1000
	}
	// items is the items the successful writes of op carried, and how many
	// writes they were (a failed write has no batch).
	items := func(op string) (sum, count float64) {
		ha, hb := histogram(a.families, "apicron_database_write_batch_items", "op", op),
			histogram(b.families, "apicron_database_write_batch_items", "op", op)
		return hsum(hb) - hsum(ha), hcount(hb) - hcount(ha)
	}
	c, s, m := hist("claim")
	n, ok := items("claim")
	x.Claims, x.ClaimMs, x.ClaimMaxMs, x.ClaimItems, x.ClaimsDone = rate(c), rate(s), F(m), rate(n), rate(ok)
	c, s, m = hist("write_results")
	n, ok = items("write_results")
	x.Writes, x.WriteMs, x.WriteMaxMs, x.WriteItems, x.WritesDone = rate(c), rate(s), F(m), rate(n), rate(ok)
	n, ok = items("take_runs")
	x.Takes, x.TakeItems = rate(ok), rate(n)
	x.Pending = F(value(b.families, "apicron_results_pending"))
	x.InFlight = F(value(b.families, "apicron_runs_in_flight"))
	x.Transactions = rate(ctr("apicron_database_write_transactions_total"))
	x.Statements = rate(ctr("apicron_database_write_statements_total"))
	x.WriterBusyMs = rate(ctr("apicron_database_writer_busy_seconds_total") * 1000)
	x.WriterWaitMs = rate(ctr("apicron_database_writer_wait_seconds_total") * 1000)
	x.Checkpoints = rate(ctr("apicron_sqlite_checkpoints_total", "connection", "checkpointer"))
	x.CheckpointMs = rate(ctr("apicron_sqlite_checkpoint_seconds_total", "connection", "checkpointer") * 1000)
	x.WriterCkpts = rate(ctr("apicron_sqlite_checkpoints_total", "connection", "writer"))
	x.WriterCkptMs = rate(ctr("apicron_sqlite_checkpoint_seconds_total", "connection", "writer") * 1000)
	x.WALFrames = F(value(b.families, "apicron_sqlite_wal_frames"))
	x.LoopLagMaxMs = F(topBucket(histogram(a.families, "apicron_scheduler_loop_lag_seconds"),
		histogram(b.families, "apicron_scheduler_loop_lag_seconds")) * 1000)
	// The pauses' count and total from the summary, whose sum is exact; the
	// longest from the runtime's histogram, a bucket bound (0.92, 10.5 or
	// 117 ms: its buckets are about 11 times apart).
	sa, sb := summary(a.families, "go_gc_duration_seconds"), summary(b.families, "go_gc_duration_seconds")
	x.GCPauses = rate(float64(sb.GetSampleCount()) - float64(sa.GetSampleCount()))
	x.GCPauseMs = rate((sb.GetSampleSum() - sa.GetSampleSum()) * 1000)
	x.GCPauseMaxMs = F(topBucket(histogram(a.families, "go_sched_pauses_total_gc_seconds"),
		histogram(b.families, "go_sched_pauses_total_gc_seconds")) * 1000)
	x.SchedLatP99Ms = F(quantileBound(histogram(a.families, "go_sched_latencies_seconds"),
		histogram(b.families, "go_sched_latencies_seconds"), 0.99) * 1000)
	x.Coalesced = rate(ctr("apicron_occurrences_coalesced_total"))
	for _, reason := range []string{"skipped_overlap", "misfire", "window_ended"} {
		x.Skipped += rate(ctr("apicron_occurrences_skipped_total", "reason", reason))
	}
	io := func(k string) float64 { return float64(b.io[k] - a.io[k]) }
	x.ReadKB, x.WriteKB = rate(io("rchar")/1024), rate(io("wchar")/1024)
	x.ReadCalls, x.WriteCalls = rate(io("syscr")), rate(io("syscw"))
	x.RSSKB = int64(value(b.families, "process_resident_memory_bytes")) >> 10
	x.ScrapeMs = F(msOf(b.took))
	x.DBBytes, x.WALBytes = b.db, b.wal
	return x
}

// readProcIO reads /proc/<pid>/io (empty if it cannot).
func readProcIO(pid int) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return out
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		out[k] = n
	}
	return out
}

// metric finds the series of family name whose labels include the given
// name-value pairs.
func metric(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's, gauge's or untyped series' value (0 if absent).
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := metric(fams, name, labels...)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

func histogram(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Histogram {
	if m := metric(fams, name, labels...); m != nil {
		return m.GetHistogram()
	}
	return nil
}

func summary(fams map[string]*dto.MetricFamily, name string) *dto.Summary {
	if m := metric(fams, name); m != nil {
		return m.GetSummary()
	}
	return nil
}

func hcount(h *dto.Histogram) float64 { return float64(h.GetSampleCount()) }
func hsum(h *dto.Histogram) float64   { return h.GetSampleSum() }

// topBucket is the upper bound of the lowest bucket holding every sample
// added from a to b: a bound on the largest (0 if none was added).
func topBucket(a, b *dto.Histogram) float64 { return quantileBound(a, b, 1) }

// quantileBound is the upper bound of the bucket holding quantile q of the
// samples added from a to b; the last finite bound if it lies beyond it.
func quantileBound(a, b *dto.Histogram, q float64) float64 {
	if b == nil {
		return 0
	}
	total := float64(b.GetSampleCount() - a.GetSampleCount())
	if total <= 0 {
		return 0
	}
	prev := map[float64]uint64{}
	for _, bk := range a.GetBucket() {
		prev[bk.GetUpperBound()] = bk.GetCumulativeCount()
	}
	last := 0.0
	for _, bk := range b.GetBucket() {
		ub := bk.GetUpperBound()
		if math.IsInf(ub, 1) {
			break // beyond the last bound: say the last bound
		}
		if float64(bk.GetCumulativeCount()-prev[ub]) >= q*total {
			return ub
		}
		last = ub
	}
	return last
}

// renderInternals prints the engine's insides: medians and maxima over the
// steady window, then the seconds whose requests were latest, each beside
// what the engine did in it.
func renderInternals(b *strings.Builder, r *Report, xs []Internal) {
	if len(xs) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	steady, end := int(r.ChartSteadyAt), len(r.Chart) // the drain after the window is left out
	var in []Internal
	for _, x := range xs {
		if x.T > steady && x.T < end {
			in = append(in, x)
		}
	}
	if len(in) == 0 {
		return
	}
	p("\n### Inside apicron, per second (steady window, %d seconds from scrapes of /metrics/prometheus and /proc/pid/io)\n\n", len(in))
	p("| figure | median | p90 | max |\n|---|---:|---:|---:|\n")
	row := func(name string, get func(Internal) float64) {
		v := make([]float64, 0, len(in))
		for _, x := range in {
			if f := get(x); !math.IsNaN(f) { // a ratio in a second without claims or writes
				v = append(v, f)
			}
		}
		if len(v) == 0 {
			p("| %s | - | - | - |\n", name)
			return
		}
		slices.Sort(v)
		p("| %s | %s | %s | %s |\n", name, fmtF(F(percentile(v, 0.5)), 1), fmtF(F(percentile(v, 0.9)), 1), fmtF(F(v[len(v)-1]), 1))
	}
	row("claims/s", func(x Internal) float64 { return float64(x.Claims) })
	row("schedules per claim", func(x Internal) float64 { return float64(ratio(x.ClaimItems, x.ClaimsDone)) })
	row("ms in claims per s", func(x Internal) float64 { return float64(x.ClaimMs) })
	row("result writes/s", func(x Internal) float64 { return float64(x.Writes) })
	row("results per write", func(x Internal) float64 { return float64(ratio(x.WriteItems, x.WritesDone)) })
	row("ms in result writes per s", func(x Internal) float64 { return float64(x.WriteMs) })
	row("results waiting (at scrape)", func(x Internal) float64 { return float64(x.Pending) })
	row("write transactions/s", func(x Internal) float64 { return float64(x.Transactions) })
	row("statements/s", func(x Internal) float64 { return float64(x.Statements) })
	row("writer busy, ms per s", func(x Internal) float64 { return float64(x.WriterBusyMs) })
	row("writer wait, ms per s", func(x Internal) float64 { return float64(x.WriterWaitMs) })
	if r.DB == "sqlite" {
		row("checkpoint ms per s (beside the writer)", func(x Internal) float64 { return float64(x.CheckpointMs) })
		row("checkpoint ms per s (on the writer)", func(x Internal) float64 { return float64(x.WriterCkptMs) })
		row("WAL frames at checkpoint", func(x Internal) float64 { return float64(x.WALFrames) })
		row("WAL file MiB", func(x Internal) float64 { return float64(x.WALBytes) / (1 << 20) })
		row("database file MiB", func(x Internal) float64 { return float64(x.DBBytes) / (1 << 20) })
	}
	row("KiB read by syscalls per s", func(x Internal) float64 { return float64(x.ReadKB) })
	row("KiB written by syscalls per s", func(x Internal) float64 { return float64(x.WriteKB) })
	row("GC pause ms per s", func(x Internal) float64 { return float64(x.GCPauseMs) })
	row("goroutine wait for a core p99, ms (bucket bound: 0.92, 10.5 or 117)", func(x Internal) float64 { return float64(x.SchedLatP99Ms) })
	row("loop lag max, ms", func(x Internal) float64 { return float64(x.LoopLagMaxMs) })
	row("RSS MiB", func(x Internal) float64 { return float64(x.RSSKB) / 1024 })

	renderOverTime(p, r, in)

	// The latest seconds, with what happened in them.
	byT := map[int]SecondPoint{}
	for _, pt := range r.Chart {
		byT[pt.T] = pt
	}
	worst := slices.Clone(in)
	slices.SortFunc(worst, func(a, b Internal) int {
		return cmpF(byT[b.T].P99, byT[a.T].P99)
	})
	worst = worst[:min(10, len(worst))]
	slices.SortFunc(worst, func(a, b Internal) int { return a.T - b.T })
	p("\nThe 10 seconds with the highest p99 lateness at the sink, with what apicron did in them (per second):\n\n")
	p("| s | p99 / max ms | claims (sched.) ms | writes (results) ms | pending | writer busy / wait ms | ckpt ms (on writer) | WAL frames | KiB read / written | GC ms | core wait p99 ms | loop lag ms |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range worst {
		pt := byT[x.T]
		p("| %d | %s / %s | %s (%s) %s | %s (%s) %s | %s | %s / %s | %s (%s) | %s | %s / %s | %s | %s | %s |\n",
			x.T, fmtF(pt.P99, 1), fmtF(pt.Max, 1),
			fmtF(x.Claims, 0), fmtF(x.ClaimItems, 0), fmtF(x.ClaimMs, 0),
			fmtF(x.Writes, 0), fmtF(x.WriteItems, 0), fmtF(x.WriteMs, 0),
			fmtF(x.Pending, 0), fmtF(x.WriterBusyMs, 0), fmtF(x.WriterWaitMs, 0),
			fmtF(x.CheckpointMs, 0), fmtF(x.WriterCkptMs, 0), fmtF(x.WALFrames, 0),
			fmtF(x.ReadKB, 0), fmtF(x.WriteKB, 0), fmtF(x.GCPauseMs, 1), fmtF(x.SchedLatP99Ms, 1), fmtF(x.LoopLagMaxMs, 1))
	}
}

// cmpF orders a before b when it is smaller; NaN (no arrivals) is the smallest.
func cmpF(a, b F) int {
	switch an, bn := math.IsNaN(float64(a)), math.IsNaN(float64(b)); {
	case an && bn:
		return 0
	case an:
		return -1
	case bn:
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// renderOverTime splits the steady window into up to 12 equal slices and
// gives, for each, the lateness at the sink and what apicron held at its
// end: a long run (a soak) shows here whether memory, the database, the
// WAL or lateness creep.
func renderOverTime(p func(string, ...any), r *Report, in []Internal) {
	const parts = 12
	if len(in) < 2*parts {
		return
	}
	byT := map[int]SecondPoint{}
	for _, pt := range r.Chart {
		byT[pt.T] = pt
	}
	p("\n### Over time (the steady window in %d slices)\n\n", parts)
	p("| from s | to s | runs/s | p99 lateness ms (median of seconds) | worst second p99 ms | RSS MiB (end) | database MiB (end) | WAL MiB (max) | GC ms per s |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for k := range parts {
		part := in[k*len(in)/parts : (k+1)*len(in)/parts]
		var n int
		var p99s []float64
		var walMax int64
		var gc float64
		for _, x := range part {
			pt := byT[x.T]
			n += pt.N
			if pt.N > 0 {
				p99s = append(p99s, float64(pt.P99))
			}
			walMax = max(walMax, x.WALBytes)
			gc += float64(x.GCPauseMs)
		}
		slices.Sort(p99s)
		med, worst := math.NaN(), math.NaN()
		if len(p99s) > 0 {
			med, worst = percentile(p99s, 0.5), p99s[len(p99s)-1]
		}
		last := part[len(part)-1]
		p("| %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", part[0].T, last.T, fmtF(F(float64(n)/float64(len(part))), 0),
			fmtF(F(med), 1), fmtF(F(worst), 1), fmtF(F(float64(last.RSSKB)/1024), 0), fmtF(F(float64(last.DBBytes)/(1<<20)), 0),
			fmtF(F(float64(walMax)/(1<<20)), 1), fmtF(F(gc/float64(len(part))), 1))
	}
}
