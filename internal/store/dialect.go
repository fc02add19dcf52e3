package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between SQLite and PostgreSQL; the SQL itself is
// written once, with ? placeholders. Each dialect's values are set in one
// place, sqliteDialect or postgresDialect, not tested for by name.
type dialect struct {
	name string
	// forUpdate locks the rows a claim reads (PostgreSQL); SQLite has one
	// writer, so its transactions are serial already.
	forUpdate string
	// rebinds caches ?-to-$n rewrites for PostgreSQL.
	rebinds *sync.Map
	// readOnlyTx is the option of read transactions: PostgreSQL is told they
	// only read; SQLite's readers are query_only connections already.
	readOnlyTx *sql.TxOptions
	// notify says whether transactions tell other nodes about changes
	// (PostgreSQL NOTIFY); SQLite has no other process to tell.
	notify bool
	// migrationLock is a statement that makes the nodes starting at once
	// migrate one after another (a PostgreSQL advisory lock, held until the
	// migration's transaction ends); "" where one process owns the database.
	migrationLock string
	// writeProbe are statements that write without changing anything: the
	// store runs them at open and, when nothing else wrote for a while, for
	// Ping, to learn whether the database takes writes.
	writeProbe []string
	// notWritable explains an error of the first write (or of the
	// connection before it) to whoever starts apicron, when it means the
	// database cannot be written; other errors it returns as they are.
	notWritable func(ctx context.Context, db *DB, err error) error
	// runIndex says a schedule's runs are read through run_index and the
	// tail of runs_occurrence (SQLite, runindex.go); PostgreSQL reads them
	// from its UNIQUE (schedule_id, scheduled_at) key.
	runIndex bool
	// keysOffToMigrate turns foreign keys off while migrations run and
	// checks them before each commits (SQLite, whose table rebuilds drop a
	// table that others refer to).
	keysOffToMigrate bool
	// runKey is the columns of the runs' unique key, one run per schedule
	// and scheduled_at, as an ON CONFLICT names them.
	runKey string
	// listKeys says a batched join with VALUES also lists its rows' keys
	// (listedKeys): PostgreSQL planned UPDATE ... FROM (VALUES ...) and
	// joins on schedule ids as a sequential scan of the whole table and a
	// hash join, which grows with the table, not the batch. SQLite looks
	// each row of VALUES up by its rowid already.
	listKeys bool
}

func sqliteDialect() dialect {
	return dialect{name: "sqlite", writeProbe: sqliteWriteProbe, runIndex: true, keysOffToMigrate: true, runKey: sqliteRunKey,
		notWritable: func(_ context.Context, db *DB, err error) error { return sqliteNotWritable(db.dsn, err) }}
}

func postgresDialect() dialect {
	return dialect{name: "postgres", forUpdate: " FOR UPDATE", rebinds: &sync.Map{},
		readOnlyTx: &sql.TxOptions{ReadOnly: true}, notify: true, migrationLock: "SELECT pg_advisory_xact_lock(7283001)",
		writeProbe: postgresWriteProbe, notWritable: postgresNotWritable, runKey: postgresRunKey, listKeys: true}
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
		case pe.Code == pgReadOnly:
			return "PostgreSQL is read-only: a standby, or default_transaction_read_only is on (SQLSTATE " + pe.Code + ")"
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
	if d.name == "postgres" && connectionLost(err) {
		// The server went away under a connection in use (a stop, a
		// failover): the statement failed before any SQLSTATE came back.
		return "the connection to PostgreSQL was lost"
	}
	return ""
}

// connectionLost reports whether err is a PostgreSQL connection that broke
// under a statement: the socket closed or failed, or pgx found the
// connection closed, rather than an answer of the server.
func connectionLost(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false // the caller gave up: the connection may be fine
	}
	var oe *net.OpError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.As(err, &oe) || strings.HasSuffix(err.Error(), "conn closed")
}
