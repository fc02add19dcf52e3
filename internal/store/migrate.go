package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrations embed.FS

// migrationsTableSQL creates the table that records applied migrations.
const migrationsTableSQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`

// migrationFile is one numbered migration of a dialect.
type migrationFile struct {
	version int
	name    string // NNNN_description.sql
	body    string
}

// migrationFiles returns the migrations of dialect, in order.
func migrationFiles(dialect string) ([]migrationFile, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	out := make([]migrationFile, 0, len(entries))
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		body, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migrationFile{version: version, name: e.Name(), body: string(body)})
	}
	return out, nil
}

// migrate applies, in order and each in its own transaction, the numbered
// migrations of the dialect that are not yet recorded in schema_migrations.
// Migrations are append-only: a released one is never edited.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, migrationsTableSQL); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := migrationFiles(db.d.name)
	if err != nil {
		return err
	}
	// Before applying anything: an older apicron migrates no newer schema.
	if err := db.refuseNewer(ctx, files); err != nil {
		return err
	}
	if err := db.adoptOldLogoutsNumber(ctx); err != nil {
		return err
	}
	if db.d.keysOffToMigrate {
		// A migration that rebuilds a table (SQLite alters little in place)
		// drops the old one: with foreign keys on, that would delete the
		// rows referring to it (attempts, ON DELETE CASCADE). SQLite's
		// procedure: keys off outside the transaction, checked before each
		// commit, on again after. The writer is one connection, but the pool
		// may replace it (a new one opens with the keys on): they are turned
		// off before each migration, and each transaction makes sure.
		defer func() {
			// A failure here shows again in the next statement on the connection.
			_, _ = db.w.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
		}()
	}
	for _, m := range files {
		if db.d.keysOffToMigrate {
			if _, err := db.w.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
				return err
			}
		}
		err = db.write(ctx, func(tx *tx) error {
			if db.d.migrationLock != "" {
				// Several nodes may start at once; one migrates, the others wait.
				if _, err := tx.exec(ctx, db.d.migrationLock); err != nil {
					return err
				}
			}
			var n int
			if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if db.d.keysOffToMigrate {
				var on int
				if err := tx.queryRow(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
					return err
				}
				if on != 0 {
					return fmt.Errorf("apply %s: foreign keys are on in its transaction; nothing was changed", m.name)
				}
			}
			if _, err := tx.ExecContext(ctx, m.body); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if db.d.keysOffToMigrate {
				if err := foreignKeysHold(ctx, tx); err != nil {
					return fmt.Errorf("apply %s: %w", m.name, err)
				}
			}
			_, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.version, ms(tx.now))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// foreignKeysHold fails when a row refers to one that is not there, as
// SQLite would have refused with its foreign keys on.
func foreignKeysHold(ctx context.Context, tx *tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var (
			table, parent string
			rowid         sql.NullInt64
			fk            int64
		)
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("foreign key check: %s row %d refers to a missing row of %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}

// adoptOldLogoutsNumber renumbers the record of one migration that an
// earlier build of apicron numbered otherwise. That build shipped the
// dashboard_logouts table as migration 25, with no 24; it is 24 now, and
// 25 adds runs.request_headers. A database that build migrated records 25
// without 24, which no database migrated since can (they apply in order):
// its 25 is recorded as 24, so 25 is applied next instead of 24 failing on
// a table that exists.
func (db *DB) adoptOldLogoutsNumber(ctx context.Context) error {
	return db.write(ctx, func(tx *tx) error {
		if db.d.migrationLock != "" {
			if _, err := tx.exec(ctx, db.d.migrationLock); err != nil {
				return err
			}
		}
		var has24, has25 int
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = 24").Scan(&has24); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = 25").Scan(&has25); err != nil {
			return err
		}
		if has24 > 0 || has25 == 0 {
			return nil
		}
		_, err := tx.exec(ctx, "UPDATE schema_migrations SET version = 24 WHERE version = 25")
		return err
	})
}

// refuseNewer refuses a database that records a migration newer than any
// of files: a newer apicron migrated it, and this one would read and write
// a schema it does not know.
func (db *DB) refuseNewer(ctx context.Context, files []migrationFile) error {
	var newest sql.NullInt64
	if err := db.r.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&newest); err != nil {
		return err
	}
	known := 0
	for _, f := range files {
		known = max(known, f.version)
	}
	if newest.Valid && newest.Int64 > int64(known) {
		return fmt.Errorf("the database was migrated by a newer apicron (migration %04d; this apicron knows up to %04d): "+
			"run that apicron, or restore the backup taken before the upgrade", newest.Int64, known)
	}
	return nil
}

// Migration is one numbered schema migration and whether a database has
// applied it.
type Migration struct {
	Version int
	// Name is the migration's file, e.g. 0001_init.sql; "" for one the
	// database records and this apicron does not know (a newer apicron
	// applied it).
	Name string
	// AppliedAt is when it was applied; nil while it is pending.
	AppliedAt *time.Time
}

// Pending returns the migrations of list not applied yet.
func Pending(list []Migration) []Migration {
	var out []Migration
	for _, m := range list {
		if m.AppliedAt == nil {
			out = append(out, m)
		}
	}
	return out
}

// Migrations lists the migrations of the database cfg names, applied and
// pending, by version, and any the database records that this apicron
// does not know. It changes nothing, takes no lock apicron holds (a
// running apicron may have the database open) and creates no SQLite file:
// a database that does not exist yet has every migration pending.
func Migrations(ctx context.Context, cfg Config) ([]Migration, error) {
	var (
		c       *sql.DB
		dialect string
		err     error
	)
	switch cfg.Driver {
	case "sqlite", "":
		dialect = "sqlite"
		if _, serr := os.Stat(cfg.DSN); errors.Is(serr, fs.ErrNotExist) {
			return mergeMigrations(dialect, nil)
		}
		c, err = sql.Open("sqlite", "file:"+cfg.DSN+"?mode=ro&_pragma=busy_timeout(10000)")
	case "postgres":
		dialect = "postgres"
		c, err = sql.Open("pgx", cfg.DSN)
	default:
		return nil, fmt.Errorf("unknown database driver %q", cfg.Driver)
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	applied, err := appliedMigrations(ctx, c, dialect)
	if err != nil {
		return nil, err
	}
	return mergeMigrations(dialect, applied)
}

// appliedMigrations reads schema_migrations through c: version to when it
// was applied, empty when the table does not exist.
func appliedMigrations(ctx context.Context, c interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, dialect string) (map[int]time.Time, error) {
	exists := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	if dialect == "postgres" {
		exists = "SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE t IS NOT NULL"
	}
	var n int
	if err := c.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return nil, fmt.Errorf("read the database: %w", err)
	}
	out := map[int]time.Time{}
	if n == 0 {
		return out, nil
	}
	// Version 0 is the write probe's row, never committed.
	rows, err := c.QueryContext(ctx, "SELECT version, applied_at FROM schema_migrations WHERE version > 0")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v, at int64
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		out[int(v)] = fromMs(at)
	}
	return out, rows.Err()
}

// mergeMigrations lists dialect's migrations with the applied ones marked,
// then those applied that it does not know, by version.
func mergeMigrations(dialect string, applied map[int]time.Time) ([]Migration, error) {
	files, err := migrationFiles(dialect)
	if err != nil {
		return nil, err
	}
	out := make([]Migration, 0, len(files))
	known := map[int]bool{}
	for _, f := range files {
		m := Migration{Version: f.version, Name: f.name}
		if at, ok := applied[f.version]; ok {
			m.AppliedAt = &at
		}
		known[f.version] = true
		out = append(out, m)
	}
	for v, at := range applied {
		if !known[v] {
			out = append(out, Migration{Version: v, AppliedAt: &at})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// checkMigrated refuses a database with pending migrations, for Open
// with Config.NoMigrate.
func (db *DB) checkMigrated(ctx context.Context) error {
	applied, err := appliedMigrations(ctx, db.r, db.d.name)
	if err != nil {
		return err
	}
	list, err := mergeMigrations(db.d.name, applied)
	if err != nil {
		return err
	}
	files, err := migrationFiles(db.d.name)
	if err != nil {
		return err
	}
	if err := db.refuseNewer(ctx, files); err != nil {
		return err
	}
	pending := Pending(list)
	if len(pending) == 0 {
		return nil
	}
	names := make([]string, len(pending))
	for i, m := range pending {
		names[i] = m.Name
	}
	return &PendingError{Names: names}
}

// PendingError is Open's error, with Config.NoMigrate, on a database that
// has migrations to apply.
type PendingError struct {
	Names []string // the pending migrations' files, in order
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("the database has %d pending migration(s) (%s) and AUTO_MIGRATE is false: "+
		"apply them with apicron migrate up, or set AUTO_MIGRATE=true", len(e.Names), strings.Join(e.Names, ", "))
}
