// Command apicron is cron for API calls: it stores HTTP targets and
// schedules, fires each request on time, records every run, and serves the
// REST API, all in one process.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // SCHEDULER_TIMEZONE works on machines without a zoneinfo database

	"github.com/KimMachineGun/automemlimit/memlimit"
	"golang.org/x/sync/errgroup"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/config"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/notify"
	"github.com/apicron/apicron/internal/promexp"
	"github.com/apicron/apicron/internal/scheduler"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/tracing"
	"github.com/apicron/apicron/internal/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	wd, _ := os.Getwd()
	err := run(ctx, os.Args[1:], os.Getenv, wd, os.Stdout, os.Stderr)
	stop()
	code := exitCode(err)
	if code != exitOK {
		fmt.Fprintln(os.Stderr, "apicron:", err)
	}
	os.Exit(code)
}

// runSettings runs the commands that read the server's settings (serve,
// the default, version, openapi and help): config.Load parses args, flags
// and command alike, as it always has.
func runSettings(ctx context.Context, args []string, c *cli) error {
	getenv, dir, stdout, stderr := c.getenv, c.dir, c.stdout, c.stderr
	// echo is a tool of its own, with its own flags: it reads none of the
	// settings, so a .env meant for the server does not move it.
	if name, rest := config.Command(args); name == "echo" {
		return runEcho(ctx, rest, stdout)
	}
	args, ops, err := cutOpsFlags(args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(args, getenv, dir)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return err
	} else if err != nil {
		return err
	}
	version := apicron.Version
	if cfg.AppVersion != "" {
		version = cfg.AppVersion
	}
	cmd := "serve"
	if len(cfg.Args) > 0 {
		cmd = cfg.Args[0]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "apicron", version)
		return nil
	case "serve":
		logger := newLogger(cfg, stderr)
		// The process's environment, which the runtime read GOGC and
		// GOMEMLIMIT from, whatever getenv says of the settings.
		gc := tuneGC(os.Getenv, memlimit.FromCgroup, logger.With("component", "runtime"))
		logger.Info("garbage collector", gc.attrs()...)
		return serve(ctx, cfg, version, logger)
	case "openapi":
		// The document the server would serve, with no database and no listener.
		doc, err := httpapi.OpenAPIJSON(cfg.AppTitle, version, len(cfg.APITokens)+len(cfg.APIReadTokens) > 0)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", doc)
		return err
	case "backup", "migrate", "config":
		return runOps(ctx, cfg, ops, stdout)
	default:
		return usageErrorf("unknown command %q: the commands are %s (see apicron help)", cmd, commandNames)
	}
}

// commandNames lists the commands, for the error on an unknown one.
const commandNames = "serve, version, help, echo, openapi, backup, migrate, config, targets, schedules, runs, notifiers, status, apply, export and completion"

// usage writes apicron --help: what apicron is, its commands, its settings.
func usage(w io.Writer) {
	fmt.Fprint(w, `apicron: cron for API calls. It stores HTTP targets and schedules, sends each
request on time, records every run, and serves a REST API, documented at
/docs on the address it listens on.

Usage:
  apicron [command] [flags]

Commands:
  serve     run the API and the scheduler (the default command)
  version   print the version (also --version or -v)
  help      print this help (also --help or -h)
  echo      run a target to try schedules on, on 127.0.0.1:9000: it answers
            /get, /status/{code} and /delay/{ms} and prints each request
            (apicron echo --help)
  openapi   print the REST API's OpenAPI document
  backup --to FILE
            copy the SQLite database to the new file FILE while apicron
            runs (PostgreSQL: use pg_dump)
  migrate [status|up] [--dry-run]
            list the database's applied and pending migrations; up
            applies the pending ones
  config check [--ping]
            validate the settings as serve would and print them, secrets
            masked, with where each came from; --ping reads the database

Commands that call a running server (--server or APICRON_URL, default
http://localhost:8000; --token or APICRON_TOKEN; -o table, json or yaml):
  targets     list, get, create, update and delete targets
  schedules   list, get, create, update and delete schedules; pause,
              resume, trigger and preview them
  runs        list and get runs; tail follows new runs
  notifiers   list, get, create, update and delete notifiers
  status      the server's health and counts
  apply       make the server's targets, schedules and notifiers those of
              files (apicron apply -f apicron.yaml [--dry-run] [--prune])
  export      write the server's targets, schedules and notifiers as a file
              apply takes
  completion  print a shell completion script (bash, zsh, fish, powershell)
Each has its own --help (apicron targets --help). Exit codes: 0 done,
1 error, 2 usage error, 3 not found, 4 refused as invalid or in conflict.

`)
	config.Usage(w)
}

