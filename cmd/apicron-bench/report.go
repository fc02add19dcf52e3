package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is everything one run measured; it is written as JSON and rendered
// as markdown.
type Report struct {
	Scenario      string        `json:"scenario"`
	Command       string        `json:"command"`
	Started       time.Time     `json:"started"`
	Finished      time.Time     `json:"finished"`
	Machine       Machine       `json:"machine"`
	LoadAvgBefore string        `json:"loadavg_before"`
	LoadAvgAfter  string        `json:"loadavg_after"`
	Binary        string        `json:"binary"`
	DB            string        `json:"db"`
	N             int           `json:"n"`
	IntervalS     float64       `json:"interval_s"`
	Kind          string        `json:"kind,omitempty"`
	DurationS     float64       `json:"duration_s"`
	DrainS        float64       `json:"drain_s"`
	MaxConcurrent int           `json:"max_concurrent_jobs"`
	Timezone      string        `json:"timezone,omitempty"` // many: the CRON schedules' zone (--timezone)
	Assertions    bool          `json:"assertions"`
	Signing       bool          `json:"signing"`
	Stall         *StallRun     `json:"stall,omitempty"` // many: --stall, --stall-at, --stall-for and what the stall did
	Features      *FeatureRun   `json:"features,omitempty"`
	Notes         []string      `json:"notes"`
	Error         string        `json:"error,omitempty"`
	Apicron       *ApicronRun   `json:"apicron,omitempty"`
	Baseline      *BaselineRun  `json:"baseline,omitempty"`
	Ratios        *Ratios       `json:"ratios,omitempty"`
	API           []OpStats     `json:"api,omitempty"`
	Metrics       *MetricsRun   `json:"metrics,omitempty"`
	Huge          *HugeRun      `json:"huge,omitempty"`
	Chart         []SecondPoint `json:"chart,omitempty"` // apicron, per second of scheduled time since the first anchor
	BaselineChart []SecondPoint `json:"baseline_chart,omitempty"`
	ChartSteadyAt float64       `json:"chart_steady_at_s"` // where the steady window begins on the chart
	Perf          string        `json:"perf,omitempty"`
}

// Machine describes the host.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPU       string `json:"cpu"`
	MemTotal  string `json:"mem_total"`
	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	Kernel    string `json:"kernel"`
}

// ApicronRun is one apicron process's delivery and cost.
type ApicronRun struct {
	Create             CreateStats    `json:"create"`
	SpawnToListeningMs F              `json:"spawn_to_listening_ms"`
	SpawnToHealthyMs   F              `json:"spawn_to_healthy_ms"`
	All                Figures        `json:"all"`
	Steady             Figures        `json:"steady"`
	First              Figures        `json:"first_runs"`
	AfterWindowSink    int64          `json:"after_window_sink"`
	AfterWindowRuns    int64          `json:"after_window_runs"`
	Unlabelled         int64          `json:"unlabelled_requests"`
	Process            ProcStats      `json:"process"`
	DB                 DBStats        `json:"db"`
	HarnessCPUSec      F              `json:"harness_cpu_s_window"` // the sink's cost during the window
	Counters           EngineCounters `json:"engine_counters"`      // run_stats scope 0, whole process life
	Noise              Noise          `json:"noise_window"`
	Samples            []procSample   `json:"samples,omitempty"`
	Internals          []Internal     `json:"internals,omitempty"` // per second, from apicron's metrics
	Windows            []window       `json:"windows"`
	FirstAnchor        time.Time      `json:"first_anchor"`
	SteadyFrom         time.Time      `json:"steady_from"`
	WindowEnd          time.Time      `json:"window_end"`
	StopRequested      time.Time      `json:"stop_requested"`
	// Nodes is each process's share of a --nodes run; the CPU per 1,000
	// runs of all of them, without and with their PostgreSQL backends.
	Nodes                 []NodeShare `json:"nodes,omitempty"`
	NodesCPUPer1000       F           `json:"nodes_cpu_s_per_1000_runs_window,omitempty"`
	NodesCPUPer1000WithPG F           `json:"nodes_cpu_s_per_1000_runs_window_with_pg,omitempty"`
}

// CreateStats describes how the schedules were created.
type CreateStats struct {
	Count   int    `json:"count"`
	Method  string `json:"method"`
	Workers int    `json:"workers"`
	Seconds F      `json:"seconds"`
	PerSec  F      `json:"per_sec"`
	Latency Dist   `json:"latency"`
	Errors  int    `json:"errors"`
	Extra   string `json:"extra,omitempty"`
	Shifted int64  `json:"shifted,omitempty"`
}

