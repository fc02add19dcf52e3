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

// forUpdateOf locks only the rows of one table of a join.
func (d dialect) forUpdateOf(alias string) string {
	if d.forUpdate == "" {
		return ""
	}
	return d.forUpdate + " OF " + alias
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

// isUnique reports whether err is a unique-key violation.
func (d dialect) isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isUnavailable reports whether err means the database cannot be used at
// the moment (locked, read-only, full, connection lost), as opposed to a bug.
func (d dialect) isUnavailable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P: operator intervention (shutdown); 53: insufficient resources.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "53")
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, sql.ErrConnDone)
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
	// WAL lets readers run beside the one writer. synchronous=NORMAL makes a
	// commit durable against a crash of the process (SIGKILL included) without
	// an fsync per transaction; only a power loss or kernel crash can roll back
	// the last commits. FULL would fsync every claim and result batch, which
	// on ordinary disks costs milliseconds per transaction and makes requests late.
	pragmas := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	// The writer never checkpoints (wal_autocheckpoint=0): a checkpoint
	// fsyncs the database file, and done by the writer it would stall the
	// claim that happened to trigger it. checkpointLoop does it beside.
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
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

// checkpointLoop checkpoints the WAL from its own connection, in PASSIVE
// mode: it copies what it can without waiting for or blocking the writer.
func (db *DB) checkpointLoop(ctx context.Context) {
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := db.ckpt.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
			db.logger.Warn("checkpoint the write-ahead log", "err", err)
		}
	}
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
