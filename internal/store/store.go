// Package store keeps apicron's targets, schedules, runs and counters in
// SQLite (the embedded default) or PostgreSQL, behind one set of SQL
// statements and a dialect. It is the single source of truth: the engine's
// memory only caches what is here.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apicron/apicron"
)

// Config says which database to open and how.
type Config struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// DSN is a file path for SQLite, a connection URL for PostgreSQL.
	DSN string
	// Clock gives "now" to writes that need one; the real clock by default.
	Clock apicron.Clock
	// Logger receives store logs; discarded by default.
	Logger *slog.Logger
	// NodeID is recorded on the runs this process claims.
	NodeID string
	// Shared says several nodes may use the database at once (PostgreSQL
	// only): claimed runs then wait in the database for any node to take
	// them, and a node interrupts only its own runs. Without it the process
	// that claims a run executes it.
	Shared bool
	// SecretKey, when set, is the SecretKeySize-byte key that encrypts the
	// values of secret headers (apicron.Target.IsSecretHeader) at rest with
	// AES-256-GCM, and the headers of claimed runs waiting in a shared
	// database. Clear values already stored still read, and are encrypted
	// the next time their target is written. Without it they are stored in
	// clear text, and a secret value that starts with enc:v1: (which marks an
	// encrypted value) is refused.
	SecretKey []byte
	// SQLiteCacheMiB is the page cache of SQLite's writer connection, in
	// MiB; zero: DefaultSQLiteCacheMiB. Readers keep SQLite's default
	// (2 MiB): every write invalidates their cache anyway.
	SQLiteCacheMiB int
	// IdleInTransaction, on PostgreSQL, is the server's
	// idle_in_transaction_session_timeout for this store's sessions, set once
	// each connection is made (zero, or a URL that sets it: the server's or
	// the URL's): a node frozen in the middle
	// of a transaction (a stopped VM, SIGSTOP) has it ended by the server, so
	// the rows it locked (schedules, the lease) are free again for the other
	// nodes. apicron serve sets it to LEASE_TTL.
	IdleInTransaction time.Duration
	// NoMigrate makes Open apply no migration: it refuses a database with
	// pending ones instead, with a *PendingError (apicron serve with
	// AUTO_MIGRATE=false; apicron migrate up applies them).
	NoMigrate bool
}

// DB is an open store. It implements apicron.Store and apicron.Engine.
type DB struct {
	w        *sql.DB // the writer: for SQLite a single connection
	r        *sql.DB // readers
	ping     *sql.DB // Ping's own connection, which no reader or writer holds
	probe    *sql.DB // where Ping's write probe writes (probeWrites)
	ckpt     *sql.DB // SQLite: the connection that checkpoints the WAL
	stopCkpt func()
	// stopIndex stops indexLoop (SQLite); indexMu keeps IndexRuns one at a time.
	stopIndex func()
	indexMu   sync.Mutex
	// indexAfterRead is a test's hook between IndexRuns' read and writes.
	indexAfterRead func()
	d              dialect
	clock          apicron.Clock
	// openedAt is when this process opened the store: an occurrence due
	// before it and claimed late came due while apicron was not running.
	openedAt time.Time
	logger   *slog.Logger
	nodeID   string
	dsn      string
	shared   bool
	secrets  *sealer // nil without a SecretKey
	// secretProblem says SECRET_KEY does not open the stored secrets, as
	// found at secretChecked (checkSecretKey).
	secretMu      sync.Mutex
	secretProblem string
	secretChecked time.Time
	release       func()     // drops the single-process lock
	stmts         *stmtCache // SQLite: statements prepared on the writer
	gate          *writeGate // SQLite: the order in which writers get the writer
	pinged        condition  // why Ping last failed to read
	writes        writeState // whether the database takes writes, as Ping reports
	stats         writerStats
	// leaseEpoch is the dispatcher lease's epoch as this node's last
	// Heartbeat saw itself hold it; -1 when it saw another node hold it (or
	// resigned), 0 before any heartbeat. Claims are fenced by it (checkLease).
	leaseEpoch atomic.Int64
	// leaseTTLs is what the last heartbeat found of other nodes' LEASE_TTL
	// (LeaseTTLDisagreement).
	leaseTTLs atomic.Pointer[string]
	// liveNodes is how many nodes the last heartbeat found alive, this
	// one included; 0 before the first.
	liveNodes atomic.Int64
	// heartbeatTTL is the lease's ttl of this node's last heartbeat, in
	// milliseconds; 0 before the first.
	heartbeatTTL atomic.Int64
	lostTakes    lostTakes // takes that failed, whose runs may be this node's
}

var (
	_ apicron.Store  = (*DB)(nil)
	_ apicron.Engine = (*DB)(nil)
)

