package store_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// The claim's and the result write's joins with VALUES read schedules and
// run_stats by their keys on PostgreSQL: with 10,000 schedules and fresh
// statistics, a piece of 256 planned without its keys listed read the
// whole table (a sequential scan and a hash join), a cost that grows with
// the table, not the batch.
func TestClaim_JoinsReadByKeyOnPostgres(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		if driver != "postgres" {
			t.Skip("SQLite looks each row of VALUES up by its rowid")
		}
		dsn := storetest.NewDSN(t, driver)
		db := storetest.OpenDSN(t, driver, dsn, store.Config{Shared: true, NodeID: "plan", Clock: storetest.NewClock(t0)})
		tg := mustCreateTarget(t, db)
		rawExec(t, driver, dsn, `INSERT INTO schedules (name, target_id, schedule_type, interval_seconds, status, anchor_at, next_run_at, created_at, updated_at)
			SELECT 's' || g, `+strconv.FormatInt(tg.ID, 10)+`, 'INTERVAL', 1, 'ACTIVE', 0, g, 0, 0 FROM generate_series(1, 10000) g`)
		rawExec(t, driver, dsn, "INSERT INTO run_stats (scope) SELECT id FROM schedules ON CONFLICT DO NOTHING")
		rawExec(t, driver, dsn, "ANALYZE schedules")
		rawExec(t, driver, dsn, "ANALYZE run_stats")
		var keys []int64
		for id := int64(1000); len(keys) < 256; id += 37 {
			keys = append(keys, id)
		}
		for _, j := range db.KeyedJoins(keys) {
			rows, err := db.Writer().Query("EXPLAIN "+j.SQL, j.Args...)
			if err != nil {
				t.Fatalf("%s: %v", j.Name, err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "\n")
			if strings.Contains(all, "Seq Scan on schedules") || strings.Contains(all, "Seq Scan on run_stats") {
				t.Errorf("%s: plan\n%s", j.Name, all)
			}
		}
	})
}