// ProcStats is the apicron process's resource use.
type ProcStats struct {
	PID              int                      `json:"pid"`
	CPUTotalSec      F                        `json:"cpu_total_s"`
	CPUWindowSec     F                        `json:"cpu_window_s"`
	RunsInCPUWindow  int64                    `json:"runs_in_cpu_window"`
	CPUPer1000Window F                        `json:"cpu_s_per_1000_runs_window"`
	RunsTotal        int64                    `json:"runs_total"`
	CPUPer1000Total  F                        `json:"cpu_s_per_1000_runs_total"`
	CPUUtilWindow    F                        `json:"cpu_util_window"` // cores busy on average during the window
	PGBackendCPUSec  F                        `json:"pg_backend_cpu_s_window,omitempty"`
	CPUPer1000WithPG F                        `json:"cpu_s_per_1000_runs_window_with_pg,omitempty"`
	PGActivity       *PGActivity              `json:"pg_activity_window,omitempty"`
	PGTables         map[string]TableActivity `json:"pg_tables_window,omitempty"`
	PeakRSSKB        int64                    `json:"peak_rss_kb"`
	RSSAtStopKB      int64                    `json:"rss_at_stop_kb"`
	StopMs           F                        `json:"sigterm_to_exit_ms"`
	ExitErr          string                   `json:"exit_error,omitempty"`
	WarnLines        int                      `json:"warn_lines"`
	ErrorLines       int                      `json:"error_lines"`
	LogSample        []string                 `json:"log_sample,omitempty"`
}

// DBStats is the database's size.
type DBStats struct {
	BytesEmpty     int64            `json:"bytes_empty"` // migrated, before any schedule
	BytesLive      int64            `json:"bytes_before_stop"`
	WALLive        int64            `json:"wal_bytes_before_stop"`
	BytesAfterStop int64            `json:"bytes_after_stop"`
	BytesPerRun    F                `json:"bytes_per_run"` // (after stop - empty) / runs rows
	Rows           map[string]int64 `json:"rows"`
}

// BaselineRun is the bare firer's delivery.
type BaselineRun struct {
	All               Figures   `json:"all"`
	Steady            Figures   `json:"steady"`
	First             Figures   `json:"first_runs"`
	Errors            int64     `json:"errors"`
	HarnessCPUSec     F         `json:"harness_cpu_s"` // sink + firer
	Noise             Noise     `json:"noise"`
	HarnessCPUPer1000 F         `json:"harness_cpu_s_per_1000"` // firer + sink, per request that arrived
	SinkCPUPer1000    F         `json:"sink_cpu_s_per_1000"`
	Origin            time.Time `json:"origin"`
}

// Ratios compare apicron to the baseline over the steady window.
type Ratios struct {
	FiresPerSec     F `json:"fires_per_sec"`
	LatenessP50     F `json:"lateness_sink_p50"`
	LatenessP99     F `json:"lateness_sink_p99"`
	LatenessMax     F `json:"lateness_sink_max"`
	CPUPer1000Runs  F `json:"cpu_per_1000_vs_harness"` // apicron's CPU per run / the baseline harness's per request
	LatenessP50Diff F `json:"lateness_sink_p50_diff_ms"`
	LatenessP99Diff F `json:"lateness_sink_p99_diff_ms"`
}

// OpStats is the latency of one API operation.
type OpStats struct {
	Op      string `json:"op"`
	Latency Dist   `json:"latency"`
	Errors  int    `json:"errors"`
	// Bytes is a dashboard page's size, as the last request read it.
	Bytes int    `json:"bytes,omitempty"`
	Note  string `json:"note,omitempty"`
}

// MetricsRun is the metrics scenario.
type MetricsRun struct {
	RunsLoaded     int64            `json:"runs_loaded"`
	RunsRequested  int              `json:"runs_requested"`
	Schedules      int              `json:"schedules"`
	LoadMethod     string           `json:"load_method"`
	LoadSeconds    F                `json:"load_seconds"`
	LoadRunsPerSec F                `json:"load_runs_per_sec"`
	ClaimSeconds   F                `json:"claim_seconds"`
	FinishSeconds  F                `json:"finish_seconds"`
	DBBytes        int64            `json:"db_bytes"`
	BytesPerRun    F                `json:"bytes_per_run"`
	Rows           map[string]int64 `json:"rows"`
	SpawnToListen  F                `json:"spawn_to_listening_ms"`
	PeakRSSKB      int64            `json:"peak_rss_kb"`
	Ops            []OpStats        `json:"ops"`
}