// webSettings is the settings page's list: config's, secrets masked.
func webSettings(cfg config.Config) []web.Setting {
	var out []web.Setting
	for _, s := range cfg.Settings() {
		out = append(out, web.Setting{Name: s.Name, Value: s.Value, Source: s.Source})
	}
	return out
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the API and the engine until ctx ends, then shuts down in
// order: stop claiming, let requests in flight finish within the grace
// period, mark the rest INTERRUPTED, close the HTTP server, close the database.
func serve(ctx context.Context, cfg config.Config, version string, logger *slog.Logger) error {
	logger.Debug("settings", "config", cfg)
	if len(cfg.SecretKey) == 0 {
		logger.Warn("SECRET_KEY is not set: the values of secret headers are stored in the database in clear text; " +
			"to encrypt them, set SECRET_KEY (or --secret-key) to a key made with: openssl rand -base64 32")
	}
	if err := cfg.CheckExposure(); err != nil {
		return err
	}
	if cfg.InsecureNoAuth && len(cfg.APITokens)+len(cfg.APIReadTokens) == 0 && !config.IsLoopback(cfg.Host) {
		logger.Warn("INSECURE_NO_AUTH is set: the API has no access token and anyone who can reach " + cfg.Addr() +
			" can read and change every target; this is only safe behind a proxy that authenticates every request")
	}
	budget, err := budgetConns(cfg, openFileLimit())
	if err != nil {
		return err
	}
	logger.Debug("connections", "open_file_limit", budget.fileLimit, "reserved_files", budget.reserve,
		"max_api_connections", budget.maxConns)
	policy, err := executor.NewPolicy(cfg.OutboundAllow, cfg.OutboundDeny, cfg.OutboundDenyPrivate)
	if err != nil {
		return fmt.Errorf("outbound policy (OUTBOUND_ALLOW_CIDRS, OUTBOUND_DENY_CIDRS): %w", err)
	}
	db, err := store.Open(ctx, store.Config{
		Driver: cfg.Database.Driver, DSN: cfg.Database.DSN, Logger: logger.With("component", "store"), NodeID: cfg.NodeID,
		SecretKey: cfg.SecretKey, NoMigrate: !cfg.AutoMigrate, SQLiteCacheMiB: cfg.SQLiteCacheMiB,
		// A node frozen mid-transaction must not hold the lease's and the
		// schedules' locks for longer than the lease itself.
		IdleInTransaction: cfg.LeaseTTL,
		// Any PostgreSQL database may gain a second node at any time.
		Shared: cfg.Database.Driver == config.DriverPostgres,
	})
	if err != nil {
		return fmt.Errorf("open database (DATABASE_URL): %w", err)
	}
	defer db.Close()
	if p := db.SecretKeyProblem(ctx); p != "" {
		logger.Error(p)
	}

	traceSeed, err := db.TraceSeed(ctx)
	if err != nil {
		// As for the session secret: this process derives trace ids of its
		// own, so a run's trace id differs between its nodes.
		logger.Warn("trace seed not stored; using one of this process", "err", err)
	}
	spans, err := startTracing(ctx, cfg, version, logger)
	if err != nil {
		return err
	}
	if spans != nil {
		// After the engine has drained: the last attempts' spans are flushed.
		defer func() {
			if err := spans.Shutdown(context.Background()); err != nil {
				logger.Warn("flush spans", "err", err)
			}
		}()
	}
	exec := executor.New(executor.Config{
		DefaultTimeout: cfg.DefaultTimeout, MaxRetries: cfg.MaxRetries, Policy: policy,
		Logger: logger.With("component", "executor"), UserAgent: "apicron/" + version,
		// One idle connection per call in flight: what the descriptor
		// reserve counts (see budgetConns).
		MaxIdleConns: cfg.MaxConcurrentJobs,
		TraceSeed:    traceSeed, Tracer: spans.Tracer(),
	})
	sender := &notify.Sender{Client: &http.Client{Transport: executor.NewTransport(policy)}, Control: policy.Control}
	// The engine reports to metrics, which read the engine back at each
	// scrape: the engine is made second, so those reads go through engine.
	var engine *scheduler.Scheduler
	metrics, err := promexp.New(promexp.Config{
		Store: db, NodesFunc: func(ctx context.Context) (int, error) { return db.LiveNodes(ctx, cfg.LeaseTTL) },
		EngineFunc:     func(ctx context.Context) (apicron.EngineHealth, error) { return engine.Health(ctx) },
		RequestsFunc:   func() int64 { return engine.RequestsInFlight() },
		ScheduleLabels: cfg.MetricsScheduleLabels, Version: version, Logger: logger.With("component", "metrics"),
		WriterFunc: db.WriterStats,
	})
	if err != nil {
		return err
	}
	engineCfg := scheduler.Config{
		Store: db, Executor: exec, Logger: logger.With("component", "scheduler"), MaxConcurrent: cfg.MaxConcurrentJobs,
		HostMaxConcurrent: cfg.HostMaxConcurrency,
		ShutdownGrace:     cfg.ShutdownGrace, ClaimLead: claimLead, LeaseTTL: cfg.LeaseTTL,
		Pruner: db, Retention: cfg.RunRetention, DefaultKeepRuns: cfg.RunKeepPerSchedule,
		Outbox: db, Sender: sender, Metrics: metrics,
	}
	engine = scheduler.New(engineCfg)
	health := healthWithSecrets(engine.Health, db.SecretKeyProblem)
	sessionSecret, err := db.SessionSecret(ctx)
	if err != nil {
		// A database that takes no writes now must not keep the service
		// down: this process signs with a secret of its own, so its
		// dashboard sessions end when it stops and other nodes refuse them.
		logger.Warn("dashboard session secret not stored; using one of this process", "err", err)
		sessionSecret = make([]byte, 32)
		_, _ = rand.Read(sessionSecret) // never fails (crypto/rand)
	}
	dashboard, err := web.New(web.Config{
		Store: db, Dispatcher: engine, Notifier: engine, HealthFunc: health, Tokens: cfg.APITokens,
		ReadTokens: cfg.APIReadTokens, Logger: logger.With("component", "web"), Title: cfg.AppTitle, NodeID: cfg.NodeID,
		Executor: exec, URLCheckFunc: policy.CheckURL, AssertionCheckFunc: executor.CheckAssertions, Sender: sender,
		DefaultTimezone: cfg.TimezoneName, Settings: webSettings(cfg), SessionSecret: sessionSecret, SessionEnds: db,
	})
	if err != nil {
		return err
	}
	api, err := httpapi.New(httpapi.Config{
		Store: db, Notifier: engine, Logger: logger.With("component", "httpapi"), Title: cfg.AppTitle,
		Version: version, NodeID: cfg.NodeID, HealthFunc: health,
		Tokens: cfg.APITokens, ReadTokens: cfg.APIReadTokens, URLCheckFunc: policy.CheckURL,
		AllowedHosts: cfg.APIHosts(), DefaultTimezone: cfg.TimezoneName, Dispatcher: engine, Executor: exec,
		AssertionCheckFunc: executor.CheckAssertions, Sender: sender,
		UI: dashboard, SessionFunc: dashboard.SessionAccess, AccessLog: cfg.AccessLog, MetricsHandler: metrics.Handler(),
	})
	if err != nil {
		return err
	}

	// Recover before the API answers: runs the last process left RUNNING
	// are INTERRUPTED by the time anyone can look.
	if err := engine.Load(ctx); err != nil {
		return fmt.Errorf("load schedules: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s (HOST, PORT): %w", cfg.Addr(), err)
	}
	limited := newLimitListener(ln, budget.maxConns)
	srv := &http.Server{
		Handler:           closeRefused(api),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       apiIdleTimeout,
		ConnState:         limited.ConnState,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// One short line says what a reader needs to start: where the API and
	// its documentation are, on which database, and what is not default
	// (the values are in the Debug line above).
	addr := "http://" + ln.Addr().String()
	logger.Info("listening", "addr", addr, "docs", addr+"/docs", "version", version,
		"database", cfg.Database.Driver, "database_location", cfg.Database.Location(), "node_id", cfg.NodeID,
		"non_default_settings", strings.Join(cfg.NonDefault(), ","))

	g, gctx := errgroup.WithContext(ctx)
	engineDone := make(chan struct{})
	g.Go(func() error {
		defer close(engineDone)
		return engine.Run(gctx)
	})
	g.Go(func() error {
		if err := srv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	var stopping time.Time
	g.Go(func() error {
		<-gctx.Done()
		stopping = time.Now()
		why := context.Cause(ctx) // the signal, from main's NotifyContext
		if why == nil {
			why = context.Cause(gctx) // a part that failed
		}
		logger.Info("stopping: "+why.Error(), "shutdown_grace", config.FormatDuration(cfg.ShutdownGrace))
		<-engineDone // the API keeps answering while runs drain
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	err = g.Wait()
	logger.Info("stopped", "took", config.FormatDuration(time.Since(stopping).Round(time.Millisecond)))
	return err
}

// startTracing starts the span exporter when an OTLP endpoint is set; nil
// when none is, and then no span is made at all.
func startTracing(ctx context.Context, cfg config.Config, version string, logger *slog.Logger) (*tracing.Provider, error) {
	if !cfg.Tracing() {
		return nil, nil
	}
	p, err := tracing.New(ctx, tracing.Config{
		URL: cfg.TracesURL(), Headers: cfg.OTLPHeaders, ServiceName: cfg.ServiceName, ServiceVersion: version,
		InstanceID: cfg.NodeID, Sampler: cfg.TracesSampler, SamplerArg: cfg.TracesSamplerArg,
		IDGenerator: executor.IDGenerator{}, Logger: logger.With("component", "tracing"),
	})
	if err != nil {
		return nil, fmt.Errorf("tracing (OTEL_EXPORTER_OTLP_ENDPOINT): %w", err)
	}
	logger.Info("exporting spans", "url", config.RedactURL(cfg.TracesURL()), "sampler", cfg.TracesSampler)
	return p, nil
}

// claimLead is how far ahead the engine claims occurrences, so that the
// claim's database write is done by the time the request is due.
const claimLead = 50 * time.Millisecond

// healthWithSecrets adds to the engine's health the store's finding about
// SECRET_KEY: a key that does not open the stored secrets fails every run
// of their targets, so /health answers 503 saying so until it is fixed.
func healthWithSecrets(engine func(context.Context) (apicron.EngineHealth, error), secretProblem func(context.Context) string) func(context.Context) (apicron.EngineHealth, error) {
	return func(ctx context.Context) (apicron.EngineHealth, error) {
		h, err := engine(ctx)
		if err != nil {
			return h, err
		}
		if p := secretProblem(ctx); p != "" {
			return h, apicron.Errorf(apicron.EUNAVAILABLE, "%s", p)
		}
		return h, nil
	}
}
