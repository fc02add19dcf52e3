package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// makeUnwritable makes the files at paths unwritable for this process until
// the test ends: by their mode when the test does not run as root, and as
// root (whom modes do not stop) by the immutable flag, skipping the test
// where that flag cannot be set.
func makeUnwritable(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if os.Getuid() != 0 {
			mode := fi.Mode().Perm() &^ 0o222
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(p, fi.Mode().Perm()) })
			continue
		}
		if err := setImmutable(p, true); err != nil {
			t.Skipf("running as root, whom file modes do not stop, and the immutable flag cannot be set on %s (%v)", p, err)
		}
		t.Cleanup(func() {
			if err := setImmutable(p, false); err != nil {
				t.Errorf("clear the immutable flag of %s: %v", p, err)
			}
		})
	}
}

// mustCreateSQLite creates and migrates a SQLite database and closes it;
// it returns the file's path.
func mustCreateSQLite(t *testing.T) string {
	t.Helper()
	path := storetest.NewDSN(t, "sqlite")
	if err := storetest.OpenDSN(t, "sqlite", path, store.Config{}).Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// A read-only SQLite file is refused at open, with an error that names the
// file, says why and what to do, rather than opened to fail every write.
func TestOpen_RefusesReadOnlySQLiteFile(t *testing.T) {
	t.Parallel()
	path := mustCreateSQLite(t)
	makeUnwritable(t, path)
	db, err := store.Open(t.Context(), store.Config{DSN: path})
	if err == nil {
		db.Close()
		t.Fatal("a read-only database opened")
	}
	msg := err.Error()
	for _, want := range []string{"database " + path + " is not writable", "cannot open " + path + " for writing", "writable by"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
}

// A SQLite file in a directory where its -wal and -shm files (or the lock
// file) cannot be created is refused at open, and the error names the
// directory.
func TestOpen_RefusesReadOnlySQLiteDirectory(t *testing.T) {
	t.Parallel()
	for _, lock := range []bool{true, false} {
		t.Run(fmt.Sprintf("lock file left=%v", lock), func(t *testing.T) {
			t.Parallel()
			path := mustCreateSQLite(t)
			if !lock {
				if err := os.Remove(path + ".lock"); err != nil {
					t.Fatal(err)
				}
			}
			makeUnwritable(t, filepath.Dir(path))
			db, err := store.Open(t.Context(), store.Config{DSN: path})
			if err == nil {
				db.Close()
				t.Fatal("a database in a read-only directory opened")
			}
			if want := "database " + path + " is not writable: its directory " + filepath.Dir(path) + " is not writable"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

// A PostgreSQL database whose transactions are read-only (as on a standby,
// or with default_transaction_read_only) is refused at open.
func TestOpen_RefusesReadOnlyPostgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDSN(t, "postgres") + "&options=-c%20default_transaction_read_only%3Don"
	db, err := store.Open(t.Context(), store.Config{Driver: "postgres", DSN: dsn})
	if err == nil {
		db.Close()
		t.Fatal("a read-only PostgreSQL database opened")
	}
	if want := "the PostgreSQL database is not writable: its transactions are read-only"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// wantPing checks Ping's error message ("" for none).
func wantPing(t *testing.T, db *store.DB, want string) {
	t.Helper()
	err := db.Ping(context.Background())
	if got := apicron.ErrorMessage(err); got != want {
		t.Fatalf("ping: %q, want %q", got, want)
	}
	if want != "" && apicron.ErrorCode(err) != apicron.EUNAVAILABLE {
		t.Fatalf("ping: %v, want EUNAVAILABLE", err)
	}
}

// When a SQLite database stops taking writes while the store is open,
// Ping says so: at once after a write failed, and, with nothing writing, at
// the latest once its probe is due. It says so until a write succeeds.
func TestPing_SQLiteWritesFailLater(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("only the immutable flag, which needs root, makes an open file's writes fail")
	}
	clock := storetest.NewClock(t0)
	path := storetest.NewDSN(t, "sqlite")
	db := storetest.OpenDSN(t, "sqlite", path, store.Config{Clock: clock})
	ctx := context.Background()
	mustCreateTarget(t, db)
	wantPing(t, db, "")
	// The file and its log; not the -shm, which SQLite maps in memory:
	// writing to the mapping of an immutable file faults.
	files := []string{path, path + "-wal"}
	makeUnwritable(t, files...)
	const failing = "database writes fail: disk I/O error (SQLITE_IOERR)"

	// A client's failed write is noted at once.
	if err := db.CreateTarget(ctx, &apicron.Target{Name: "x", URL: "http://127.0.0.1:9/"}); apicron.ErrorCode(err) != apicron.EUNAVAILABLE {
		t.Fatalf("write to an immutable database: %v", err)
	}
	wantPing(t, db, failing)
	for _, f := range files {
		if err := setImmutable(f, false); err != nil {
			t.Fatal(err)
		}
	}
	mustCreateTarget(t, db)
	wantPing(t, db, "")

	// Nothing writes: the probe finds out once it is due.
	makeUnwritable(t, files...)
	wantPing(t, db, "") // the last write succeeded under probeEvery ago
	clock.Add(5 * time.Second)
	wantPing(t, db, failing)
	for _, f := range files {
		if err := setImmutable(f, false); err != nil {
			t.Fatal(err)
		}
	}
	wantPing(t, db, failing) // probed under probeEvery ago
	clock.Add(5 * time.Second)
	wantPing(t, db, "")
}

// roles numbers the PostgreSQL roles of this test process.
var roles atomic.Int64

// When PostgreSQL turns read-only while the store is open (as on a
// failover to a standby, or default_transaction_read_only set), Ping says
// so once its probe is due, though nothing else writes.
func TestPing_PostgresWritesFailLater(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	dsn := storetest.NewDSN(t, "postgres")
	admin, err := sql.Open("pgx", os.Getenv(storetest.PostgresURLEnv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	exec := func(q string) {
		t.Helper()
		if _, err := admin.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The store connects as a role of its own, so that only its sessions
	// turn read-only.
	role := fmt.Sprintf("apicron_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), roles.Add(1))
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	exec("CREATE ROLE " + role + " LOGIN")
	t.Cleanup(func() { // after the store's close, before the schema's drop
		exec("REASSIGN OWNED BY " + role + " TO CURRENT_USER")
		exec("DROP OWNED BY " + role)
		exec("DROP ROLE " + role)
	})
	exec("ALTER SCHEMA " + u.Query().Get("search_path") + " OWNER TO " + role)
	u.User = url.User(role)
	db := storetest.OpenDSN(t, "postgres", u.String(), store.Config{Clock: clock})
	wantPing(t, db, "")

	exec("ALTER ROLE " + role + " SET default_transaction_read_only = on")
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "'")
	const failing = "database writes fail: PostgreSQL is read-only: a standby, or default_transaction_read_only is on (SQLSTATE 25006)"
	got := ""
	for range 5 { // the pool finds its connections gone one query at a time
		clock.Add(5 * time.Second)
		if got = apicron.ErrorMessage(db.Ping(context.Background())); got == failing {
			break
		}
	}
	if got != failing {
		t.Fatalf("ping: %q, want %q", got, failing)
	}
	exec("ALTER ROLE " + role + " RESET default_transaction_read_only")
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "'")
	for range 5 {
		clock.Add(5 * time.Second)
		if got = apicron.ErrorMessage(db.Ping(context.Background())); got == "" {
			break
		}
	}
	if got != "" {
		t.Fatalf("ping after the database takes writes again: %q", got)
	}
}
