package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/config"
	"github.com/apicron/apicron/internal/executor"
	"github.com/apicron/apicron/internal/store"
)

// The operator commands: backup, migrate and config check. Each is a plain
// function of the loaded settings; opsFlags and runOps read their own
// flags and arguments from the command line.

// opsFlags are the flags of the operator commands, which are not settings.
type opsFlags struct {
	to     string // backup --to FILE
	dryRun bool   // migrate --dry-run
	ping   bool   // config check --ping
}

// opsFlagOwner names the command each operator flag belongs to.
var opsFlagOwner = map[string]string{"to": "backup", "dry-run": "migrate", "ping": "config"}

// cutOpsFlags takes the operator commands' flags out of args, so that
// config.Load reads the settings alone, and refuses one given to another
// command. "--" ends the flags, as for config.Load.
func cutOpsFlags(args []string) ([]string, opsFlags, error) {
	var (
		f    opsFlags
		rest []string
		seen []string
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") || opsFlagOwner[name] == "" {
			rest = append(rest, a)
			continue
		}
		seen = append(seen, name)
		switch name {
		case "to":
			if !hasValue {
				if i+1 >= len(args) {
					return nil, f, usageErrorf("--to needs a file name: apicron backup --to FILE")
				}
				i++
				value = args[i]
			}
			f.to = value
		case "dry-run", "ping":
			b := true
			if hasValue {
				switch strings.ToLower(value) {
				case "true", "1":
				case "false", "0":
					b = false
				default:
					return nil, f, usageErrorf("--%s takes true or false, not %q", name, value)
				}
			}
			if name == "ping" {
				f.ping = b
			} else {
				f.dryRun = b
			}
		}
	}
	cmd, _ := config.Command(rest)
	for _, name := range seen {
		if owner := opsFlagOwner[name]; cmd != owner {
			return nil, f, usageErrorf("--%s is a flag of apicron %s, not of %s (see apicron help)", name, owner, orServe(cmd))
		}
	}
	return rest, f, nil
}

func orServe(cmd string) string {
	if cmd == "" {
		return "serve"
	}
	return cmd
}

