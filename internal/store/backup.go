package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/apicron/apicron"
)

// Backup writes a consistent copy of the SQLite database cfg names to the
// new file to, while apicron may be running on it: SQLite's VACUUM INTO
// reads the database in one read transaction, a snapshot that the writer's
// commits meanwhile do not change, and writes it out compacted. It takes
// no lock apicron holds and writes nothing to the database.
//
// The copy is written to a temporary file beside to, synced and renamed to
// to, so to is either absent or complete. An existing to is never
// overwritten: that is an ECONFLICT error, and so is a to created by
// someone else meanwhile. The copy is an ordinary apicron database: Open it
// (or point DATABASE_URL at it) to restore it.
//
// PostgreSQL is not backed up here: its own tools do it (pg_dump takes the
// whole database in one snapshot); the error, EINVALID, says so.
func Backup(ctx context.Context, cfg Config, to string) error {
	switch cfg.Driver {
	case "sqlite", "":
	case "postgres":
		return apicron.Errorf(apicron.EINVALID, "PostgreSQL databases are not backed up by apicron: use pg_dump, "+
			"which takes the whole database in one snapshot: pg_dump --format=custom --file=apicron.dump \"$DATABASE_URL\", "+
			"restored with pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" apicron.dump")
	default:
		return fmt.Errorf("unknown database driver %q", cfg.Driver)
	}
	if to == "" {
		return apicron.Invalid("to", "name the file to write the backup to")
	}
	src, err := filepath.Abs(cfg.DSN)
	if err != nil {
		return err
	}
	dst, err := filepath.Abs(to)
	if err != nil {
		return err
	}
	if src == dst {
		return apicron.Errorf(apicron.ECONFLICT, "the backup %s is the database itself; name a new file", to)
	}
	if _, err := os.Lstat(dst); err == nil {
		return apicron.Errorf(apicron.ECONFLICT, "%s already exists; a backup never overwrites a file: remove it or name a new one", to)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return apicron.Errorf(apicron.ENOTFOUND, "database %s does not exist (DATABASE_URL)", cfg.DSN)
		}
		return err
	}
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create the backup beside %s: %w", to, err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmpName)
		}
	}()
	if err := vacuumInto(ctx, src, tmpName); err != nil {
		return err
	}
	if err := syncFile(tmpName); err != nil {
		return fmt.Errorf("sync the backup: %w", err)
	}
	if err := renameNoReplace(tmpName, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return apicron.Errorf(apicron.ECONFLICT, "%s was created while the backup was written; it is left as it is", to)
		}
		return fmt.Errorf("rename the backup to %s: %w", to, err)
	}
	done = true
	if err := syncFile(dir); err != nil {
		return fmt.Errorf("sync the directory of the backup: %w", err)
	}
	return nil
}

// vacuumInto copies the database at src into the empty file dst with
// VACUUM INTO, on a connection of its own. It opens src without creating
// it and without the single-process lock; query_only keeps it from
// writing to the database (VACUUM INTO writes dst alone).
func vacuumInto(ctx context.Context, src, dst string) error {
	c, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	var n int
	if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&n); err != nil {
		return fmt.Errorf("read database %s: %w", src, err)
	}
	if n == 0 {
		return apicron.Errorf(apicron.EINVALID, "%s is not an apicron database (it has no schema_migrations table)", src)
	}
	if _, err := c.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("copy database %s: %w", src, err)
	}
	return nil
}

// syncFile flushes the file or directory name to disk.
func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// renameNoReplace moves from to to unless to exists, in one step where the
// file system can: a hard link fails if to exists; where links are not
// supported, a check and a rename follow.
func renameNoReplace(from, to string) error {
	err := os.Link(from, to)
	if err == nil {
		return os.Remove(from)
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	var le *os.LinkError
	if errors.As(err, &le) && (errors.Is(le.Err, syscall.EPERM) || errors.Is(le.Err, syscall.ENOTSUP) ||
		errors.Is(le.Err, syscall.EXDEV) || errors.Is(le.Err, syscall.ENOSYS)) {
		if _, serr := os.Lstat(to); serr == nil {
			return fs.ErrExist
		}
		return os.Rename(from, to)
	}
	return err
}