// HugeRun is the huge scenario.
type HugeRun struct {
	Create       CreateStats  `json:"create"`
	DBBytes      int64        `json:"db_bytes_after_insert"`
	First        Boot         `json:"first_start"`
	Restart      Boot         `json:"restart"`
	Steady       Figures      `json:"steady"`
	SteadyCPUSec F            `json:"steady_cpu_s"`
	Noise        Noise        `json:"noise_window"`
	CPUPer1000   F            `json:"cpu_s_per_1000_runs"`
	StopMs       F            `json:"first_stop_ms"`
	Downtime     F            `json:"downtime_ms"` // SIGTERM of the first process to listening of the second
	RestartRuns  int64        `json:"restart_runs"`
	RestartLate  Dist         `json:"restart_lateness_sink"`
	Coalesced    int64        `json:"restart_coalesced_missed"`
	Samples      []procSample `json:"samples,omitempty"`
}

// Boot is one start of apicron.
type Boot struct {
	SpawnToListeningMs F     `json:"spawn_to_listening_ms"`
	SpawnToHealthyMs   F     `json:"spawn_to_healthy_ms"`
	SpawnToFirstFireMs F     `json:"spawn_to_first_fire_ms"`
	CPUToListeningSec  F     `json:"cpu_s_to_listening"`
	RSSAfterLoadKB     int64 `json:"rss_after_load_kb"`
	PeakRSSKB          int64 `json:"peak_rss_kb"`
	WarnLines          int   `json:"warn_lines"`
	ErrorLines         int   `json:"error_lines"`
}

func newReport(o options, args []string) *Report {
	return &Report{
		Scenario:      o.scenario,
		Command:       "go run ./cmd/apicron-bench " + strings.Join(args, " "),
		Started:       time.Now().UTC(),
		Machine:       machine(),
		LoadAvgBefore: loadAvg(),
		DB:            o.db,
		N:             o.n,
		IntervalS:     o.interval.Seconds(),
		Kind:          o.kind,
		DurationS:     o.duration.Seconds(),
		DrainS:        o.drain.Seconds(),
		MaxConcurrent: o.maxConcurrent,
		Timezone:      o.timezone,
		Assertions:    o.assertions,
		Signing:       o.signing,
		Stall:         newStallRun(o),
	}
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// fmtF formats a number for a table: "-" when it is not one.
func fmtF(v F, prec int) string {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, f)
}

func fmtDist(d Dist) string {
	if d.N == 0 {
		return "- (n=0)"
	}
	return fmt.Sprintf("%s / %s / %s", fmtMs(d.P50), fmtMs(d.P99), fmtMs(d.Max))
}

// fmtMs writes milliseconds with a precision that suits their size.
func fmtMs(v F) string {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return "-"
	case math.Abs(f) < 10:
		return fmt.Sprintf("%.2f", f)
	case math.Abs(f) < 1000:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.0f", f)
	}
}

func fmtBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func fmtKB(kb int64) string { return fmtBytes(kb << 10) }

