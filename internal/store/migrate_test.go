package store_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestMigrations_Released holds migrations to being append-only: every
// migration file matches the checksum it was released with in
// migrations/manifest.sha256, every line there has its file, and both
// dialects have the same numbered files, so a change to the schema is always
// a new migration in each.
func TestMigrations_Released(t *testing.T) {
	t.Parallel()
	manifest := readManifest(t, filepath.Join("migrations", "manifest.sha256"))
	files := map[string]string{} // dialect/name -> sha256
	names := map[string][]string{}
	for _, dialect := range []string{"sqlite", "postgres"} {
		entries, err := os.ReadDir(filepath.Join("migrations", dialect))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			body, err := os.ReadFile(filepath.Join("migrations", dialect, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(body)
			files[path.Join(dialect, e.Name())] = hex.EncodeToString(sum[:])
			names[dialect] = append(names[dialect], e.Name())
		}
	}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		want, ok := manifest[f]
		switch {
		case !ok:
			t.Errorf("%s is not in migrations/manifest.sha256: once it is final, append the line\n%s  %s", f, files[f], f)
		case want != files[f]:
			t.Errorf("%s differs from the version released (sha256 %s, now %s): a released migration must not change; "+
				"restore it (git log -p -- internal/store/migrations/%s) and put the change in a new migration", f, want, files[f], f)
		}
	}
	for f := range manifest {
		if _, ok := files[f]; !ok {
			t.Errorf("migrations/manifest.sha256 lists %s, which is gone: a released migration must stay", f)
		}
	}
	if !slices.Equal(names["sqlite"], names["postgres"]) {
		t.Errorf("the dialects' migrations differ:\n sqlite   %v\n postgres %v\nevery migration has a file in both (SELECT 1; where one dialect needs nothing)",
			names["sqlite"], names["postgres"])
	}
}

func readManifest(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, file, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s:%d: want \"<sha256>  <dialect>/<file>\", got %q", name, n, line)
		}
		if _, dup := out[file]; dup {
			t.Fatalf("%s:%d: %s listed twice", name, n, file)
		}
		out[file] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrate_RecreatesRunsRunning: a PostgreSQL database that applied the
// first version of 0005 (which dropped runs_running) gets the index back
// from 0007, and migrating again changes nothing.
func TestMigrate_RecreatesRunsRunning(t *testing.T) {
	t.Parallel()
	const driver = "postgres"
	dsn := storetest.NewDSN(t, driver)
	db := storetest.OpenDSN(t, driver, dsn, store.Config{})
	if !hasIndex(t, dsn, "runs_running") {
		t.Fatal("a new PostgreSQL database has no runs_running")
	}
	db.Close()
	// As migrated between the two versions of 0005: no index, 0007 not
	// applied (the later migrations are, which makes no difference to it).
	rawExec(t, driver, dsn, "DROP INDEX runs_running")
	rawExec(t, driver, dsn, "ALTER TABLE run_stats DROP COLUMN latency_min_ms, DROP COLUMN latency_max_ms") // 0008
	rawExec(t, driver, dsn, "DELETE FROM schema_migrations WHERE version = 7")
	storetest.OpenDSN(t, driver, dsn, store.Config{}).Close()
	if !hasIndex(t, dsn, "runs_running") {
		t.Fatal("migrating did not recreate runs_running")
	}
	storetest.OpenDSN(t, driver, dsn, store.Config{}).Close()
	if !hasIndex(t, dsn, "runs_running") {
		t.Fatal("migrating twice lost runs_running")
	}
}

func hasIndex(t *testing.T, dsn, name string) bool {
	t.Helper()
	return rawQuery(t, "postgres", dsn, "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = '"+name+"'") == "1"
}

