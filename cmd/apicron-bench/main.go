// Command apicron-bench is apicron's load harness. It builds (or takes) the
// apicron binary, starts a loopback sink that records every request it
// receives, runs apicron as a subprocess on a fresh database, creates
// schedules, lets them fire, stops apicron with SIGTERM, reads the runs back,
// and reports delivery (planned, fired, recorded, duplicated, missed),
// lateness, CPU, memory and database size, beside a bare Go timer firer that
// fires the same grids at the same sink without a database.
//
// Scenarios (--scenario):
//
//	many     N schedules at 1 s (--n 10000, --duration 60s)
//	api      API latency (create, get, 100-item lists) while "many" runs at --n 5000
//	metrics  /metrics and /metrics/schedules latency with --runs runs stored,
//	         loaded through the store's own Claim and Finish
//	huge     1,000,000 schedules at 1 h: memory, load time, first fire after a restart
//
// many also takes --stall (apicron stopped, or the database's write lock
// held, for a while: how long it takes to fire on time again) and
// --timezone, --assertions and --signing (what those features cost).
//
// Every load loop is bounded in time; all traffic goes to 127.0.0.1; the
// only processes it stops are the ones it started, by PID.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	scenario      string
	db            string
	n             int
	interval      time.Duration
	kind          string
	duration      time.Duration
	drain         time.Duration
	out           string
	svg           string
	apicronBin    string
	postgresURL   string
	maxConcurrent int
	createWorkers int
	baseline      bool
	perf          bool
	nodes         int // many and api on PostgreSQL: apicron processes sharing the database
	runs          int
	schedules     int
	requests      int
	apiPause      time.Duration
	restartFor    time.Duration
	loadFor       time.Duration
	logLevel      string
	retention     string // apicron's RUN_RETENTION: a soak's database stays bounded
	keep          bool
	timeout       time.Duration
	// many only: a fault during the steady window (stall.go) and the
	// features whose cost a run measures beside the plain one.
	stall      string
	stallAt    time.Duration
	stallFor   time.Duration
	timezone   string
	assertions bool
	signing    bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "apicron-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("apicron-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenario, "scenario", "many", "many, api, metrics or huge")
	fs.StringVar(&o.db, "db", "sqlite", "sqlite or postgres")
	fs.IntVar(&o.n, "n", 0, "schedules (default: many 10000, api 5000, huge 1000000; metrics: see --schedules)")
	fs.DurationVar(&o.interval, "interval", 0, "schedule interval (default: 1s; huge 1h); whole seconds")
	fs.StringVar(&o.kind, "kind", "interval", "many and huge: the schedules' kind, interval (INTERVAL) or cron (many: CRON \"*/N * * * * *\" with the same period, which must divide a minute; huge: \"S M * * * *\", hourly, spread over the hour's 3,600 seconds)")
	fs.DurationVar(&o.duration, "duration", 0, "firing window after the schedules exist (default: 60s; huge 60s)")
	fs.DurationVar(&o.drain, "drain", 2*time.Second, "wait after the window before SIGTERM, so occurrences due at its end can arrive")
	fs.StringVar(&o.out, "out", "", "JSON report path (default bench-out/<scenario>-<db>-n<N>-<time>.json)")
	fs.StringVar(&o.svg, "svg", "", "lateness chart path (default: the JSON path with .svg)")
	fs.StringVar(&o.apicronBin, "apicron-bin", "", "use this apicron binary instead of building ./cmd/apicron")
	fs.StringVar(&o.postgresURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL server to create the fresh database on (--db postgres); it is dropped afterwards")
	fs.IntVar(&o.maxConcurrent, "max-concurrent", 100, "apicron's MAX_CONCURRENT_JOBS, and the baseline's bound on requests in flight")
	fs.StringVar(&o.retention, "retention", "", "apicron's RUN_RETENTION (a soak: --n 2000 --duration 1h --retention 10m keeps the database bounded); empty: apicron's default")
	fs.IntVar(&o.createWorkers, "create-workers", 32, "concurrent POST /schedules (huge: concurrent store.CreateSchedule calls)")
	fs.BoolVar(&o.baseline, "baseline", true, "also run the bare timer firer (many, api)")
	fs.IntVar(&o.nodes, "nodes", 1, "many and api on PostgreSQL: this many apicron processes share the database (NODE_ID bench, bench-2, ...); the report gives each one's share of the runs and its CPU")
	fs.BoolVar(&o.perf, "perf", false, "record apicron with perf (perf record -g) during the window and summarise the top symbols")
	fs.IntVar(&o.runs, "runs", 10_000_000, "metrics: runs to store before measuring")
	fs.IntVar(&o.schedules, "schedules", 1000, "metrics: schedules the runs belong to")
	fs.IntVar(&o.requests, "requests", 200, "metrics: requests per endpoint")
	fs.DurationVar(&o.loadFor, "load-for", 90*time.Minute, "metrics: stop loading runs after this long and measure what is stored")
	fs.DurationVar(&o.apiPause, "api-pause", 100*time.Millisecond, "api: pause between two requests of one probe")
	fs.DurationVar(&o.restartFor, "restart-for", 15*time.Second, "huge: how long the restarted process runs")
	fs.StringVar(&o.logLevel, "log-level", "INFO", "apicron's LOG_LEVEL")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (database, logs)")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Hour, "bound on the whole run")
	fs.StringVar(&o.stall, "stall", "none", "many: stall apicron during the steady window: none, sigstop (SIGSTOP, then SIGCONT) or dblock (another connection holds the database's write lock)")
	fs.DurationVar(&o.stallAt, "stall-at", 0, "many: when the stall begins, as an offset into the steady window (default: half of --duration)")
	fs.DurationVar(&o.stallFor, "stall-for", 2*time.Second, "many: how long the stall lasts")
	fs.StringVar(&o.timezone, "timezone", "", "many --kind cron: the schedules' IANA timezone (e.g. Europe/Paris)")
	fs.BoolVar(&o.assertions, "assertions", false, "many: the target checks the answer's status (2xx) and body (contains \"ok\")")
	fs.BoolVar(&o.signing, "signing", false, "many: the target signs every request (Standard Webhooks, a generated secret)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	defaults := map[string]struct {
		n        int
		interval time.Duration
		duration time.Duration
	}{
		"many":    {10000, time.Second, 60 * time.Second},
		"api":     {5000, time.Second, 60 * time.Second},
		"metrics": {0, time.Second, 0},
		"huge":    {1_000_000, time.Hour, 60 * time.Second},
	}
	d, ok := defaults[o.scenario]
	if !ok {
		return o, fmt.Errorf("--scenario must be many, api, metrics or huge, got %q", o.scenario)
	}
	if o.n == 0 {
		o.n = d.n
	}
	if o.interval == 0 {
		o.interval = d.interval
	}
	if o.duration == 0 {
		o.duration = d.duration
	}
	if !set["stall-at"] {
		o.stallAt = o.duration / 2
	}
	switch {
	case o.db != "sqlite" && o.db != "postgres":
		return o, fmt.Errorf("--db must be sqlite or postgres, got %q", o.db)
	case o.interval < time.Second || o.interval%time.Second != 0:
		return o, fmt.Errorf("--interval must be whole seconds, at least 1s")
	case o.kind != "interval" && o.kind != "cron":
		return o, fmt.Errorf("--kind must be interval or cron")
	case o.kind == "cron" && o.scenario == "huge" && o.interval != time.Hour:
		return o, fmt.Errorf("--kind cron with --scenario huge takes the default --interval, 1h")
	case o.kind == "cron" && ((o.scenario != "many" && o.scenario != "huge") || (o.scenario == "many" && (60*time.Second)%o.interval != 0)):
		return o, fmt.Errorf("--kind cron is for --scenario many, with an --interval dividing a minute, or huge")
	case o.scenario != "metrics" && o.n < 1:
		return o, fmt.Errorf("--n must be positive")
	case o.nodes < 1 || o.nodes > 8:
		return o, fmt.Errorf("--nodes must be 1 to 8")
	case o.nodes > 1 && (o.db != "postgres" || (o.scenario != "many" && o.scenario != "api")):
		return o, fmt.Errorf("--nodes is for --scenario many or api with --db postgres (nodes share one PostgreSQL database)")
	case o.nodes > 1 && o.stall != stallNone:
		return o, fmt.Errorf("--nodes and --stall: the stall stops one process; not supported together")
	case o.maxConcurrent < 1 || o.createWorkers < 1:
		return o, fmt.Errorf("--max-concurrent and --create-workers must be positive")
	case o.scenario == "metrics" && (o.runs < 1 || o.schedules < 1 || o.requests < 1):
		return o, fmt.Errorf("--runs, --schedules and --requests must be positive")
	}
	if err := checkManyOnly(o, set); err != nil {
		return o, err
	}
	if o.out == "" {
		name := fmt.Sprintf("%s-%s-n%d-%s.json", o.scenario, o.db, o.n, time.Now().Format("20060102-150405"))
		if o.scenario == "metrics" {
			name = fmt.Sprintf("metrics-%s-runs%d-%s.json", o.db, o.runs, time.Now().Format("20060102-150405"))
		}
		o.out = filepath.Join("bench-out", name)
	}
	if o.db == "postgres" {
		// All traffic stays on this machine.
		u, err := url.Parse(o.postgresURL)
		if err != nil {
			return o, fmt.Errorf("--postgres-url: %w", err)
		}
		switch h := u.Hostname(); h {
		case "127.0.0.1", "localhost", "::1":
		default:
			return o, fmt.Errorf("--postgres-url must name a loopback host (127.0.0.1, localhost or ::1), got %q", h)
		}
	}
	if o.apicronBin != "" {
		// apicron runs in a temporary directory: make the path absolute.
		abs, err := filepath.Abs(o.apicronBin)
		if err != nil {
			return o, err
		}
		o.apicronBin = abs
	}
	if o.svg == "" {
		o.svg = strings.TrimSuffix(o.out, filepath.Ext(o.out)) + ".svg"
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep := newReport(o, args)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "apicron-bench-*")
	if err != nil {
		return err
	}
	if o.keep {
		logf(stderr, "keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	h := &harness{o: o, rep: rep, tmp: tmp, log: stderr}
	if o.apicronBin == "" {
		logf(stderr, "building apicron (CGO_ENABLED=0)")
		if h.bin, err = buildApicron(ctx, tmp); err != nil {
			return err
		}
		rep.Binary = "built from ./cmd/apicron with CGO_ENABLED=0"
	} else {
		h.bin = o.apicronBin
		rep.Binary = o.apicronBin
	}
	switch o.scenario {
	case "many", "api":
		err = h.many(ctx)
	case "metrics":
		err = h.metrics(ctx)
	case "huge":
		err = h.huge(ctx)
	}
	rep.LoadAvgAfter = loadAvg()
	rep.Finished = time.Now().UTC()
	if err != nil {
		rep.Error = err.Error()
	}
	if werr := h.write(stdout); werr != nil && err == nil {
		err = werr
	}
	return err
}

// harness holds one run's state.
type harness struct {
	o   options
	rep *Report
	tmp string
	bin string
	log io.Writer
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s apicron-bench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func (h *harness) logf(format string, args ...any) { logf(h.log, format, args...) }

// write prints the markdown report and writes the JSON and the chart.
func (h *harness) write(stdout io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(h.o.out), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(h.rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(h.o.out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	wroteSVG := false
	if len(h.rep.Chart) > 0 {
		if err := os.WriteFile(h.o.svg, []byte(renderSVG(h.rep)), 0o644); err != nil {
			return err
		}
		wroteSVG = true
	}
	_, _ = io.WriteString(stdout, renderMarkdown(h.rep))
	fmt.Fprintf(stdout, "\nJSON: %s\n", h.o.out)
	if wroteSVG {
		fmt.Fprintf(stdout, "Chart: %s\n", h.o.svg)
	}
	return nil
}

// machine describes where the run happened.
func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				_, _ = fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
				m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