func fmtInt(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtRecorded(f Figures) string {
	if f.Recorded < 0 {
		return "n/a"
	}
	return fmtInt(f.Recorded)
}

func fmtDup(f Figures) string {
	if f.Recorded < 0 {
		return fmt.Sprintf("%d / n/a", f.DupSink)
	}
	return fmt.Sprintf("%d / %d", f.DupSink, f.DupDB)
}

func fmtWindow(w window) string {
	return fmt.Sprintf("%.1f s%s", w.seconds(), map[bool]string{true: ", k>=1", false: ""}[w.MinK > 0])
}

// renderMarkdown renders the report as markdown tables.
func renderMarkdown(r *Report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	title := fmt.Sprintf("apicron-bench: %s on %s", r.Scenario, r.DB)
	switch r.Scenario {
	case "many", "api", "huge":
		title += fmt.Sprintf(", n=%s at %gs, window %gs", fmtInt(int64(r.N)), r.IntervalS, r.DurationS)
		if r.Kind == "cron" {
			title += ", CRON schedules"
		}
		title += featureTitle(r)
	}
	p("## %s\n\n", title)
	p("`%s`\n\n", r.Command)
	m := r.Machine
	p("Machine: %d CPUs (%s), %s RAM, %s, %s/%s, kernel %s. Load average before %s, after %s. MAX_CONCURRENT_JOBS=%d. Binary: %s.\n\n",
		m.NProc, m.CPU, m.MemTotal, m.GoVersion, m.GOOS, m.GOARCH, m.Kernel, r.LoadAvgBefore, r.LoadAvgAfter, r.MaxConcurrent, r.Binary)
	if r.Error != "" {
		p("**Run failed:** %s\n\n", r.Error)
	}
	if a := r.Apicron; a != nil {
		renderDelivery(&b, r)
		renderStall(&b, r)
		renderFeatures(&b, r)
		renderProcess(&b, a)
		renderNodes(&b, a.Nodes)
		renderInternals(&b, r, a.Internals)
	}
	if len(r.API) > 0 {
		p("\nAPI latency while the schedules fire (ms):\n\n")
		renderOps(&b, r.API)
	}
	if mr := r.Metrics; mr != nil {
		renderMetrics(&b, mr)
	}
	if hr := r.Huge; hr != nil {
		renderHuge(&b, r, hr)
	}
	if len(r.Notes) > 0 {
		p("\nNotes:\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
	}
	if r.Perf != "" {
		p("\n```\n%s```\n", r.Perf)
	}
	return b.String()
}

func renderDelivery(b *strings.Builder, r *Report) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	a := r.Apicron
	bl := r.Baseline
	p("| delivery | apicron, all occurrences | apicron, steady window | baseline, steady window | apicron / baseline |\n")
	p("|---|---:|---:|---:|---:|\n")
	row := func(name string, all, steady, base, ratio string) {
		p("| %s | %s | %s | %s | %s |\n", name, all, steady, base, ratio)
	}
	bv := func(fn func(Figures) string) string {
		if bl == nil {
			return "-"
		}
		return fn(bl.Steady)
	}
	ra := func(fn func(*Ratios) F, prec int) string {
		if r.Ratios == nil {
			return "-"
		}
		return fmtF(fn(r.Ratios), prec)
	}
	row("window", fmtWindow(a.All.Window), fmtWindow(a.Steady.Window), bv(func(f Figures) string { return fmtWindow(f.Window) }), "")
	row("planned", fmtInt(a.All.Planned), fmtInt(a.Steady.Planned), bv(func(f Figures) string { return fmtInt(f.Planned) }), "")
	row("fired (distinct at sink)", fmtInt(a.All.Fired), fmtInt(a.Steady.Fired), bv(func(f Figures) string { return fmtInt(f.Fired) }), "")
	row("recorded (runs rows)", fmtRecorded(a.All), fmtRecorded(a.Steady), "n/a", "")
	row("duplicates sink / db", fmtDup(a.All), fmtDup(a.Steady), bv(fmtDup), "")
	row("missed (planned, never fired)", fmtInt(a.All.Missed), fmtInt(a.Steady.Missed), bv(func(f Figures) string { return fmtInt(f.Missed) }), "")
	row("fired but no run row", fmtInt(a.All.NotRecorded), fmtInt(a.Steady.NotRecorded), "n/a", "")
	row("coalesced (sum of runs.missed)", fmtInt(a.All.Coalesced), fmtInt(a.Steady.Coalesced), "n/a", "")
	row("fires/s (planned/s)", fmt.Sprintf("%s (%s)", fmtF(a.All.FiresPerSec, 1), fmtF(a.All.PlannedPerSec, 1)),
		fmt.Sprintf("%s (%s)", fmtF(a.Steady.FiresPerSec, 1), fmtF(a.Steady.PlannedPerSec, 1)),
		bv(func(f Figures) string {
			return fmt.Sprintf("%s (%s)", fmtF(f.FiresPerSec, 1), fmtF(f.PlannedPerSec, 1))
		}), ra(func(x *Ratios) F { return x.FiresPerSec }, 3))
	row("lateness at sink p50 / p99 / max (ms)", fmtDist(a.All.LatenessSink), fmtDist(a.Steady.LatenessSink),
		bv(func(f Figures) string { return fmtDist(f.LatenessSink) }),
		fmt.Sprintf("%s / %s / %s", ra(func(x *Ratios) F { return x.LatenessP50 }, 1), ra(func(x *Ratios) F { return x.LatenessP99 }, 1),
			ra(func(x *Ratios) F { return x.LatenessMax }, 1)))
	row("lateness at sink p90 / p99.9 (ms)", fmt.Sprintf("%s / %s", fmtMs(a.All.LatenessSink.P90), fmtMs(a.All.LatenessSink.P999)),
		fmt.Sprintf("%s / %s", fmtMs(a.Steady.LatenessSink.P90), fmtMs(a.Steady.LatenessSink.P999)),
		bv(func(f Figures) string {
			return fmt.Sprintf("%s / %s", fmtMs(f.LatenessSink.P90), fmtMs(f.LatenessSink.P999))
		}), "")
	row("lateness in runs (started_at - scheduled_at) p50 / p99 / max (ms)", fmtDist(a.All.LatenessDB), fmtDist(a.Steady.LatenessDB), "n/a", "")
	row("first runs only: lateness at sink / in runs p50 / p99 / max (ms)",
		fmtDist(a.First.LatenessSink)+"; "+fmtDist(a.First.LatenessDB), "excluded", "excluded", "")
	row("other processes on the machine (cores busy, average)", "", fmtF(a.Noise.OtherCores, 2), bv(func(Figures) string { return fmtF(bl.Noise.OtherCores, 2) }), "")
	perRequest, who := a.Process.CPUPer1000Window, "apicron process"
	if len(a.Nodes) > 1 {
		perRequest, who = a.NodesCPUPer1000, fmt.Sprintf("apicron's %d processes", len(a.Nodes))
	}
	row("CPU-ms per request: "+who+" / baseline harness (firer + sink)", "", fmtF(perRequest, 3),
		bv(func(Figures) string { return fmtF(bl.HarnessCPUPer1000, 3) }), ra(func(x *Ratios) F { return x.CPUPer1000Runs }, 1))
	var statuses []string
	for s, n := range a.All.Statuses {
		statuses = append(statuses, fmt.Sprintf("%s %s", s, fmtInt(n)))
	}
	sortStrings(statuses)
	row("run statuses", strings.Join(statuses, ", "), "", "", "")
	p("\nThe engine's own counters over the process's life (run_stats scope 0): skipped_overlap %s, missed (coalesced) %s.\n",
		fmtInt(a.Counters.SkippedOverlap), fmtInt(a.Counters.Missed))
	p("\nOccurrences scheduled at or after the window's end (fired during the %g s drain before SIGTERM, not counted above): %s at the sink, %s runs rows. Requests without X-Apicron headers: %d.\n",
		r.DrainS, fmtInt(a.AfterWindowSink), fmtInt(a.AfterWindowRuns), a.Unlabelled)
}

func renderProcess(b *strings.Builder, a *ApicronRun) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	pr := a.Process
	p("\n| apicron process | value |\n|---|---|\n")
	c := a.Create
	p("| schedules created | %s via %s, %d workers, in %s s (%s/s); create latency p50 / p99 / max %s ms; errors %d |\n",
		fmtInt(int64(c.Count)), c.Method, c.Workers, fmtF(c.Seconds, 2), fmtF(c.PerSec, 0), fmtDist(c.Latency), c.Errors)
	p("| spawn -> listening / healthy | %s ms / %s ms |\n", fmtMs(a.SpawnToListeningMs), fmtMs(a.SpawnToHealthyMs))
	first := ""
	if len(a.Nodes) > 1 {
		first = ", the first node, of its own runs"
	}
	p("| CPU per 1,000 runs, steady window%s | %s s (%s CPU-s for %s runs; %s cores busy on average) |\n", first,
		fmtF(pr.CPUPer1000Window, 3), fmtF(pr.CPUWindowSec, 2), fmtInt(pr.RunsInCPUWindow), fmtF(pr.CPUUtilWindow, 2))
	if len(a.Nodes) > 1 {
		p("| CPU per 1,000 runs, all %d nodes, steady window | %s s; with the PostgreSQL backends %s s |\n", len(a.Nodes),
			fmtF(a.NodesCPUPer1000, 3), fmtF(a.NodesCPUPer1000WithPG, 3))
	}
	if pr.PGBackendCPUSec != 0 {
		p("| PostgreSQL backends of apicron's database, steady window | %s CPU-s; apicron + backends %s s per 1,000 runs |\n",
			fmtF(pr.PGBackendCPUSec, 2), fmtF(pr.CPUPer1000WithPG, 3))
	}
	if x := pr.PGActivity; x != nil && pr.RunsInCPUWindow > 0 {
		n := float64(pr.RunsInCPUWindow)
		p("| pg_stat_database, steady window, per run | %.2f commits, %.2f rows inserted, %.2f updated, %.2f deleted, %.1f fetched, %.1f returned (rollbacks %d) |\n",
			float64(x.Commits)/n, float64(x.Inserted)/n, float64(x.Updated)/n, float64(x.Deleted)/n, float64(x.Fetched)/n,
			float64(x.Returned)/n, x.Rollbacks)
		var names []string
		for name := range pr.PGTables {
			names = append(names, name)
		}
		sortStrings(names)
		for _, name := range names {
			t := pr.PGTables[name]
			if t.SeqScan+t.IdxScan+t.Upd == 0 {
				continue
			}
			p("| pg_stat_user_tables %s, steady window | seq_scan %s (rows read %s), idx_scan %s (rows fetched %s), updates %s (HOT %s), dead rows at end %s |\n",
				name, fmtInt(t.SeqScan), fmtInt(t.SeqTupRead), fmtInt(t.IdxScan), fmtInt(t.IdxTupFet), fmtInt(t.Upd), fmtInt(t.HotUpd), fmtInt(t.DeadTup))
		}
	}
	p("| CPU per 1,000 runs, whole process life | %s s (%s CPU-s for %s runs, start-up and creation included) |\n",
		fmtF(pr.CPUPer1000Total, 3), fmtF(pr.CPUTotalSec, 2), fmtInt(pr.RunsTotal))
	p("| peak RSS (VmHWM) | %s (VmRSS at stop %s) |\n", fmtKB(pr.PeakRSSKB), fmtKB(pr.RSSAtStopKB))
	d := a.DB
	p("| database | %s after stop (%s empty; before stop %s + WAL %s); %s bytes per run; rows: %s |\n",
		fmtBytes(d.BytesAfterStop), fmtBytes(d.BytesEmpty), fmtBytes(d.BytesLive-d.WALLive), fmtBytes(d.WALLive), fmtF(d.BytesPerRun, 0), fmtRows(d.Rows))
	p("| SIGTERM -> exit | %s ms%s |\n", fmtMs(pr.StopMs), map[bool]string{true: " (" + pr.ExitErr + ")", false: ""}[pr.ExitErr != ""])
	p("| WARN / ERROR log lines | %d / %d |\n", pr.WarnLines, pr.ErrorLines)
	p("| harness CPU during the window (sink) | %s s |\n", fmtF(a.HarnessCPUSec, 2))
	p("| machine during the window | %s |\n", fmtNoise(a.Noise))
	for _, l := range pr.LogSample {
		p("\n    %s", l)
	}
	if len(pr.LogSample) > 0 {
		p("\n")
	}
}

