package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/apicron/apicron/internal/store"
)

// benchDB is the fresh database of one run.
type benchDB struct {
	driver string // sqlite or postgres
	path   string // SQLite file
	pgURL  string // the fresh PostgreSQL database's URL
	pgName string
	admin  string // the URL given with --postgres-url, used to create and drop
}

// newBenchDB makes a fresh database: a SQLite file in dir, or a new
// PostgreSQL database apicron_bench_<unix>_<pid> created on --postgres-url.
func newBenchDB(ctx context.Context, driver, dir, adminURL string) (*benchDB, error) {
	switch driver {
	case "sqlite":
		return &benchDB{driver: driver, path: filepath.Join(dir, "apicron.db")}, nil
	case "postgres":
		u, err := url.Parse(adminURL)
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: %w", err)
		}
		name := fmt.Sprintf("apicron_bench_%d_%d", time.Now().Unix(), os.Getpid())
		db, err := sql.Open("pgx", adminURL)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			return nil, fmt.Errorf("create database %s: %w", name, err)
		}
		u.Path = "/" + name
		return &benchDB{driver: driver, pgURL: u.String(), pgName: name, admin: adminURL}, nil
	}
	return nil, fmt.Errorf("--db must be sqlite or postgres, got %q", driver)
}

// databaseURL is the DATABASE_URL apicron is given.
func (b *benchDB) databaseURL() string {
	if b.driver == "sqlite" {
		return "sqlite:///" + b.path // sqlite:////abs/path
	}
	return b.pgURL
}

// storeConfig opens the same database through the store package.
func (b *benchDB) storeConfig() store.Config {
	if b.driver == "sqlite" {
		return store.Config{Driver: "sqlite", DSN: b.path, NodeID: "bench-loader"}
	}
	return store.Config{Driver: "postgres", DSN: b.pgURL, NodeID: "bench-loader"}
}

// open returns a plain database/sql handle for reading results back.
func (b *benchDB) open() (*sql.DB, error) {
	if b.driver == "sqlite" {
		return sql.Open("sqlite", "file:"+b.path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	}
	return sql.Open("pgx", b.pgURL)
}

// size returns the database's size in bytes: for SQLite the file plus its
// -wal (the -shm index is reported apart, it is not data); for PostgreSQL
// pg_database_size.
func (b *benchDB) size(ctx context.Context) (total, wal int64, err error) {
	if b.driver == "sqlite" {
		for _, suffix := range []string{"", "-wal"} {
			st, err := os.Stat(b.path + suffix)
			if err != nil {
				if os.IsNotExist(err) {
					continue
				}
				return 0, 0, err
			}
			total += st.Size()
			if suffix == "-wal" {
				wal = st.Size()
			}
		}
		return total, wal, nil
	}
	db, err := sql.Open("pgx", b.admin)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, "SELECT pg_database_size($1)", b.pgName).Scan(&total)
	return total, 0, err
}

// drop removes a PostgreSQL database made by newBenchDB; SQLite files go
// with their temporary directory.
func (b *benchDB) drop(ctx context.Context) error {
	if b.driver != "postgres" {
		return nil
	}
	db, err := sql.Open("pgx", b.admin)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+b.pgName+" WITH (FORCE)")
	return err
}

// readGrids returns every schedule's grid.
func readGrids(ctx context.Context, db *sql.DB) (map[int64]grid, error) {
	rows, err := db.QueryContext(ctx, "SELECT id, anchor_at, interval_seconds, schedule_type, cron_expression FROM schedules")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]grid{}
	for rows.Next() {
		var (
			g          grid
			kind, expr string
		)
		if err := rows.Scan(&g.id, &g.anchor, &g.every, &kind, &expr); err != nil {
			return nil, err
		}
		if f := strings.Fields(expr); kind == "CRON" && len(f) == 6 && !strings.HasPrefix(expr, "*") {
			// huge's "S M * * * *": hourly at M:S, a grid from the epoch (an hour boundary).
			sec, _ := strconv.ParseInt(f[0], 10, 64)
			minute, _ := strconv.ParseInt(f[1], 10, 64)
			g.anchor, g.every = (minute*60+sec)*1000, 3600*1000
			out[g.id] = g
			continue
		}
		if kind == "CRON" {
			// "*/N * * * * *" fires on the multiples of N seconds (N divides a
			// minute): a grid from the first one at or after creation.
			n := int64(1)
			if s, ok := strings.CutPrefix(expr, "*/"); ok {
				if v, err := strconv.ParseInt(strings.Fields(s)[0], 10, 64); err == nil {
					n = v
				}
			}
			g.every = n
			g.anchor = (g.anchor + n*1000 - 1) / (n * 1000) * (n * 1000)
		}
		g.every *= 1000
		out[g.id] = g
	}
	return out, rows.Err()
}

