package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

// migrationsTableSQL creates the table that records applied migrations.
const migrationsTableSQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`

// migrate applies, in order and each in its own transaction, the numbered
// migrations of the dialect that are not yet recorded in schema_migrations.
// Migrations are append-only: a released one is never edited.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, migrationsTableSQL); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	dir := path.Join("migrations", db.d.name)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		body, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		err = db.write(ctx, func(tx *tx) error {
			if db.d.migrationLock != "" {
				// Several nodes may start at once; one migrates, the others wait.
				if _, err := tx.exec(ctx, db.d.migrationLock); err != nil {
					return err
				}
			}
			var n int
			if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", e.Name(), err)
			}
			_, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, ms(tx.now))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