func renderOps(b *strings.Builder, ops []OpStats) {
	fmt.Fprintf(b, "| operation | n | p50 | p90 | p99 | max | errors | note |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, o := range ops {
		note := o.Note
		if o.Bytes > 0 {
			note = strings.TrimPrefix(note+"; "+fmtBytes(int64(o.Bytes)), "; ")
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %d | %s |\n", o.Op, o.Latency.N, fmtMs(o.Latency.P50), fmtMs(o.Latency.P90),
			fmtMs(o.Latency.P99), fmtMs(o.Latency.Max), o.Errors, note)
	}
}

func renderMetrics(b *strings.Builder, m *MetricsRun) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| stored | value |\n|---|---|\n")
	p("| runs loaded | %s of %s requested, %d schedules; %s |\n", fmtInt(m.RunsLoaded), fmtInt(int64(m.RunsRequested)), m.Schedules, m.LoadMethod)
	p("| load time | %s s (%s runs/s; Claim %s s, Finish %s s) |\n", fmtF(m.LoadSeconds, 1), fmtF(m.LoadRunsPerSec, 0),
		fmtF(m.ClaimSeconds, 1), fmtF(m.FinishSeconds, 1))
	p("| database | %s (%s bytes per run); rows: %s |\n", fmtBytes(m.DBBytes), fmtF(m.BytesPerRun, 0), fmtRows(m.Rows))
	p("| apicron spawn -> listening | %s ms; peak RSS %s |\n", fmtMs(m.SpawnToListen), fmtKB(m.PeakRSSKB))
	p("\nEndpoint latency with these runs stored (ms, sequential requests, schedules paused):\n\n")
	renderOps(b, m.Ops)
}

