package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultSQLiteCacheMiB is the writer's page cache without
// Config.SQLiteCacheMiB. The writer keeps the schedules, their counters and
// the newest runs hot, and every runIndexEvery it writes each schedule's
// last page of run_index (10,000 schedules: 40 MiB of 4 KiB pages). SQLite's
// own default, 2 MiB, held a twentieth of that: claims read their pages back
// from the file, 68 to 77 MiB/s after 90 s at 10,000 runs/s against 27 with
// 64 MiB (docs/benchmarks.md, measured when those pages were written by
// every claim).
const DefaultSQLiteCacheMiB = 64

func (db *DB) openSQLite(ctx context.Context, path string, cacheMiB int) error {
	if cacheMiB <= 0 {
		cacheMiB = DefaultSQLiteCacheMiB
	}
	if path == "" || path == ":memory:" {
		return fmt.Errorf("sqlite needs a file path (an in-memory database is private to one connection)")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create database directory: %w", err)
		}
	}
	release, err := lockFile(path + ".lock")
	if errors.Is(err, fs.ErrPermission) {
		return sqliteNotWritable(path, err)
	} else if err != nil {
		return err
	}
	db.release = release
	db.d = sqliteDialect()
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
	// cache_size in KiB when negative.
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)"+
		fmt.Sprintf("&_pragma=cache_size(-%d)", cacheMiB*1024)+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db.w = w
	if err := w.PingContext(ctx); err != nil {
		return sqliteNotWritable(path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	db.r = r
	if db.ping, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)"); err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	pingOnOwn(db.ping)
	db.probe = w
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
		if err == nil {
			db.stats.walFrames.Store(frames)
			db.stats.checkpoints.Add(1)
			db.stats.checkpointTime.Add(int64(time.Since(start)))
		}
		if err == nil && frames >= walRestartFrames {
			second := time.Now()
			var log, copied int64
			if log, copied, err = checkpoint(ctx, db.ckpt); err == nil {
				last := time.Now()
				db.stats.checkpoints.Add(1)
				db.stats.checkpointTime.Add(int64(last.Sub(second)))
				var onWriter time.Duration
				onWriter, err = db.checkpointOnWriter(ctx)
				db.logger.Debug("write-ahead log finished for a restart", "frames", frames, "left_to_writer", log-copied,
					"first", second.Sub(start), "second", last.Sub(second), "on_writer", onWriter, "waited_for_writer", time.Since(last)-onWriter)
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

// checkpointOnWriter checkpoints on the writer's connection once the
// transaction in progress has released it, and returns how long the
// checkpoint itself held it (the wait for it is that transaction's).
func (db *DB) checkpointOnWriter(ctx context.Context) (time.Duration, error) {
	c, err := db.w.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	_, _, err = checkpoint(ctx, c)
	took := time.Since(start)
	if err == nil {
		db.stats.writerCheckpoints.Add(1)
		db.stats.writerCheckpointTime.Add(int64(took))
	}
	return took, err
}

// checkpoint runs a PASSIVE checkpoint on c and returns the log's length
// and how much of it is copied to the database file, in frames.
func checkpoint(ctx context.Context, c interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (frames, copied int64, err error) {
	var busy int64
	err = c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return frames, copied, err
}

// writeGate orders the writers of SQLite's single writer connection: when
// it is free, a waiting client write goes first, then the engine's, except
// that after urgentRun client writes in a row a waiting engine write goes,
// so clients writing without pause cannot stop the engine. Without it
// database/sql hands the connection to its waiters in no set order.
type writeGate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	held    bool
	urgent  int // client writes waiting
	waiting int // engine writes waiting
	run     int // client writes granted in a row while the engine waited
}

const urgentRun = 8

func newWriteGate() *writeGate {
	g := &writeGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *writeGate) lock(urgent bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	if urgent {
		g.urgent++
	} else {
		g.waiting++
	}
	for g.held || (urgent && g.waiting > 0 && g.run >= urgentRun) || (!urgent && g.urgent > 0 && g.run < urgentRun) {
		g.cond.Wait()
	}
	if urgent {
		g.urgent--
		if g.waiting > 0 {
			g.run++
		}
	} else {
		g.waiting--
		g.run = 0
	}
	g.held = true
	g.mu.Unlock()
}

// tryLock takes the writer only if it is free and no write waits for it,
// and reports whether it did.
func (g *writeGate) tryLock() bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held || g.urgent > 0 || g.waiting > 0 {
		return false
	}
	g.held = true
	return true
}

func (g *writeGate) unlock() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.held = false
	g.cond.Broadcast()
	g.mu.Unlock()
}

// stmtCache keeps prepared statements on the SQLite writer, by text. The
// writer is one connection, so a statement prepared once serves every later
// transaction. PostgreSQL needs none: its driver keeps a statement cache per
// connection by text.
type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]struct{} // texts used inside a transaction, to prepare after it
}

