package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// Batched statements (a claim's reads and writes, a result batch's updates)
// carry one row of values per item. Their SQL is built for sizes that are
// powers of two, up to maxBatchRows, and a batch of any other size is cut
// into such pieces, largest first (300 = 256 + 32 + 8 + 4): the database
// then sees a handful of distinct statement texts, which it parses once and
// keeps prepared, instead of a new text, parsed anew, for every batch. With
// SQLite the parsing of large VALUES lists was a fifth of the engine's CPU.
const maxBatchRows = 256

// batchPiece is the size of the next piece of a batch with n items left.
func batchPiece(n int) int {
	p := maxBatchRows
	for p > n {
		p >>= 1
	}
	return p
}

// batchSQL builds and caches one batched statement's text per piece size.
type batchSQL struct {
	build func(n int) string
	once  [9]sync.Once // one per power of two up to maxBatchRows
	text  [9]string
}

func newBatchSQL(build func(n int) string) *batchSQL { return &batchSQL{build: build} }

// lockedBatchSQL is a batched read in two variants: as built, and with the
// row lock PostgreSQL takes (SQLite's single writer needs none).
type lockedBatchSQL struct{ plain, locked *batchSQL }

func newLockedBatchSQL(build func(n int) string, lock string) lockedBatchSQL {
	return lockedBatchSQL{newBatchSQL(build), newBatchSQL(func(n int) string { return build(n) + lock })}
}

// sql returns the variant for d, for n rows.
func (l lockedBatchSQL) sql(d dialect, n int) string {
	if d.forUpdate == "" {
		return l.plain.sql(n)
	}
	return l.locked.sql(n)
}

// dialectBatchSQL is a batched statement whose text depends on the
// dialect: build reads what it needs of d (forUpdate, listKeys), and the
// texts are cached for each combination of the two.
type dialectBatchSQL struct {
	build func(d dialect, n int) string
	once  [4]sync.Once
	texts [4]*batchSQL
}

func newDialectBatchSQL(build func(d dialect, n int) string) *dialectBatchSQL {
	return &dialectBatchSQL{build: build}
}

// sql returns the statement for d, for n rows.
func (b *dialectBatchSQL) sql(d dialect, n int) string {
	i := 0
	if d.forUpdate != "" {
		i |= 1
	}
	if d.listKeys {
		i |= 2
	}
	b.once[i].Do(func() { b.texts[i] = newBatchSQL(func(n int) string { return b.build(d, n) }) })
	return b.texts[i].sql(n)
}

// listedKeys is the condition " AND column IN (?, ...)" of n placeholders
// that a batched join adds on a dialect that lists its rows' keys
// (listKeys), else "". Their arguments follow the statement's own
// (keyedArgs).
func listedKeys(d dialect, column string, n int) string {
	if !d.listKeys {
		return ""
	}
	return " AND " + column + " IN (" + placeholders(n) + ")"
}

// keyedArgs returns args with keys appended where d lists them.
func keyedArgs(d dialect, args []any, keys []int64) []any {
	if !d.listKeys {
		return args
	}
	for _, k := range keys {
		args = append(args, k)
	}
	return args
}

// sql returns the statement for n rows; n must be a power of two <= maxBatchRows.
func (b *batchSQL) sql(n int) string {
	i := log2(n)
	b.once[i].Do(func() { b.text[i] = b.build(n) })
	return b.text[i]
}

func log2(n int) int {
	i := 0
	for n > 1 {
		n >>= 1
		i++
	}
	return i
}

// repeatRows returns n copies of row joined by ", ".
func repeatRows(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// execBatch runs a batched statement (a fixed text, ? placeholders).
func (t *tx) execBatch(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := t.stmts.stmt(ctx, t, q); s != nil {
		t.counted()
		return s.ExecContext(ctx, args...)
	}
	return t.exec(ctx, q, args...)
}

// queryBatch runs a batched query (a fixed text, ? placeholders).
func (t *tx) queryBatch(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.stmts.stmt(ctx, t, q); s != nil {
		t.counted()
		return s.QueryContext(ctx, args...)
	}
	return t.query(ctx, q, args...)
}

// forPieces calls fn for consecutive pieces [lo, hi) of n items, each a
// power of two long, largest first.
func forPieces(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		hi := lo + batchPiece(n-lo)
		if err := fn(lo, hi); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
