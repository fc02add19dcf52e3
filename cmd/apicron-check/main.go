// Command apicron-check proves a run history exactly-once: it reads the
// log of every request a test target received (JSON lines, as
// histcheck.Log writes them) and apicron's database, and reports every
// broken invariant (see internal/histcheck).
//
//	apicron-check --database-url sqlite:///./apicron.db --sink-log sink.jsonl [--targets 1,2] [--json]
//
// Exit status: 0 when the history is sound, 1 on violations, 2 on a usage
// or read error.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron/internal/config"
	"github.com/apicron/apicron/internal/histcheck"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver
)

// Exit statuses.
const (
	exitSound      = 0
	exitViolations = 1
	exitError      = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	databaseURL string
	sinkLog     string
	targets     []int64
	json        bool
	show        int
}

// run is the command, its streams given, so tests call it in process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitSound
	}
	if err != nil {
		fmt.Fprintln(stderr, "apicron-check:", err)
		return exitError
	}
	rep, err := check(ctx, opts, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "apicron-check:", err)
		return exitError
	}
	if err := printReport(stdout, rep, opts.json); err != nil {
		fmt.Fprintln(stderr, "apicron-check:", err)
		return exitError
	}
	if !rep.OK() {
		return exitViolations
	}
	return exitSound
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var targets string
	fs := flag.NewFlagSet("apicron-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.databaseURL, "database-url", "", "apicron's database, as DATABASE_URL: sqlite:///path.db, a path ending in .db, or postgres://...")
	fs.StringVar(&o.sinkLog, "sink-log", "", "the sink's log of requests, JSON lines (- for stdin)")
	fs.StringVar(&targets, "targets", "", "the target ids the sink serves, comma-separated (default: every target)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.IntVar(&o.show, "show", 20, "how many violations the text report lists")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.databaseURL == "" || o.sinkLog == "" {
		return o, errors.New("--database-url and --sink-log are required")
	}
	var err error
	if o.targets, err = parseTargets(targets); err != nil {
		return o, err
	}
	return o, nil
}

func parseTargets(s string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("--targets: %q is not a target id", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// check reads the log and the database and runs histcheck.Check.
func check(ctx context.Context, o options, stdin io.Reader) (*histcheck.Report, error) {
	reqs, err := readLog(o.sinkLog, stdin)
	if err != nil {
		return nil, err
	}
	db, driver, err := openDatabase(o.databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return histcheck.Check(ctx, db, driver, reqs, histcheck.Options{Targets: o.targets, Show: o.show})
}

func readLog(path string, stdin io.Reader) ([]histcheck.Request, error) {
	if path == "-" {
		return histcheck.ReadLog(stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sink log: %w", err)
	}
	defer f.Close()
	return histcheck.ReadLog(f)
}

// openDatabase opens a DATABASE_URL for reading: a SQLite file read-only
// (the checker never writes, and may run beside apicron), PostgreSQL
// through pgx.
func openDatabase(raw string) (*sql.DB, string, error) {
	d, err := config.ParseDatabaseURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("--database-url: %w", err)
	}
	switch d.Driver {
	case config.DriverSQLite:
		if _, err := os.Stat(d.DSN); err != nil {
			return nil, "", fmt.Errorf("--database-url: %w", err)
		}
		db, err := sql.Open("sqlite", sqliteReadOnly(d.DSN))
		if err != nil {
			return nil, "", fmt.Errorf("open %s: %w", d, err)
		}
		return db, "sqlite", nil
	case config.DriverPostgres:
		db, err := sql.Open("pgx", d.DSN)
		if err != nil {
			return nil, "", fmt.Errorf("open %s: %w", d, err)
		}
		return db, "pgx", nil
	}
	return nil, "", fmt.Errorf("--database-url: unknown driver %q", d.Driver)
}

// sqliteReadOnly is the URI of path opened read-only, waiting for a
// writer rather than failing; ? and # in a path would end it, so they
// (and %) are escaped.
func sqliteReadOnly(path string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?mode=ro&_pragma=busy_timeout(10000)"
}

func printReport(w io.Writer, rep *histcheck.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			OK bool `json:"ok"`
			*histcheck.Report
		}{rep.OK(), rep}); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	}
	if _, err := fmt.Fprintln(w, rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