// stmt returns q prepared for use in t, or nil when it is not prepared yet
// (the caller then runs q as text; it is prepared once the transaction ends,
// since the writer's only connection is busy until then).
func (c *stmtCache) stmt(ctx context.Context, t *tx, q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	s, ok := c.stmts[q]
	if !ok {
		c.pending[q] = struct{}{}
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return t.StmtContext(ctx, s)
}

// prepare prepares the texts used since the last call. It runs outside any
// transaction on the writer.
func (c *stmtCache) prepare(ctx context.Context, w *sql.DB) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	texts := slices.Collect(maps.Keys(c.pending))
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range texts {
		s, err := w.PrepareContext(ctx, q)
		if err != nil {
			continue // used as text again next time, and retried
		}
		c.mu.Lock()
		if _, ok := c.stmts[q]; ok {
			s.Close()
		} else {
			c.stmts[q] = s
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		s.Close()
	}
	clear(c.stmts)
}

// sqliteWriteProbe writes and takes back a row of schema_migrations. SQLite
// finds a read-only file or a failing disk only when it writes to them, and
// it skips a write that changes nothing: this one puts a page in the log
// when it commits, and leaves the database as it was.
var sqliteWriteProbe = []string{
	"INSERT INTO schema_migrations (version, applied_at) VALUES (0, 0)",
	"DELETE FROM schema_migrations WHERE version = 0",
}

// sqliteNotWritable explains err, met while opening the database at path
// or writing to it first, when it means that SQLite cannot write there: it
// names the file or directory at fault and what to do. Other errors are
// returned as they are.
func sqliteNotWritable(path string, err error) error {
	var se *sqlite.Error
	refused := errors.Is(err, fs.ErrPermission)
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
			refused = true
		}
	}
	if !refused {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	cause := ""
	for _, f := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		h, oerr := os.OpenFile(f, os.O_WRONLY, 0)
		if oerr == nil {
			h.Close()
			continue
		}
		if errors.Is(oerr, fs.ErrNotExist) {
			continue
		}
		var pe *fs.PathError
		if errors.As(oerr, &pe) {
			oerr = pe.Err
		}
		cause = fmt.Sprintf("this process cannot open %s for writing (%v)", f, oerr)
		break
	}
	if dir := filepath.Dir(path); cause == "" && !dirWritable(dir) {
		base := filepath.Base(path)
		cause = fmt.Sprintf("its directory %s is not writable, and SQLite must create %s-wal and %s-shm beside the database",
			dir, base, base)
	}
	if cause == "" {
		if se == nil || se.Code()&0xff != sqlite3.SQLITE_READONLY {
			return fmt.Errorf("open sqlite %s: %w", path, err)
		}
		cause = "SQLite opened it read-only"
	}
	who := "the user apicron runs as"
	if uid := os.Getuid(); uid >= 0 {
		who += fmt.Sprintf(" (uid %d)", uid)
	}
	return fmt.Errorf("database %s is not writable: %s; apicron records every run in it and does not start without writes: "+
		"make the file, its -wal and -shm files and its directory writable by %s, or set DATABASE_URL to a writable location",
		path, cause, who)
}

// dirWritable reports whether a file can be created in dir.
func dirWritable(dir string) bool {
	f, err := os.CreateTemp(dir, ".apicron-write-check-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
