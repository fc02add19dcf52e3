package histcheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// timetableFields are the schedule fields whose change lays out another
// timetable (the "changed" keys of an updated event).
var timetableFields = []string{"interval_seconds", "duration_seconds", "cron_expression", "timezone", "run_at", "start_at", "end_at"}

// ownTrigger reports whether a run of trigger t is one the timetable made
// by itself: those are what a schedule's span is laid from, and what may
// not also be counted as missed.
func ownTrigger(t apicron.Trigger) bool {
	return t == apicron.TriggerSchedule || t == apicron.TriggerCatchUp
}

// checkGrid is invariant 4 for every schedule with a row or runs.
func (c *checker) checkGrid() {
	ids := map[int64]bool{}
	for id := range c.snap.schedules {
		ids[id] = true
	}
	for id := range c.snap.bySchedule {
		ids[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if reason := c.gridOf(id); reason != "" {
			c.rep.Facts.SchedulesSkipped = append(c.rep.Facts.SchedulesSkipped, SkippedSchedule{ScheduleID: id, Reason: reason})
		}
	}
}

// grid is one schedule's walk.
type grid struct {
	c     *checker
	id    int64
	tt    apicron.Timetable
	runAt map[int64]*runRow
	// cover lists, per occurrence (unix ms), the reasons of the misses
	// rows that count it.
	cover  map[int64][]string
	pauses [][2]int64 // [from, to) in unix ms; to 0: still paused
}

// gridOf walks schedule id's timetable from the first occurrence its
// history decided (its first run of the timetable, or its first misses
// row) to the last, and classifies each occurrence. It returns why it
// skipped the schedule, or "".
//
// Which runs count: runs of trigger schedule and catch_up are the
// timetable's own, and lay out the span; they must be on the timetable
// and may not be counted as missed as well. Backfill runs are occurrences
// of the timetable run again: they must be on it, and account for an
// occurrence they share with a misses row (counted as Rerun). Manual runs
// are at the instant they were asked for: one on the timetable accounts
// for that occurrence (the claim then finds it taken and fires nothing),
// one off it is no occurrence (OffTimetableManual). Runs before the
// schedule's last timetable change are of another timetable and are not
// walked (BeforeChange).
func (c *checker) gridOf(id int64) string {
	row := c.snap.schedules[id]
	runs := c.snap.bySchedule[id]
	if row == nil {
		return fmt.Sprintf("no schedule row (deleted); its %d runs are held to no timetable", len(runs))
	}
	s := &row.s
	if s.Type == apicron.Cron {
		if _, err := apicron.ParseCron(s.CronExpression); err != nil {
			return fmt.Sprintf("cron expression %q does not parse: %v", s.CronExpression, err)
		}
	}
	g := &grid{c: c, id: id, tt: s.Timetable(), runAt: map[int64]*runRow{}, cover: map[int64][]string{}, pauses: pausesOf(c.snap.events[id])}
	changed := lastChange(c.snap.events[id])
	var own []*runRow
	for _, r := range runs {
		if r.scheduledAt < changed {
			c.rep.Facts.BeforeChange++
			continue
		}
		g.runAt[r.scheduledAt] = r
		if !g.on(r.scheduledAt) {
			if r.trigger == apicron.TriggerManual {
				c.rep.Facts.OffTimetableManual++
			} else {
				c.violate(OffTimetable, id, r.scheduledAt, r.id, "a %s run at an instant its %s timetable has no occurrence at", r.trigger, s.Type)
			}
			continue
		}
		if ownTrigger(r.trigger) {
			own = append(own, r)
		}
	}
	var misses []missRow
	for _, m := range c.snap.misses[id] {
		if m.from >= changed {
			misses = append(misses, m)
		}
	}
	first, last, ok := g.span(own, misses)
	if !ok {
		return "" // nothing the timetable decided: nothing to walk
	}
	if n := g.tt.Count(fromMs(first), fromMs(last+1)); n > c.opts.MaxOccurrences {
		return fmt.Sprintf("%d occurrences from its first to its last, over the %d walked", n, c.opts.MaxOccurrences)
	}
	for _, m := range misses {
		g.addMiss(m)
	}
	g.walk(first, last)
	c.rep.Facts.SchedulesChecked++
	return ""
}

// on reports whether the timetable has an occurrence at (unix ms).
func (g *grid) on(at int64) bool {
	t := fromMs(at)
	return g.tt.Next(t.Add(-time.Nanosecond)).Equal(t)
}

// span returns the first and last occurrence the history decided: the
// timetable's own runs, and the occurrences its misses rows count.
func (g *grid) span(own []*runRow, misses []missRow) (first, last int64, ok bool) {
	widen := func(at int64) {
		if !ok || at < first {
			first = at
		}
		if !ok || at > last {
			last = at
		}
		ok = true
	}
	for _, r := range own {
		widen(r.scheduledAt)
	}
	for _, m := range misses {
		if at := g.tt.Next(fromMs(m.from).Add(-time.Nanosecond)); !at.IsZero() && at.UnixMilli() < m.until {
			widen(at.UnixMilli())
		}
		if at := g.tt.Last(fromMs(m.until).Add(-time.Nanosecond)); !at.IsZero() && at.UnixMilli() >= m.from {
			widen(at.UnixMilli())
		}
	}
	return first, last, ok
}

// addMiss records the occurrences a misses row counts, and holds its count
// to them. An overlap row counts the occurrences coalesced into the
// skipped one and the skipped one last (store claim: Missed + 1).
func (g *grid) addMiss(m missRow) {
	var occ []int64
	for at := g.tt.Next(fromMs(m.from).Add(-time.Nanosecond)); !at.IsZero() && at.UnixMilli() < m.until; at = g.tt.Next(at) {
		occ = append(occ, at.UnixMilli())
	}
	if int64(len(occ)) != m.count {
		g.c.violate(MissCount, g.id, m.from, 0, "a %s misses row counts %d occurrences; its range [%s, %s) holds %d", m.reason, m.count,
			fromMs(m.from).Format(apicron.TimeFormat), fromMs(m.until).Format(apicron.TimeFormat), len(occ))
	}
	for i, at := range occ {
		reason := m.reason
		if reason == apicron.MissOverlap && i < len(occ)-1 {
			reason = apicron.MissCoalesced
		}
		g.cover[at] = append(g.cover[at], reason)
	}
}

// walk classifies each occurrence in [first, last].
func (g *grid) walk(first, last int64) {
	f := &g.c.rep.Facts
	for t := g.tt.Next(fromMs(first).Add(-time.Nanosecond)); !t.IsZero() && t.UnixMilli() <= last; t = g.tt.Next(t) {
		at := t.UnixMilli()
		f.Occurrences++
		r, cov := g.runAt[at], g.cover[at]
		switch {
		case r != nil && len(cov) > 0 && ownTrigger(r.trigger):
			f.Ran++
			g.c.violate(CountedTwice, g.id, at, r.id, "the occurrence is a %s run and counted as %s too", r.trigger, strings.Join(cov, ", "))
		case r != nil:
			f.Ran++
			if len(cov) > 0 {
				f.Rerun++ // a backfill or manual run of an occurrence counted missed
			}
		case len(cov) > 1:
			g.c.violate(CountedTwice, g.id, at, 0, "the occurrence is counted by %d misses rows: %s", len(cov), strings.Join(cov, ", "))
		case len(cov) == 1 && cov[0] == apicron.MissOverlap:
			f.Skipped++
		case len(cov) == 1:
			f.Missed++
		case g.paused(at):
			f.Paused++
		default:
			g.c.violate(Unaccounted, g.id, at, 0, "the occurrence is neither a run nor counted as missed or skipped")
		}
	}
}

func (g *grid) paused(at int64) bool {
	for _, p := range g.pauses {
		if at >= p[0] && (p[1] == 0 || at < p[1]) {
			return true
		}
	}
	return false
}

// pausesOf returns the spans a schedule was paused, from its events: a
// resume owes none of the occurrences that fell while it was paused
// (apicron.Schedule.Resume). An automatic resume takes effect at the
// pause's paused_until, however late the claim that made it.
func pausesOf(events []eventRow) [][2]int64 {
	var out [][2]int64
	for _, e := range events {
		n := len(out)
		switch e.kind {
		case apicron.EventPaused:
			if n == 0 || out[n-1][1] != 0 {
				out = append(out, [2]int64{e.at, 0})
			}
		case apicron.EventResumed:
			if n > 0 && out[n-1][1] == 0 {
				end := e.at
				if s, ok := e.detail["paused_until"].(string); ok {
					if t, err := time.Parse(time.RFC3339Nano, s); err == nil && t.UnixMilli() < end {
						end = t.UnixMilli()
					}
				}
				out[n-1][1] = max(end, out[n-1][0]+1)
			}
		}
	}
	return out
}

// lastChange returns when the schedule's timetable last changed (unix ms),
// or 0.
func lastChange(events []eventRow) int64 {
	var at int64
	for _, e := range events {
		if e.kind != apicron.EventUpdated {
			continue
		}
		changed, _ := e.detail["changed"].(map[string]any)
		for _, f := range timetableFields {
			if _, ok := changed[f]; ok {
				at = max(at, e.at)
			}
		}
	}
	return at
}
