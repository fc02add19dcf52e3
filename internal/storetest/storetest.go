// Package storetest opens fresh stores for tests, on SQLite always and on
// PostgreSQL when APICRON_TEST_POSTGRES_URL names a database, so the store's
// conformance suite and the API and engine tests run against both. Only tests
// import it.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// PostgresURLEnv names the environment variable that points the tests at a
// PostgreSQL database. Each test gets its own schema in it, so one database
// serves every package's tests at once.
const PostgresURLEnv = "APICRON_TEST_POSTGRES_URL"

// NodeID is the node identity of the stores Open returns; it is recorded on
// the runs they claim.
const NodeID = "test"

// Drivers lists the databases a test runs against, in the order ForEach runs them.
var Drivers = []string{"sqlite", "postgres"}

// schemas numbers the PostgreSQL schemas of this process, so parallel tests
// never pick the same name.
var schemas atomic.Int64

// ForEach runs fn as a parallel subtest, named after the driver, for each of
// Drivers. The PostgreSQL subtest skips when APICRON_TEST_POSTGRES_URL is not set.
func ForEach(t *testing.T, fn func(t *testing.T, driver string)) {
	t.Helper()
	for _, driver := range Drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			if driver == "postgres" {
				postgresURL(t)
			}
			fn(t, driver)
		})
	}
}

// OpenShared returns a fresh PostgreSQL store in the mode production runs
// it (Config.Shared: claimed runs wait in the database for any node), as
// node nodeID, closed when the test ends; the test skips without
// APICRON_TEST_POSTGRES_URL. Further nodes of the same database open dsn
// with OpenDSN and Config{Shared: true, NodeID: ...}.
func OpenShared(t testing.TB, nodeID string, clock apicron.Clock) (db *store.DB, dsn string) {
	t.Helper()
	dsn = NewDSN(t, "postgres")
	return OpenDSN(t, "postgres", dsn, store.Config{Shared: true, NodeID: nodeID, Clock: clock}), dsn
}

// Open returns a fresh, empty, migrated store of one node (not shared), closed
// when the test ends: for "sqlite" a file in t.TempDir(), for "postgres" a new
// schema in the database named by APICRON_TEST_POSTGRES_URL, dropped when the
// test ends. Without that variable a "postgres" test skips.
func Open(t testing.TB, driver string, clock apicron.Clock) *store.DB {
	t.Helper()
	var dsn string
	switch driver {
	case "sqlite":
		dsn = filepath.Join(t.TempDir(), "apicron.db")
	case "postgres":
		dsn = postgresSchema(t)
	default:
		t.Fatalf("storetest: unknown driver %q", driver)
	}
	db, err := store.Open(t.Context(), store.Config{Driver: driver, DSN: dsn, Clock: clock, NodeID: NodeID})
	if err != nil {
		t.Fatalf("open %s store: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresURL returns APICRON_TEST_POSTGRES_URL or skips the test.
func postgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(PostgresURLEnv)
	if url == "" {
		t.Skip(PostgresURLEnv + " is not set; skipping the PostgreSQL run of this test")
	}
	return url
}

// postgresSchema creates a schema of its own for the test, registers its
// drop, and returns a URL whose search_path puts the store's tables in it.
// The drop is registered before the store's close, so it runs after it.
func postgresSchema(t testing.TB) string {
	t.Helper()
	url := postgresURL(t)
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), schemas.Add(1))
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresURLEnv, err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		// t.Context() is done by now.
		a, err := sql.Open("pgx", url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer a.Close()
		if _, err := a.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// NewDSN returns the DSN of a fresh, empty database for driver, for tests
// that open it themselves with OpenDSN, perhaps more than once: for "sqlite"
// a file path in t.TempDir(), for "postgres" a new schema, dropped when the
// test ends. Without APICRON_TEST_POSTGRES_URL a "postgres" test skips.
func NewDSN(t testing.TB, driver string) string {
	t.Helper()
	switch driver {
	case "sqlite":
		return filepath.Join(t.TempDir(), "apicron.db")
	case "postgres":
		return postgresSchema(t)
	}
	t.Fatalf("storetest: unknown driver %q", driver)
	return ""
}

// OpenDSN opens and migrates the database at dsn (from NewDSN) with cfg,
// whose Driver and DSN it sets, and whose NodeID defaults to NodeID. The
// store is closed when the test ends, if the test has not closed it. SQLite
// admits one store at a time: close one before opening the file again.
func OpenDSN(t testing.TB, driver, dsn string, cfg store.Config) *store.DB {
	t.Helper()
	cfg.Driver, cfg.DSN = driver, dsn
	if cfg.NodeID == "" {
		cfg.NodeID = NodeID
	}
	db, err := store.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open %s store: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