func renderHuge(b *strings.Builder, r *Report, h *HugeRun) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| huge | value |\n|---|---|\n")
	c := h.Create
	p("| schedules inserted | %s via %s, %d workers, in %s s (%s/s); errors %d; %s |\n", fmtInt(int64(c.Count)), c.Method, c.Workers,
		fmtF(c.Seconds, 1), fmtF(c.PerSec, 0), c.Errors, c.Extra)
	p("| database after insert | %s |\n", fmtBytes(h.DBBytes))
	boot := func(name string, x Boot) {
		p("| %s: spawn -> listening / healthy / first fire | %s / %s / %s ms (CPU to listening %s s) |\n", name,
			fmtMs(x.SpawnToListeningMs), fmtMs(x.SpawnToHealthyMs), fmtMs(x.SpawnToFirstFireMs), fmtF(x.CPUToListeningSec, 2))
		p("| %s: RSS after load / peak (VmHWM) | %s / %s; WARN/ERROR lines %d/%d |\n", name, fmtKB(x.RSSAfterLoadKB), fmtKB(x.PeakRSSKB),
			x.WarnLines, x.ErrorLines)
	}
	boot("first start", h.First)
	s := h.Steady
	p("| steady window | %s: planned %s, fired %s, recorded %s, missed %s, dup sink/db %s, %s fires/s |\n", fmtWindow(s.Window),
		fmtInt(s.Planned), fmtInt(s.Fired), fmtRecorded(s), fmtInt(s.Missed), fmtDup(s), fmtF(s.FiresPerSec, 1))
	p("| steady lateness sink / runs p50 / p99 / max | %s ms; %s ms |\n", fmtDist(s.LatenessSink), fmtDist(s.LatenessDB))
	p("| steady CPU | %s s (%s s per 1,000 runs) |\n", fmtF(h.SteadyCPUSec, 2), fmtF(h.CPUPer1000, 3))
	p("| machine during the window | %s |\n", fmtNoise(h.Noise))
	p("| SIGTERM -> exit; downtime until the restart listens | %s ms; %s ms |\n", fmtMs(h.StopMs), fmtMs(h.Downtime))
	boot("restart", h.Restart)
	p("| restart: runs / coalesced occurrences / lateness at sink p50 / p99 / max | %s / %s / %s ms |\n", fmtInt(h.RestartRuns),
		fmtInt(h.Coalesced), fmtDist(h.RestartLate))
	_ = r
}