// runOps runs the operator command cfg.Args names with its flags.
func runOps(ctx context.Context, cfg config.Config, f opsFlags, stdout io.Writer) error {
	cmd, sub := cfg.Args[0], cfg.Args[1:]
	switch cmd {
	case "backup":
		if len(sub) > 0 {
			return usageErrorf("apicron backup takes no arguments but --to FILE, got %q", sub[0])
		}
		return runBackup(ctx, cfg, f.to, stdout)
	case "migrate":
		apply := false
		switch {
		case len(sub) == 0 || (len(sub) == 1 && sub[0] == "status"):
		case len(sub) == 1 && sub[0] == "up":
			apply = !f.dryRun
		default:
			return usageErrorf("apicron migrate takes status (the default), up or --dry-run, got %q", strings.Join(sub, " "))
		}
		return runMigrate(ctx, cfg, apply, stdout)
	case "config":
		if len(sub) != 1 || sub[0] != "check" {
			return usageErrorf("apicron config has one subcommand: apicron config check [--ping]")
		}
		return runConfigCheck(ctx, cfg, f.ping, stdout)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// plain returns err with an apicron error's message alone, for a person.
func plain(err error) error {
	var ae *apicron.Error
	if errors.As(err, &ae) {
		return errors.New(ae.Message)
	}
	return err
}

// runBackup writes a consistent copy of the SQLite database to the new
// file to, while apicron may be serving from it (see store.Backup). For
// PostgreSQL it fails and says to use pg_dump.
func runBackup(ctx context.Context, cfg config.Config, to string, stdout io.Writer) error {
	if to == "" {
		return usageErrorf("apicron backup needs the file to write: apicron backup --to FILE")
	}
	start := time.Now()
	if err := store.Backup(ctx, store.Config{Driver: cfg.Database.Driver, DSN: cfg.Database.DSN}, to); err != nil {
		if apicron.ErrorCode(err) == apicron.ECONFLICT {
			return refusedf("backup: %w", plain(err)) // exit status 4, as a conflict
		}
		return fmt.Errorf("backup: %w", plain(err))
	}
	size := int64(-1)
	if fi, err := os.Stat(to); err == nil {
		size = fi.Size()
	}
	_, err := fmt.Fprintf(stdout, "backed up %s to %s (%d bytes) in %s\n", cfg.Database.Location(), to, size,
		config.FormatDuration(time.Since(start).Round(time.Millisecond)))
	return err
}

// runMigrate prints the database's migrations, applied and pending, and
// with apply applies the pending ones first.
func runMigrate(ctx context.Context, cfg config.Config, apply bool, stdout io.Writer) error {
	scfg := store.Config{Driver: cfg.Database.Driver, DSN: cfg.Database.DSN, NodeID: cfg.NodeID, SecretKey: cfg.SecretKey,
		Shared: cfg.Database.Driver == config.DriverPostgres}
	list, err := store.Migrations(ctx, scfg)
	if err != nil {
		return fmt.Errorf("read migrations (DATABASE_URL): %w", err)
	}
	pending := store.Pending(list)
	var applied []store.Migration
	if apply && len(pending) > 0 {
		db, err := store.Open(ctx, scfg)
		if err != nil {
			return fmt.Errorf("apply migrations (DATABASE_URL): %w", err)
		}
		if err := db.Close(); err != nil {
			return err
		}
		applied = pending
		if list, err = store.Migrations(ctx, scfg); err != nil {
			return fmt.Errorf("read migrations (DATABASE_URL): %w", err)
		}
		pending = store.Pending(list)
	}
	fmt.Fprintf(stdout, "database: %s %s\n", cfg.Database.Driver, cfg.Database.Location())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	unknown := 0
	for _, m := range list {
		name, state := m.Name, "pending"
		if name == "" {
			name = fmt.Sprintf("%04d (not known to this apicron)", m.Version)
			unknown++
		}
		if m.AppliedAt != nil {
			state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %s\n", m.Name)
	}
	fmt.Fprintf(stdout, "%d migrations: %d applied, %d pending", len(list), len(list)-len(pending), len(pending))
	switch {
	case len(pending) > 0:
		fmt.Fprint(stdout, "; apply them with: apicron migrate up")
	case unknown > 0:
		fmt.Fprintf(stdout, "; %d applied by a newer apicron", unknown)
	}
	_, err = fmt.Fprintln(stdout)
	return err
}

// runConfigCheck validates the settings as serve does at start (they are
// loaded already: a bad value fails config.Load), without listening or,
// unless ping, connecting to the database, and prints the effective
// settings, secrets masked, with where each came from. With ping it reads
// the database's migrations too. A problem is an error naming the
// setting.
func runConfigCheck(ctx context.Context, cfg config.Config, ping bool, stdout io.Writer) error {
	var problems []error
	if err := cfg.CheckExposure(); err != nil {
		problems = append(problems, err)
	}
	budget, err := budgetConns(cfg, openFileLimit())
	if err != nil {
		problems = append(problems, err)
	}
	if _, err := executor.NewPolicy(cfg.OutboundAllow, cfg.OutboundDeny, cfg.OutboundDenyPrivate); err != nil {
		problems = append(problems, fmt.Errorf("outbound policy (OUTBOUND_ALLOW_CIDRS, OUTBOUND_DENY_CIDRS): %w", err))
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	for _, s := range cfg.Settings() {
		v := s.Value
		if v == "" {
			v = "(unset)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, v, s.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndatabase: %s %s\n", cfg.Database.Driver, cfg.Database.Location())
	fmt.Fprintf(stdout, "listen: %s\n", cfg.Addr())
	if budget.maxConns > 0 {
		fmt.Fprintf(stdout, "api connections: at most %d", budget.maxConns)
		if budget.fileLimit > 0 {
			fmt.Fprintf(stdout, " (open-file limit %d, %d kept for the database and the calls to targets)", budget.fileLimit, budget.reserve)
		}
		fmt.Fprintln(stdout)
	}
	if len(cfg.SecretKey) == 0 {
		fmt.Fprintln(stdout, "warning: SECRET_KEY is not set: secret header values are stored in clear text")
	}
	if cfg.InsecureNoAuth && len(cfg.APITokens)+len(cfg.APIReadTokens) == 0 && !config.IsLoopback(cfg.Host) {
		fmt.Fprintln(stdout, "warning: INSECURE_NO_AUTH is set: the API has no access token; only safe behind a proxy that authenticates every request")
	}
	if ping {
		list, err := store.Migrations(ctx, store.Config{Driver: cfg.Database.Driver, DSN: cfg.Database.DSN})
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("database (DATABASE_URL): %w", err))
		case cfg.Database.Driver == config.DriverSQLite && !exists(cfg.Database.DSN):
			fmt.Fprintln(stdout, "database: the file does not exist yet; serve creates it")
		default:
			p := len(store.Pending(list))
			fmt.Fprintf(stdout, "database: answers; %d migrations applied, %d pending\n", len(list)-p, p)
			if p > 0 && !cfg.AutoMigrate {
				problems = append(problems, fmt.Errorf("the database has %d pending migrations and AUTO_MIGRATE is false: "+
					"serve would refuse to start; apply them with apicron migrate up", p))
			}
		}
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("the configuration is not valid:\n%w", err)
	}
	_, err = fmt.Fprintln(stdout, "configuration OK")
	return err
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
