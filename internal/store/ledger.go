package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/apicron/apicron"
)

// maxLedgerRuns bounds the runs a ledger reads: a few more than the
// occurrences it lists, for the runs at other instants (manual ones).
const maxLedgerRuns = 2 * apicron.MaxLedger

// maxLedgerEvents bounds the events a ledger reads, the newest.
const maxLedgerEvents = 10_000

// Ledger implements apicron.Store: what became of each occurrence of
// schedule id in [since, until), from its runs, misses and events, read in
// one transaction.
func (db *DB) Ledger(ctx context.Context, id int64, since, until, now time.Time) (*apicron.Schedule, []apicron.LedgerEntry, bool, error) {
	var (
		s       *apicron.Schedule
		runs    []*apicron.Run
		misses  []apicron.Miss
		entries []apicron.LedgerEntry
		more    bool
	)
	err := db.read(ctx, func(tx *tx) (err error) {
		if s, err = findSchedule(ctx, tx, id, false); err != nil {
			return err
		}
		q, args := tx.d.scheduleRuns(runColumns, id, []string{"{at} >= ?", "{at} < ?"}, []any{ms(since), ms(until)}, "ASC", maxLedgerRuns, 0)
		if runs, err = queryRuns(ctx, tx, q, args...); err != nil {
			return err
		}
		// Misses overlapping the range: they start before its end and end after its start.
		rows, err := tx.query(ctx, `SELECT from_at, until_at, count, reason, run_id, lateness_ms, at, cause FROM misses
			WHERE schedule_id = ? AND from_at < ? AND until_at > ? ORDER BY from_at LIMIT ?`, id, ms(until), ms(since), maxLedgerRuns)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				m                  apicron.Miss
				from, to, late, at int64
				run                sql.NullInt64
			)
			if err := rows.Scan(&from, &to, &m.Count, &m.Reason, &run, &late, &at, &m.Cause); err != nil {
				rows.Close()
				return err
			}
			m.ScheduleID, m.From, m.Until, m.RunID = id, fromMs(from), fromMs(to), run.Int64
			m.Lateness, m.At = time.Duration(late)*time.Millisecond, fromMs(at)
			misses = append(misses, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The runs coalesced misses point at may lie after the range.
		for _, m := range misses {
			if m.RunID != 0 && !hasRun(runs, m.RunID) {
				r, err := scanRun(tx.queryRow(ctx, "SELECT "+runColumns+" FROM runs WHERE id = ?", m.RunID), false)
				if err == nil {
					runs = append(runs, r)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	events, err := db.FindEvents(ctx, id, 0, maxLedgerEvents)
	if err != nil {
		return nil, nil, false, err
	}
	entries, more = apicron.BuildLedger(s, runs, misses, events, since, until, now)
	return s, entries, more, nil
}

func hasRun(runs []*apicron.Run, id int64) bool {
	for _, r := range runs {
		if r.ID == id {
			return true
		}
	}
	return false
}
