package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// openFiles counts this process's open descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

// A SQLite store with every connection busy at once, the writer in a
// transaction, every reader in one and the checkpointer at work, holds no
// more descriptors than MaxFiles says. Not parallel: other tests' files
// would be counted.
func TestMaxFiles_SQLite(t *testing.T) {
	ctx := context.Background()
	before := openFiles(t)
	db, err := Open(ctx, Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "files.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Rollback()
	if _, err := w.ExecContext(ctx, "CREATE TABLE files_probe (x)"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000) INSERT INTO files_probe SELECT x FROM n"); err != nil {
		t.Fatal(err)
	}
	var readers []*sql.Tx
	for range sqliteReaders {
		r, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Rollback()
		var n int
		if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, r)
	}
	if _, _, err := checkpoint(ctx, db.ckpt); err != nil {
		t.Fatal(err)
	}
	held := openFiles(t) - before
	if held > MaxFiles("sqlite") {
		t.Errorf("the store holds %d descriptors with %d readers, the writer and the checkpointer busy; MaxFiles says %d",
			held, len(readers), MaxFiles("sqlite"))
	}
	t.Logf("%d descriptors held, MaxFiles %d", held, MaxFiles("sqlite"))
}
