package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
)

func (db *DB) openPostgres(ctx context.Context, url string, idle time.Duration) error {
	db.d = postgresDialect()
	p, err := openPostgresPool(url, idle)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	p.SetMaxOpenConns(postgresConns)
	p.SetMaxIdleConns(postgresConns)
	db.w, db.r = p, p
	if db.ping, err = openPostgresPool(url, idle); err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	pingOnOwn(db.ping)
	db.probe = db.ping
	if err := p.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	return nil
}

// idleInTransaction is the server setting Config.IdleInTransaction sets.
const idleInTransaction = "idle_in_transaction_session_timeout"

// openPostgresPool opens a pool on url whose sessions end a transaction
// left idle for longer than idle (none when zero, or when the URL sets the
// setting itself). It is set by a SET once each connection is made, not as
// a startup parameter, which a pooler such as PgBouncer would refuse.
func openPostgresPool(url string, idle time.Duration) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if _, set := cfg.RuntimeParams[idleInTransaction]; idle > 0 && !set {
		stmt := "SET " + idleInTransaction + " = " + strconv.FormatInt(max(idle.Milliseconds(), 1), 10)
		cfg.AfterConnect = func(ctx context.Context, pc *pgconn.PgConn) error {
			return pc.Exec(ctx, stmt).Close()
		}
	}
	return stdlib.OpenDB(*cfg), nil
}

// Notification channels (PostgreSQL LISTEN/NOTIFY).
const (
	// ChannelRuns is notified when claimed runs wait for a node to take them.
	ChannelRuns = "apicron_runs"
	// ChannelSchedules is notified with a schedule id when the schedule changed.
	ChannelSchedules = "apicron_schedules"
	// ChannelCancel is notified with comma-separated run ids whose requests
	// are to stop (overlap_policy replace interrupted them).
	ChannelCancel = "apicron_cancel"
)

func (t *tx) notify(ctx context.Context, channel, payload string) error {
	if !t.d.notify {
		return nil
	}
	_, err := t.exec(ctx, "SELECT pg_notify(?, ?)", channel, payload)
	return err
}

// without runs fn with one of PostgreSQL's plan types turned off for the
// statements fn runs (set_config local to the transaction; SQLite has
// none), and puts it back as it was. It is for the few statements whose
// best plan PostgreSQL cannot see from its statistics of runs, which lag a
// table that grows by thousands of rows a second and whose RUNNING rows are
// a few among millions. JIT compilation is turned off too, for the rest of
// the transaction: where the plan type is the only one possible (a join of
// one row has no join clause, so no hash join), the cost PostgreSQL adds to
// a disabled plan passes jit_above_cost, and compiling took 400-800 ms a
// statement.
func (t *tx) without(ctx context.Context, plan string, fn func() error) error {
	if t.d.name != "postgres" {
		return fn()
	}
	var was string
	if err := t.queryRow(ctx, "SELECT current_setting(?), set_config(?, 'off', true), set_config('jit', 'off', true)",
		plan, plan).Scan(&was, new(string), new(string)); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	_, err := t.exec(ctx, "SELECT set_config(?, ?, true)", plan, was)
	return err
}

// notifyScheduleChanged tells the other nodes, on commit, that schedule id changed.
func notifyScheduleChanged(ctx context.Context, tx *tx, id int64) error {
	return tx.notify(ctx, ChannelSchedules, strconv.FormatInt(id, 10))
}

// Listen calls fn for every notification on the store's channels until ctx
// ends, reconnecting after errors. It returns at once on SQLite, which has
// no other process to hear from.
func (db *DB) Listen(ctx context.Context, fn func(channel, payload string)) {
	if !db.queued() {
		return
	}
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, db.dsn, fn)
		if ctx.Err() != nil {
			return
		}
		db.logger.Warn("notification listener lost; reconnecting", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (db *DB) listenOnce(ctx context.Context, url string, fn func(channel, payload string)) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{ChannelRuns, ChannelSchedules, ChannelCancel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	fn(ChannelRuns, "") // anything queued while not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		fn(n.Channel, n.Payload)
	}
}

// pgReadOnly is the SQLSTATE of a write refused by a read-only transaction:
// on a standby, or with default_transaction_read_only on.
const pgReadOnly = "25006"

// postgresWriteProbe is refused by a read-only transaction or a standby as
// any write is, but touches no row and locks none: nodes probing at once do
// not wait for each other or for the engine.
var postgresWriteProbe = []string{"UPDATE schema_migrations SET applied_at = applied_at WHERE 1 = 0"}

// postgresNotWritable explains err, met while writing to the database
// first, when PostgreSQL refused the write as read-only; other errors are
// returned as they are.
func postgresNotWritable(ctx context.Context, db *DB, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != pgReadOnly {
		return fmt.Errorf("check that the database takes writes: %w", err)
	}
	cause := "its transactions are read-only (default_transaction_read_only is on for this user, the database or the server)"
	var standby bool
	if db.r.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&standby) == nil && standby {
		cause = "the server is a standby (in recovery), which takes no writes"
	}
	return fmt.Errorf("the PostgreSQL database is not writable: %s; apicron records every run in it and does not start without writes: "+
		"point DATABASE_URL at the primary server, or turn default_transaction_read_only off", cause)
}