func sortStrings(s []string) { slices.Sort(s) }

func fmtNoise(n Noise) string {
	return fmt.Sprintf("%s of %d cores busy on average, of which %s by other processes (not apicron, its PostgreSQL backends or the harness); steal %s; idle %s (iowait %s)",
		fmtF(n.BusyCores, 2), runtime.NumCPU(), fmtF(n.OtherCores, 2), fmtF(n.StealCores, 2), fmtF(n.IdleCores, 2), fmtF(n.IOWait, 2))
}

func fmtRows(rows map[string]int64) string {
	var parts []string
	for t, n := range rows {
		parts = append(parts, t+" "+fmtInt(n))
	}
	sortStrings(parts)
	return strings.Join(parts, ", ")
}

// renderSVG draws per-second lateness at the sink (p50, p99, max) of
// apicron, with the baseline's p50 and p99, on a log scale.
func renderSVG(r *Report) string {
	const (
		w, h                   = 960.0, 440.0
		left, right            = 70.0, 20.0
		top, bottom            = 50.0, 70.0
		yMinMs                 = 0.1
		pw, ph                 = w - left - right, h - top - bottom
		colP50, colP99, colMax = "#1f77b4", "#d62728", "#ff9896"
		colBase                = "#555555"
	)
	maxV, nT := 10.0, 0
	for _, s := range [][]SecondPoint{r.Chart, r.BaselineChart} {
		for _, pt := range s {
			if pt.N > 0 && float64(pt.Max) > maxV {
				maxV = float64(pt.Max)
			}
			nT = max(nT, pt.T+1)
		}
	}
	yMax := math.Pow(10, math.Ceil(math.Log10(maxV)))
	lmin, lmax := math.Log10(yMinMs), math.Log10(yMax)
	x := func(t float64) float64 { return left + t/float64(max(nT, 1))*pw }
	y := func(v float64) float64 {
		v = max(v, yMinMs)
		return top + ph - (math.Log10(v)-lmin)/(lmax-lmin)*ph
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	title := fmt.Sprintf("apicron lateness at the sink per second: %s, n=%s at %gs, %s", r.Scenario, fmtInt(int64(r.N)), r.IntervalS, r.DB)
	p(`<text x="%.0f" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, xmlEscape(title))
	p(`<text x="%.0f" y="40" fill="#444">arrival minus X-Apicron-Scheduled-At, bucketed by the second of the scheduled instant; log scale; %d CPUs, %s</text>`+"\n",
		left, r.Machine.NProc, xmlEscape(r.Started.Format(time.DateTime)+" UTC"))
	// axes and grid
	for e := math.Floor(lmin); e <= lmax; e++ {
		v := math.Pow(10, e)
		yy := y(v)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, left+pw, yy)
		p(`<text x="%.1f" y="%.1f" text-anchor="end">%s ms</text>`+"\n", left-6, yy+4, strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v), "0"), "."))
	}
	step := max(1, nT/12)
	for t := 0; t <= nT; t += step {
		xx := x(float64(t))
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", xx, top, xx, top+ph)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", xx, top+ph+16, t)
	}
	p(`<text x="%.1f" y="%.1f" text-anchor="middle">seconds since the first schedule's anchor (apicron) / since the baseline's origin</text>`+"\n", left+pw/2, top+ph+34)
	p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, top, pw, ph)
	if r.ChartSteadyAt > 0 {
		xx := x(r.ChartSteadyAt)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#2ca02c" stroke-dasharray="4 3"/>`+"\n", xx, top, xx, top+ph)
		p(`<text x="%.1f" y="%.1f" fill="#2ca02c">steady window</text>`+"\n", xx+4, top+12)
	}
	if st := r.Stall; st != nil && !st.Start.IsZero() {
		x0, x1 := x(r.ChartSteadyAt+float64(st.StartS)), x(r.ChartSteadyAt+float64(st.EndS))
		p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#ff7f0e" fill-opacity="0.18"/>`+"\n", x0, top, max(x1-x0, 1), ph)
		p(`<text x="%.1f" y="%.1f" fill="#c05000">stall (%s)</text>`+"\n", x0+4, top+26, xmlEscape(st.Kind))
		if st.Recovered {
			xx := x(r.ChartSteadyAt + float64(st.RecoveredAtS))
			p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c05000" stroke-dasharray="4 3"/>`+"\n", xx, top, xx, top+ph)
			p(`<text x="%.1f" y="%.1f" fill="#c05000">recovered</text>`+"\n", xx+4, top+40)
		}
	}
	line := func(pts []SecondPoint, val func(SecondPoint) F, color, dash string, width float64) {
		var seg []string
		flush := func() {
			if len(seg) > 1 {
				p(`<polyline fill="none" stroke="%s" stroke-width="%.1f" %s points="%s"/>`+"\n", color, width, dash, strings.Join(seg, " "))
			} else if len(seg) == 1 {
				xy := strings.Split(seg[0], ",")
				p(`<circle cx="%s" cy="%s" r="1.5" fill="%s"/>`+"\n", xy[0], xy[1], color)
			}
			seg = seg[:0]
		}
		for _, pt := range pts {
			if pt.N == 0 || math.IsNaN(float64(val(pt))) {
				flush()
				continue
			}
			seg = append(seg, fmt.Sprintf("%.1f,%.1f", x(float64(pt.T)+0.5), y(float64(val(pt)))))
		}
		flush()
	}
	line(r.Chart, func(s SecondPoint) F { return s.Max }, colMax, "", 1.2)
	line(r.Chart, func(s SecondPoint) F { return s.P99 }, colP99, "", 1.8)
	line(r.Chart, func(s SecondPoint) F { return s.P50 }, colP50, "", 1.8)
	line(r.BaselineChart, func(s SecondPoint) F { return s.P99 }, colBase, `stroke-dasharray="6 3"`, 1.4)
	line(r.BaselineChart, func(s SecondPoint) F { return s.P50 }, colBase, `stroke-dasharray="2 3"`, 1.4)
	// legend
	lx, ly := left, h-16
	for _, l := range []struct{ name, color, dash string }{
		{"apicron max", colMax, ""}, {"apicron p99", colP99, ""}, {"apicron p50", colP50, ""},
		{"baseline p99", colBase, `stroke-dasharray="6 3"`}, {"baseline p50", colBase, `stroke-dasharray="2 3"`},
	} {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" %s/>`+"\n", lx, ly-4, lx+24, ly-4, l.color, l.dash)
		p(`<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+28, ly, l.name)
		lx += 150
	}
	p("</svg>\n")
	return b.String()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