// TestMigrations_Status: Migrations reports a new database as wholly
// pending without creating it, Open with NoMigrate refuses a database with
// a pending migration and names it, Open applies it, and a migration the
// database records but this apicron does not know is listed without a name.
func TestMigrations_Status(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		ctx := t.Context()
		dsn := storetest.NewDSN(t, driver)
		cfg := store.Config{Driver: driver, DSN: dsn}
		list, err := store.Migrations(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) < 23 || len(store.Pending(list)) != len(list) || list[0].Name != "0001_init.sql" {
			t.Fatalf("a new database: %d migrations, %d pending, first %+v", len(list), len(store.Pending(list)), list[0])
		}
		if driver == "sqlite" {
			if _, err := os.Stat(dsn); !os.IsNotExist(err) {
				t.Errorf("Migrations created the database file: %v", err)
			}
		}
		if _, err := store.Open(ctx, store.Config{Driver: driver, DSN: dsn, NoMigrate: true}); err == nil {
			t.Fatal("Open with NoMigrate opened a new database")
		}
		storetest.OpenDSN(t, driver, dsn, store.Config{}).Close()
		list, err = store.Migrations(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if p := store.Pending(list); len(p) != 0 {
			t.Fatalf("after Open, pending %+v", p)
		}
		last := list[len(list)-1]

		// As a database of the apicron before 0023: its columns gone, its row too.
		for _, col := range []string{"runs_success", "runs_failed", "runs_timeout", "runs_dns_error",
			"runs_connection_error", "runs_interrupted", "latency_histogram", "lateness_histogram"} {
			rawExec(t, driver, dsn, "ALTER TABLE run_stats_minute DROP COLUMN "+col)
		}
		rawExec(t, driver, dsn, "DELETE FROM schema_migrations WHERE version = 23")
		rawExec(t, driver, dsn, "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)")
		list, err = store.Migrations(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := store.Pending(list)
		if len(p) != 1 || p[0].Name != "0023_minute_outcomes.sql" {
			t.Fatalf("pending %+v, want 0023 alone", p)
		}
		if unknown := list[len(list)-1]; unknown.Version != 9999 || unknown.Name != "" || unknown.AppliedAt == nil {
			t.Errorf("last listed %+v, want 9999 applied, without a name", unknown)
		}
		// A migration this apicron does not know: a newer one migrated the
		// database, and Open refuses it, migrating nothing, with or without
		// NoMigrate.
		for _, noMigrate := range []bool{false, true} {
			_, err = store.Open(ctx, store.Config{Driver: driver, DSN: dsn, NoMigrate: noMigrate})
			if err == nil || !strings.Contains(err.Error(), "migrated by a newer apicron (migration 9999") {
				t.Fatalf("Open (NoMigrate %v) of a database with migration 9999: %v", noMigrate, err)
			}
		}
		if list, err = store.Migrations(ctx, cfg); err != nil || len(store.Pending(list)) != 1 {
			t.Fatalf("after the refused Open, pending %+v (%v), want 0023 still", store.Pending(list), err)
		}
		rawExec(t, driver, dsn, "DELETE FROM schema_migrations WHERE version = 9999")
		_, err = store.Open(ctx, store.Config{Driver: driver, DSN: dsn, NoMigrate: true})
		var pe *store.PendingError
		if !errors.As(err, &pe) || len(pe.Names) != 1 || pe.Names[0] != "0023_minute_outcomes.sql" {
			t.Fatalf("Open with NoMigrate: %v, want a PendingError naming 0023", err)
		}
		storetest.OpenDSN(t, driver, dsn, store.Config{}).Close()
		list, err = store.Migrations(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if p := store.Pending(list); len(p) != 0 {
			t.Fatalf("after migrating again, pending %+v", p)
		}
		if list[len(list)-1].Name != last.Name {
			t.Errorf("list ends %+v, want %s", list[len(list)-1], last.Name)
		}
		storetest.OpenDSN(t, driver, dsn, store.Config{NoMigrate: true}).Close()
	})
}

// TestMigrate_AdoptsTheOldLogoutsNumber: an earlier build shipped the
// dashboard_logouts migration as 25 (with no 24). A database it migrated
// has the table and records 25; the current build records it as 24 and
// applies 25, runs.request_headers, instead of failing on the table.
func TestMigrate_AdoptsTheOldLogoutsNumber(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		dsn := storetest.NewDSN(t, driver)
		storetest.OpenDSN(t, driver, dsn, store.Config{}).Close()
		// As that build left it: dashboard_logouts recorded as 25, no request_headers.
		rawExec(t, driver, dsn, "ALTER TABLE runs DROP COLUMN request_headers")
		rawExec(t, driver, dsn, "DELETE FROM schema_migrations WHERE version = 25")
		rawExec(t, driver, dsn, "UPDATE schema_migrations SET version = 25 WHERE version = 24")

		storetest.OpenDSN(t, driver, dsn, store.Config{}).Close()
		if got := rawQuery(t, driver, dsn, "SELECT COUNT(*) FROM schema_migrations WHERE version IN (24, 25)"); got != "2" {
			t.Fatalf("migrations 24 and 25 recorded: %s, want 2", got)
		}
		rawExec(t, driver, dsn, "UPDATE runs SET request_headers = NULL WHERE id = 0") // the column exists again
		rawExec(t, driver, dsn, "DELETE FROM dashboard_logouts")                       // and the table is kept
		storetest.OpenDSN(t, driver, dsn, store.Config{}).Close()                      // a second start changes nothing
	})
}