// Open connects to the database, takes the single-process lock for SQLite,
// checks that the database takes writes (an error says which file or
// setting stops them), and applies pending migrations (or, with
// Config.NoMigrate, refuses a database that has any).
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db := &DB{clock: cfg.Clock, logger: cfg.Logger, nodeID: cfg.NodeID, dsn: cfg.DSN, release: func() {}}
	if db.clock == nil {
		db.clock = apicron.SystemClock{}
	}
	db.openedAt = db.now()
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	var err error
	if db.secrets, err = newSealer(cfg.SecretKey); err != nil {
		return nil, err
	}
	switch cfg.Driver {
	case "sqlite", "":
		err = db.openSQLite(ctx, cfg.DSN, cfg.SQLiteCacheMiB)
	case "postgres":
		db.shared = cfg.Shared
		err = db.openPostgres(ctx, cfg.DSN, cfg.IdleInTransaction)
	default:
		return nil, fmt.Errorf("unknown database driver %q", cfg.Driver)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := db.checkWritable(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if cfg.NoMigrate {
		if err := db.checkMigrated(ctx); err != nil {
			db.Close()
			return nil, err
		}
	} else if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := db.checkSecretKey(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.d.runIndex {
		// What the last process left in the tail is indexed before anything
		// claims, and upto starts at this clock's time.
		if _, err := db.IndexRuns(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("index runs by schedule: %w", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); db.indexLoop(ctx) }()
		db.stopIndex = func() { cancel(); <-done }
	}
	return db, nil
}

// Close closes the connections and releases the lock.
func (db *DB) Close() error {
	var errs []error
	if db.stopIndex != nil {
		db.stopIndex()
		db.stopIndex = nil
	}
	if db.stopCkpt != nil {
		db.stopCkpt()
		db.stopCkpt = nil
	}
	db.stmts.close()
	if db.ping != nil {
		errs = append(errs, db.ping.Close())
	}
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	db.release()
	db.release = func() {}
	return errors.Join(errs...)
}

// Driver returns "sqlite" or "postgres".
func (db *DB) Driver() string { return db.d.name }

func (db *DB) now() time.Time { return apicron.TruncMillis(db.clock.Now()) }

// tx is a transaction that speaks the store's SQL (with ? placeholders).
type tx struct {
	*sql.Tx
	d     dialect
	now   time.Time
	stmts *stmtCache // nil: no prepared statements
	// statements counts the statements of a write transaction; nil in a read.
	statements *atomic.Int64
	// autoPause collects the schedules a Finish found over their
	// auto_pause_after, for the transaction that pauses them.
	autoPause []autoPauseRequest
}

// counted notes one statement of a write transaction.
func (t *tx) counted() {
	if t.statements != nil {
		t.statements.Add(1)
	}
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.counted()
	return t.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.counted()
	return t.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	t.counted()
	return t.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// write runs fn in a write transaction and commits it. On SQLite it goes
// before the engine's waiting writes: a client's request waits for the
// transaction in progress at most, not for a queue of claims and result
// batches.
func (db *DB) write(ctx context.Context, fn func(*tx) error) error {
	start := time.Now()
	db.gate.lock(true)
	db.stats.wait.Add(int64(time.Since(start)))
	defer db.gate.unlock()
	return db.inTx(ctx, db.w, false, fn)
}

// engineWrite is write for the engine's own transactions (claims, results,
// pruning), which yield to clients' writes on SQLite. Claims are made ahead
// of their time, so a few milliseconds' wait costs them nothing.
func (db *DB) engineWrite(ctx context.Context, fn func(*tx) error) error {
	start := time.Now()
	db.gate.lock(false)
	db.stats.wait.Add(int64(time.Since(start)))
	defer db.gate.unlock()
	return db.inTx(ctx, db.w, false, fn)
}

// read runs fn in a read-only transaction, so every query in it sees one snapshot.
func (db *DB) read(ctx context.Context, fn func(*tx) error) error {
	return db.inTx(ctx, db.r, true, fn)
}

func (db *DB) inTx(ctx context.Context, pool *sql.DB, readOnly bool, fn func(*tx) error) error {
	return db.mapErr(db.runTx(ctx, pool, readOnly, fn))
}

// runTx is inTx with the driver's errors as they are. It notes the outcome
// of a write transaction in db.writes.
func (db *DB) runTx(ctx context.Context, pool *sql.DB, readOnly bool, fn func(*tx) error) error {
	var opts *sql.TxOptions
	if readOnly {
		opts = db.d.readOnlyTx
	}
	if pool == db.w {
		// Statements first used in this transaction are prepared once it has
		// released the writer (this runs after the Rollback below).
		defer db.stmts.prepare(context.WithoutCancel(ctx), db.w)
	}
	start := time.Now()
	sqlTx, err := pool.BeginTx(ctx, opts)
	began := time.Now()
	if !readOnly {
		// A begin that failed waited too (SQLite's BEGIN IMMEDIATE waits
		// busy_timeout for another process's write lock).
		db.stats.wait.Add(int64(began.Sub(start)))
	}
	if !readOnly && err == nil {
		defer func() {
			db.stats.transactions.Add(1)
			db.stats.busy.Add(int64(time.Since(began)))
		}()
	}
	if err != nil {
		err = fmt.Errorf("begin: %w", err)
		if !readOnly {
			db.noteWrite(time.Time{}, err)
		}
		return err
	}
	defer sqlTx.Rollback()
	t := &tx{Tx: sqlTx, d: db.d, now: db.now()}
	if pool == db.w {
		t.stmts = db.stmts
	}
	if !readOnly {
		t.statements = &db.stats.statements
	}
	err = fn(t)
	if err == nil {
		if err = sqlTx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	if !readOnly {
		db.noteWrite(t.now, err)
	}
	return err
}

// mapErr turns driver errors that mean something to a client into coded errors.
func (db *DB) mapErr(err error) error {
	var ae *apicron.Error
	if err == nil || errors.As(err, &ae) {
		return err
	}
	if why := db.d.unavailable(err); why != "" {
		return &apicron.Error{Code: apicron.EUNAVAILABLE, Message: "database unavailable: " + why}
	}
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMs(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMs(v.Int64)
	return &t
}

func int64Ptr(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func intPtr(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	i := int(v.Int64)
	return &i
}

func floatPtr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func nullFloat(f *float64) sql.NullFloat64 {
	if f == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *f, Valid: true}
}

func nullInt(i *int) sql.NullInt64 {
	if i == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*i), Valid: true}
}

func nullInt64(i *int64) sql.NullInt64 {
	if i == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *i, Valid: true}
}

func clampPage(limit, offset int) (int, int) {
	if limit <= 0 {
		limit = 100
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// rowFunc adapts a function to the scanner interface.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }
