package store_test

import (
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// TestWriterStats: every write transaction is counted with its statements
// and the time it held the writer; reads are not. On SQLite the
// checkpointer's work shows too.
func TestWriterStats(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		db := storetest.Open(t, driver, nil)
		before := db.WriterStats()
		tg := mustCreateTarget(t, db)
		mustCreateSchedule(t, db, &apicron.Schedule{Name: "s", TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 60})
		mid := db.WriterStats()
		if d := mid.Transactions - before.Transactions; d != 2 {
			t.Errorf("%d write transactions for two creations, want 2", d)
		}
		if mid.Statements-before.Statements < 2 || mid.Busy <= before.Busy {
			t.Errorf("statements %d -> %d, busy %s -> %s: want both to grow", before.Statements, mid.Statements, before.Busy, mid.Busy)
		}
		if _, _, err := db.FindSchedules(t.Context(), apicron.ScheduleFilter{Limit: 10}); err != nil {
			t.Fatal(err)
		}
		if after := db.WriterStats(); after.Transactions != mid.Transactions || after.Statements != mid.Statements {
			t.Errorf("a read counted as a write: %+v -> %+v", mid, after)
		}
		if mid.SQLite != (driver == "sqlite") {
			t.Errorf("SQLite = %v on %s", mid.SQLite, driver)
		}
		if driver != "sqlite" {
			return
		}
		// The writes left frames in the write-ahead log: a checkpoint that
		// worked counts itself and reads the log's length.
		deadline := time.Now().Add(10 * time.Second)
		for st := db.WriterStats(); st.Checkpoints == 0 || st.WALFrames == 0; st = db.WriterStats() {
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint that saw the log within 10 s: %+v", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestSQLiteCacheSize: the writer's page cache is the one asked for, or
// DefaultSQLiteCacheMiB; readers keep SQLite's default.
func TestSQLiteCacheSize(t *testing.T) {
	for _, c := range []struct{ mib, want int }{{0, store.DefaultSQLiteCacheMiB}, {8, 8}} {
		db := storetest.OpenDSN(t, "sqlite", storetest.NewDSN(t, "sqlite"), store.Config{SQLiteCacheMiB: c.mib})
		var w, r int
		if err := db.Writer().QueryRow("PRAGMA cache_size").Scan(&w); err != nil {
			t.Fatal(err)
		}
		if err := db.Readers().QueryRow("PRAGMA cache_size").Scan(&r); err != nil {
			t.Fatal(err)
		}
		if w != -c.want*1024 || r != -2000 {
			t.Errorf("SQLiteCacheMiB %d: cache_size %d on the writer, %d on readers; want %d and -2000", c.mib, w, r, -c.want*1024)
		}
	}
}
