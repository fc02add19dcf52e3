package histcheck

import (
	"maps"
	"slices"

	"github.com/apicron/apicron"
)

// tally is what the rows say one scope's counters must hold.
type tally struct {
	finished        int64
	missed, skipped int64
}

// checkCounters is invariant 5: each schedule's run_stats counts its
// finished runs by outcome, and its missed and skipped_overlap are its
// misses rows (an overlap row counts Missed + 1 occurrences: one skipped,
// the rest coalesced into it, as the claim counts them); scope 0 counts
// every finished run.
//
// A deleted schedule takes its run_stats row and misses rows with it, but
// not its runs nor scope 0's counts: its runs still count in scope 0, and
// scope 0's missed and skipped_overlap may exceed the rows left (never
// fall short of them).
func (c *checker) checkCounters() {
	per := map[int64]*tally{}
	at := func(id int64) *tally {
		if per[id] == nil {
			per[id] = &tally{}
		}
		return per[id]
	}
	all := at(0)
	for id := range c.snap.stats {
		at(id) // a row with nothing to count must count nothing
	}
	for _, r := range c.snap.runs {
		if r.status != apicron.Running {
			at(r.schedule).finished++
			all.finished++
		}
	}
	for id, misses := range c.snap.misses {
		t := at(id)
		for _, m := range misses {
			if m.reason == apicron.MissOverlap {
				t.skipped++
				t.missed += m.count - 1
			} else {
				t.missed += m.count
			}
		}
		all.missed, all.skipped = all.missed+t.missed, all.skipped+t.skipped
	}
	for _, id := range slices.Sorted(maps.Keys(per)) {
		c.checkScope(id, per[id])
	}
}

func (c *checker) checkScope(id int64, want *tally) {
	got := c.snap.stats[id]
	if got == nil {
		if _, exists := c.snap.schedules[id]; (exists || id == 0) && (want.finished > 0 || want.missed > 0 || want.skipped > 0) {
			c.violate(Counters, id, 0, 0, "no run_stats row for %d finished runs, %d missed and %d skipped", want.finished, want.missed, want.skipped)
		}
		return // a deleted schedule's row went with it
	}
	if got.outcomes != want.finished {
		c.violate(Counters, id, 0, 0, "run_stats scope %d counts %d finished runs by outcome; runs holds %d", id, got.outcomes, want.finished)
	}
	if id == 0 {
		if got.missed < want.missed || got.skipped < want.skipped {
			c.violate(Counters, 0, 0, 0, "run_stats scope 0 counts %d missed and %d skipped; the misses rows hold at least %d and %d",
				got.missed, got.skipped, want.missed, want.skipped)
		}
		return
	}
	if got.missed != want.missed || got.skipped != want.skipped {
		c.violate(Counters, id, 0, 0, "run_stats counts %d missed and %d skipped; its misses rows hold %d and %d",
			got.missed, got.skipped, want.missed, want.skipped)
	}
}
