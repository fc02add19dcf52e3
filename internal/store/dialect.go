package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between SQLite and PostgreSQL; the SQL itself is
// written once, with ? placeholders.
type dialect struct {
	name string
	// forUpdate locks the rows a claim reads (PostgreSQL); SQLite has one
	// writer, so its transactions are serial already.
	forUpdate string
	// rebinds caches ?-to-$n rewrites for PostgreSQL.
	rebinds *sync.Map
}

func (d dialect) rebind(q string) string {
	if d.rebinds == nil {
		return q
	}
	if v, ok := d.rebinds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	d.rebinds.Store(q, out)
	return out
}

// unavailable says why err means the database cannot be used at the moment
// (locked, read-only, full, connection lost), as opposed to a bug, in words
// fit for a client and for /health; "" when it does not.
func (d dialect) unavailable(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY:
			return "the database is locked by another connection (SQLITE_BUSY)"
		case sqlite3.SQLITE_LOCKED:
			return "a table is locked (SQLITE_LOCKED)"
		case sqlite3.SQLITE_READONLY:
			return "the database is read-only (SQLITE_READONLY)"
		case sqlite3.SQLITE_FULL:
			return "the database or disk is full (SQLITE_FULL)"
		case sqlite3.SQLITE_IOERR:
			return "disk I/O error (SQLITE_IOERR)"
		case sqlite3.SQLITE_CANTOPEN:
			return "cannot open the database file (SQLITE_CANTOPEN)"
		}
		return ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P: operator intervention (shutdown); 53: insufficient resources.
		switch {
		case strings.HasPrefix(pe.Code, "08"):
			return "connection to PostgreSQL failed (SQLSTATE " + pe.Code + ")"
		case strings.HasPrefix(pe.Code, "57P"):
			return "PostgreSQL ended the connection or is shutting down (SQLSTATE " + pe.Code + ")"
		case strings.HasPrefix(pe.Code, "53"):
			return "PostgreSQL is out of resources (SQLSTATE " + pe.Code + ")"
		}
		return ""
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return "cannot connect to PostgreSQL"
	}
	if errors.Is(err, sql.ErrConnDone) {
		return "the connection to the database was lost"
	}
	return ""
}

func (db *DB) openSQLite(ctx context.Context, path string) error {
	if path == "" || path == ":memory:" {
		return fmt.Errorf("sqlite needs a file path (an in-memory database is private to one connection)")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create database directory: %w", err)
		}
	}
	release, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	db.release = release
	db.d = dialect{name: "sqlite"}
	db.stmts = &stmtCache{stmts: map[string]*sql.Stmt{}, pending: map[string]struct{}{}}
	db.gate = newWriteGate()
	// WAL lets readers run beside the one writer. synchronous=NORMAL makes a
	// commit durable against a crash of the process (SIGKILL included) without
	// an fsync per transaction; only a power loss or kernel crash can roll back
	// the last commits. FULL would fsync every claim and result batch, which
	// on ordinary disks costs milliseconds per transaction and makes requests late.
	pragmas := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	// The writer never checkpoints (wal_autocheckpoint=0): a checkpoint
	// fsyncs the database file, and done by the writer it would stall the
	// claim that happened to trigger it. checkpointLoop does it beside.
	// journal_size_limit: once the log restarts, its file is cut back to 64 MiB.
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db.w = w
	if err := w.PingContext(ctx); err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db.r = r
	c, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	c.SetMaxOpenConns(1)
	db.ckpt = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); db.checkpointLoop(ctx) }()
	db.stopCkpt = func() { cancel(); <-done; c.Close() }
	return nil
}

// checkpointInterval is how often the write-ahead log is copied back into
// the database file.
const checkpointInterval = 500 * time.Millisecond

// walRestartFrames is the log's length (4 KiB pages) beyond which the
// checkpointer makes sure it restarts from its beginning. SQLite restarts
// the log only when a write begins with every frame copied back, which a
// checkpoint beside a busy writer never sees: the log would grow without
// end (gigabytes in minutes at 10,000 runs/s), and every page lookup would
// search a longer wal-index, slowing reads and writes alike.
const walRestartFrames = 8192

// checkpointLoop checkpoints the WAL from its own connection, in PASSIVE
// mode: it copies what it can without waiting for or blocking the writer.
// When the log has grown past walRestartFrames it copies again (what was
// written meanwhile, little), then once more on the writer's own connection,
// which no write can use meanwhile: that finishes the log, so the next write
// restarts it. The writer waits only for the last few frames and their fsync.
func (db *DB) checkpointLoop(ctx context.Context) {
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	failing := false // log a failing checkpoint once, not twice a second
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		frames, _, err := checkpoint(ctx, db.ckpt)
		if err == nil && frames >= walRestartFrames {
			second := time.Now()
			var log, copied int64
			if log, copied, err = checkpoint(ctx, db.ckpt); err == nil {
				last := time.Now()
				_, _, err = checkpoint(ctx, db.w)
				db.logger.Debug("write-ahead log finished for a restart", "frames", frames, "left_to_writer", log-copied,
					"first", second.Sub(start), "second", last.Sub(second), "on_writer", time.Since(last))
			}
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			db.logger.Warn("checkpoint the write-ahead log; retrying", "err", err)
			failing = true
		case err == nil && failing:
			db.logger.Info("checkpoint of the write-ahead log works again")
			failing = false
		}
	}
}

// checkpoint runs a PASSIVE checkpoint on c and returns the log's length
// and how much of it is copied to the database file, in frames.
func checkpoint(ctx context.Context, c *sql.DB) (frames, copied int64, err error) {
	var busy int64
	err = c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return frames, copied, err
}

func (db *DB) openPostgres(ctx context.Context, url string) error {
	db.d = dialect{name: "postgres", forUpdate: " FOR UPDATE", rebinds: &sync.Map{}}
	p, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(16)
	db.w, db.r = p, p
	if err := p.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	return nil
}