// readRuns returns every runs row.
func readRuns(ctx context.Context, db *sql.DB) ([]runRow, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM runs").Scan(&n); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT schedule_id, scheduled_at, started_at, status, missed, node_id FROM runs")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]runRow, 0, n)
	nodes := map[string]string{} // one copy of each node_id
	for rows.Next() {
		var r runRow
		if err := rows.Scan(&r.sched, &r.schedAt, &r.startedAt, &r.status, &r.missed, &r.node); err != nil {
			return nil, err
		}
		if id, ok := nodes[r.node]; ok {
			r.node = id
		} else {
			nodes[r.node] = r.node
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// countRows returns the row count of each table, to describe what the bytes hold.
func countRows(ctx context.Context, db *sql.DB, tables ...string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return p.String()
}

// EngineCounters are the service-wide counters the engine keeps (run_stats scope 0).
type EngineCounters struct {
	SkippedOverlap int64 `json:"skipped_overlap"`
	Missed         int64 `json:"missed"`
}

func readEngineCounters(ctx context.Context, db *sql.DB) (EngineCounters, error) {
	var c EngineCounters
	err := db.QueryRowContext(ctx, "SELECT skipped_overlap, missed FROM run_stats WHERE scope = 0").Scan(&c.SkippedOverlap, &c.Missed)
	return c, err
}

// backendCPU returns the CPU seconds, per PID, of the PostgreSQL backends
// connected to this run's database (none for SQLite). Backends are what
// PostgreSQL spends on apicron's queries; they run outside apicron's process.
func (b *benchDB) backendCPU(ctx context.Context) map[int]float64 {
	out := map[int]float64{}
	if b.driver != "postgres" {
		return out
	}
	db, err := sql.Open("pgx", b.admin)
	if err != nil {
		return out
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", b.pgName)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			if s, err := sampleProc(pid); err == nil {
				out[pid] = s.CPUSec
			}
		}
	}
	return out
}

// backendCPUDelta sums what the backends seen at the end used since the
// start (a backend that started meanwhile counts whole).
func backendCPUDelta(start, end map[int]float64) float64 {
	var d float64
	for pid, v := range end {
		d += v - start[pid]
	}
	return d
}

// PGActivity is what pg_stat_database counted for this run's database.
type PGActivity struct {
	Commits   int64 `json:"xact_commit"`
	Rollbacks int64 `json:"xact_rollback"`
	Inserted  int64 `json:"tup_inserted"`
	Updated   int64 `json:"tup_updated"`
	Deleted   int64 `json:"tup_deleted"`
	Fetched   int64 `json:"tup_fetched"`
	Returned  int64 `json:"tup_returned"`
}

// activity reads pg_stat_database (zero for SQLite). The statistics
// collector lags by up to half a second; over a window of tens of seconds
// that is noise.
func (b *benchDB) activity(ctx context.Context) PGActivity {
	var a PGActivity
	if b.driver != "postgres" {
		return a
	}
	db, err := sql.Open("pgx", b.admin)
	if err != nil {
		return a
	}
	defer db.Close()
	// A failed read leaves the counters at zero, which the report shows as such.
	_ = db.QueryRowContext(ctx, `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched, tup_returned
		FROM pg_stat_database WHERE datname = $1`, b.pgName).Scan(&a.Commits, &a.Rollbacks, &a.Inserted, &a.Updated, &a.Deleted,
		&a.Fetched, &a.Returned)
	return a
}

func (a PGActivity) sub(b PGActivity) PGActivity {
	return PGActivity{a.Commits - b.Commits, a.Rollbacks - b.Rollbacks, a.Inserted - b.Inserted, a.Updated - b.Updated,
		a.Deleted - b.Deleted, a.Fetched - b.Fetched, a.Returned - b.Returned}
}

// TableActivity is pg_stat_user_tables for one table.
type TableActivity struct {
	SeqScan    int64 `json:"seq_scan"`
	SeqTupRead int64 `json:"seq_tup_read"`
	IdxScan    int64 `json:"idx_scan"`
	IdxTupFet  int64 `json:"idx_tup_fetch"`
	Upd        int64 `json:"n_tup_upd"`
	HotUpd     int64 `json:"n_tup_hot_upd"`
	DeadTup    int64 `json:"n_dead_tup"` // at the end, not a difference
}

// tables reads pg_stat_user_tables of this run's database (nil for SQLite).
func (b *benchDB) tables(ctx context.Context) map[string]TableActivity {
	if b.driver != "postgres" {
		return nil
	}
	db, err := sql.Open("pgx", b.pgURL)
	if err != nil {
		return nil
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT relname, COALESCE(seq_scan, 0), COALESCE(seq_tup_read, 0), COALESCE(idx_scan, 0),
		COALESCE(idx_tup_fetch, 0), n_tup_upd, n_tup_hot_upd, n_dead_tup FROM pg_stat_user_tables`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]TableActivity{}
	for rows.Next() {
		var name string
		var t TableActivity
		if rows.Scan(&name, &t.SeqScan, &t.SeqTupRead, &t.IdxScan, &t.IdxTupFet, &t.Upd, &t.HotUpd, &t.DeadTup) == nil {
			out[name] = t
		}
	}
	return out
}

// tablesDelta returns end minus start for each table (dead tuples as at the end).
func tablesDelta(start, end map[string]TableActivity) map[string]TableActivity {
	if end == nil {
		return nil
	}
	out := map[string]TableActivity{}
	for name, e := range end {
		s := start[name]
		out[name] = TableActivity{e.SeqScan - s.SeqScan, e.SeqTupRead - s.SeqTupRead, e.IdxScan - s.IdxScan,
			e.IdxTupFet - s.IdxTupFet, e.Upd - s.Upd, e.HotUpd - s.HotUpd, e.DeadTup}
	}
	return out
}
