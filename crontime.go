package apicron

import (
	"math/bits"
	"sync"
	"time"
	_ "time/tzdata" // zones are the same on a machine without a zoneinfo database
)

// CronTimetable is the occurrences of a cron expression on the wall clock
// of a time zone. The DST rules, the same for the engine, the preview and
// every node:
//
//   - A wall-clock time that does not exist (spring forward) fires once, at
//     the first instant after the gap: 02:30 in America/New_York on
//     2026-03-08 fires at 03:00 EDT. Several matching times in one gap fire
//     once, together.
//   - A wall-clock time that happens twice (fall back) fires once, at the
//     first of the two, unless the hour field matches every hour (* or a
//     step through all of them): then it fires at each real instant, so an
//     hourly or every-minute job keeps its pace through the change.
//
// Occurrences are whole seconds.
type CronTimetable struct {
	Expr *CronExpr
	Loc  *time.Location
}

var _ Timetable = CronTimetable{}

// DST rules an occurrence can carry.
const (
	// DSTGap: the wall-clock time does not exist that day; the occurrence
	// is the first instant after the gap.
	DSTGap = "gap"
	// DSTFirstOfTwo: the wall-clock time happens twice; the expression
	// fires at the first only.
	DSTFirstOfTwo = "first_of_two"
	// DSTBothFirst and DSTBothSecond: the wall-clock time happens twice and,
	// the hour field matching every hour, the expression fires at both.
	DSTBothFirst  = "both_first"
	DSTBothSecond = "both_second"
)

// Occurrence is one planned fire time and the DST rule that placed it, if any.
type Occurrence struct {
	At  time.Time
	DST string
}

// cronHorizon bounds a search for the next or previous match. The rarest
// dates recur within it (29 February skips a leap year at most once in 8 years).
const cronHorizon = 10 * 366 * 24 * time.Hour

// Next implements Timetable.
func (ct CronTimetable) Next(t time.Time) time.Time { return ct.NextOccurrence(t).At }

// Last implements Timetable.
func (ct CronTimetable) Last(t time.Time) time.Time { return ct.prev(t).At.UTC() }

// wall is t's wall clock in the zone, as a UTC time ("civil" time).
func (ct CronTimetable) wall(t time.Time) time.Time {
	y, mo, d := t.In(ct.Loc).Date()
	h, m, s := t.In(ct.Loc).Clock()
	return time.Date(y, mo, d, h, m, s, 0, time.UTC)
}

// instants maps a civil time to the instants it names: the first (for a
// time in a gap, the instant the gap ends), and the second when it happens twice.
func (ct CronTimetable) instants(c time.Time) (first, second time.Time, gap bool) {
	y, mo, d := c.Date()
	h, m, s := c.Clock()
	t := time.Date(y, mo, d, h, m, s, 0, ct.Loc)
	if w := ct.wall(t); !w.Equal(c) {
		start, end := t.ZoneBounds()
		if w.After(c) {
			return start, time.Time{}, true
		}
		return end, time.Time{}, true
	}
	start, end := t.ZoneBounds()
	for _, edge := range []time.Time{start.Add(-time.Second), end} {
		if edge.Year() <= 1 { // zero bound: no transition that way
			continue
		}
		_, off := edge.In(ct.Loc).Zone()
		alt := time.Unix(c.Unix()-int64(off), 0)
		if !alt.Equal(t) && ct.wall(alt).Equal(c) {
			if alt.Before(t) {
				return alt, t, false
			}
			return t, alt, false
		}
	}
	return t, time.Time{}, false
}

// fallBack describes a DST change that repeats wall-clock time: instants
// [at, at+d) show the civil times [from, from+d) a second time.
type fallBack struct {
	at   time.Time
	from time.Time // civil
	d    time.Duration
}

// fallBackAt returns the fall back starting at the zone period that begins
// at start, if that change set clocks back.
func (ct CronTimetable) fallBackAt(start time.Time) (fallBack, bool) {
	if start.Year() <= 1 {
		return fallBack{}, false
	}
	_, before := start.Add(-time.Second).In(ct.Loc).Zone()
	_, after := start.In(ct.Loc).Zone()
	if after >= before {
		return fallBack{}, false
	}
	return fallBack{at: start, from: ct.wall(start), d: time.Duration(before-after) * time.Second}, true
}

// NextOccurrence returns the first occurrence strictly after t, with the
// DST rule that placed it; At is zero when there is none within the horizon.
func (ct CronTimetable) NextOccurrence(t time.Time) Occurrence {
	o := ct.next(time.Unix(t.Unix(), 0).In(ct.Loc)) // whole seconds, rounded down
	o.At = o.At.UTC()
	return o
}

func (ct CronTimetable) next(t time.Time) Occurrence {
	wt := ct.wall(t)
	start := wt.Add(time.Second)
	zoneStart, _ := t.ZoneBounds()
	inSecondPass := false
	if fb, ok := ct.fallBackAt(zoneStart); ok && t.Before(fb.at.Add(fb.d)) {
		// t is in a repeated hour's second pass: the first instances of the
		// times still to come in it are past.
		inSecondPass = true
		if end := fb.from.Add(fb.d); start.Before(end) {
			start = end
		}
	}
	limit := start.Add(cronHorizon)
	var best Occurrence
	for {
		c, ok := ct.Expr.nextCivil(start, limit)
		if !ok {
			break
		}
		first, second, gap := ct.instants(c)
		if first.After(t) {
			best = Occurrence{At: first}
			switch {
			case gap:
				best.DST = DSTGap
			case !second.IsZero() && ct.Expr.allHours():
				best.DST = DSTBothFirst
			case !second.IsZero():
				best.DST = DSTFirstOfTwo
			}
			break
		}
		start = c.Add(time.Second)
	}
	if !ct.Expr.allHours() {
		return best
	}
	// Second instances of repeated times, in each fall back from t on.
	at := t
	for i := 0; i < 64; i++ {
		zs, ze := at.ZoneBounds()
		if fb, ok := ct.fallBackAt(zs); ok && t.Before(fb.at.Add(fb.d)) && (best.At.IsZero() || fb.at.Before(best.At)) {
			lo := fb.from
			if inSecondPass && !wt.Add(time.Second).Before(lo) {
				lo = wt.Add(time.Second)
			}
			if c, ok := ct.Expr.nextCivil(lo, fb.from.Add(fb.d)); ok {
				_, off := fb.at.In(ct.Loc).Zone()
				o := time.Unix(c.Unix()-int64(off), 0)
				if o.After(t) && (best.At.IsZero() || o.Before(best.At)) {
					return Occurrence{At: o, DST: DSTBothSecond}
				}
			}
		}
		if ze.Year() <= 1 || (!best.At.IsZero() && !ze.Before(best.At)) {
			break
		}
		at = ze
	}
	return best
}

// prev returns the latest occurrence at or before t, or a zero At.
func (ct CronTimetable) prev(t time.Time) Occurrence {
	t = time.Unix(t.Unix(), 0).In(ct.Loc) // whole seconds, rounded down
	wt := ct.wall(t)
	start := wt
	zoneStart, _ := t.ZoneBounds()
	fb, inSecondPass := ct.fallBackAt(zoneStart)
	inSecondPass = inSecondPass && t.Before(fb.at.Add(fb.d))
	if inSecondPass {
		// Every first instance of the repeated times is before t.
		start = fb.from.Add(fb.d - time.Second)
	}
	limit := start.Add(-cronHorizon)
	var best Occurrence
	for {
		c, ok := ct.Expr.prevCivil(start, limit)
		if !ok {
			break
		}
		first, _, _ := ct.instants(c)
		if !first.After(t) {
			best = Occurrence{At: first}
			break
		}
		start = c.Add(-time.Second)
	}
	if !ct.Expr.allHours() {
		return best
	}
	at := t
	for i := 0; i < 64; i++ {
		zs, _ := at.ZoneBounds()
		if zs.Year() <= 1 {
			break
		}
		if fb, ok := ct.fallBackAt(zs); ok && !fb.at.After(t) && (best.At.IsZero() || fb.at.Add(fb.d).After(best.At)) {
			hi := fb.from.Add(fb.d - time.Second)
			if t.Before(fb.at.Add(fb.d)) {
				hi = wt
			}
			if c, ok := ct.Expr.prevCivil(hi, fb.from); ok {
				_, off := fb.at.In(ct.Loc).Zone()
				o := time.Unix(c.Unix()-int64(off), 0)
				if best.At.IsZero() || o.After(best.At) {
					return Occurrence{At: o, DST: DSTBothSecond}
				}
			}
		}
		if !best.At.IsZero() && !zs.After(best.At) {
			break
		}
		at = zs.Add(-time.Second)
	}
	return best
}

// Count implements Timetable. Whole days without a DST change are counted
// at once, so a long gap costs a step per day, not per occurrence.
func (ct CronTimetable) Count(from, to time.Time) int64 {
	var n int64
	t := from.Add(-time.Nanosecond)
	for {
		o := ct.Next(t)
		if o.IsZero() || !o.Before(to) {
			return n
		}
		// The day o falls on, if t is before it, it has no DST change and it
		// ends before to, is counted whole.
		w := ct.wall(o)
		day := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
		dayStart := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, ct.Loc)
		dayEnd := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, ct.Loc)
		if t.Before(dayStart) && !dayEnd.After(to) && ct.wall(dayStart).Equal(day) &&
			ct.wall(dayEnd).Equal(day.AddDate(0, 0, 1)) && ct.steady(dayStart, dayEnd) {
			n += ct.Expr.perDay()
			t = dayEnd.Add(-time.Nanosecond)
			continue
		}
		n++
		t = o
	}
}

// steady reports whether the zone's offset is the same over [from, to).
func (ct CronTimetable) steady(from, to time.Time) bool {
	_, end := from.ZoneBounds()
	return end.Year() <= 1 || !end.Before(to)
}

// dayMatches applies the day-of-month and day-of-week fields to one civil day.
func (c *CronExpr) dayMatches(d time.Time) bool {
	if c.month&(1<<uint(d.Month())) == 0 {
		return false
	}
	dom := c.dom&(1<<uint(d.Day())) != 0
	dow := c.dow&(1<<uint(d.Weekday())) != 0
	if c.domStar || c.dowStar {
		return dom && dow
	}
	return dom || dow
}

// nextBit returns the lowest set bit of set at or above from, or -1.
func nextBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	rest := set >> uint(from) << uint(from)
	if rest == 0 {
		return -1
	}
	return bits.TrailingZeros64(rest)
}

// prevBit returns the highest set bit of set at or below from, or -1.
func prevBit(set uint64, from int) int {
	if from < 0 {
		return -1
	}
	var mask uint64 = 1<<uint(from+1) - 1
	if from >= 63 {
		mask = ^uint64(0)
	}
	rest := set & mask
	if rest == 0 {
		return -1
	}
	return 63 - bits.LeadingZeros64(rest)
}

// nextCivil returns the first matching civil time at or after c and before limit.
func (c *CronExpr) nextCivil(t, limit time.Time) (time.Time, bool) {
	if t.Nanosecond() != 0 {
		t = t.Truncate(time.Second).Add(time.Second)
	}
	for t.Before(limit) {
		y, mo, d := t.Date()
		if c.month&(1<<uint(mo)) == 0 {
			t = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if c.dayMatches(t) {
			h, m, s := t.Clock()
			if hh, mm, ss, ok := c.timeAtOrAfter(h, m, s); ok {
				r := time.Date(y, mo, d, hh, mm, ss, 0, time.UTC)
				if r.Before(limit) {
					return r, true
				}
				return time.Time{}, false
			}
		}
		t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}, false
}

// prevCivil returns the last matching civil time at or before t and at or after limit.
func (c *CronExpr) prevCivil(t, limit time.Time) (time.Time, bool) {
	t = t.Truncate(time.Second)
	for !t.Before(limit) {
		y, mo, d := t.Date()
		if c.month&(1<<uint(mo)) == 0 {
			t = time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC).Add(-time.Second)
			continue
		}
		if c.dayMatches(t) {
			h, m, s := t.Clock()
			if hh, mm, ss, ok := c.timeAtOrBefore(h, m, s); ok {
				r := time.Date(y, mo, d, hh, mm, ss, 0, time.UTC)
				if !r.Before(limit) {
					return r, true
				}
				return time.Time{}, false
			}
		}
		t = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Add(-time.Second)
	}
	return time.Time{}, false
}

// timeAtOrAfter returns the first matching time of day at or after h:m:s.
func (c *CronExpr) timeAtOrAfter(h, m, s int) (int, int, int, bool) {
	for hh := nextBit(uint64(c.hour), h); hh >= 0; hh = nextBit(uint64(c.hour), hh+1) {
		m0 := 0
		if hh == h {
			m0 = m
		}
		for mm := nextBit(c.minute, m0); mm >= 0; mm = nextBit(c.minute, mm+1) {
			s0 := 0
			if hh == h && mm == m {
				s0 = s
			}
			if ss := nextBit(c.second, s0); ss >= 0 {
				return hh, mm, ss, true
			}
		}
	}
	return 0, 0, 0, false
}

// timeAtOrBefore returns the last matching time of day at or before h:m:s.
func (c *CronExpr) timeAtOrBefore(h, m, s int) (int, int, int, bool) {
	for hh := prevBit(uint64(c.hour), h); hh >= 0; hh = prevBit(uint64(c.hour), hh-1) {
		m0 := 59
		if hh == h {
			m0 = m
		}
		for mm := prevBit(c.minute, m0); mm >= 0; mm = prevBit(c.minute, mm-1) {
			s0 := 59
			if hh == h && mm == m {
				s0 = s
			}
			if ss := prevBit(c.second, s0); ss >= 0 {
				return hh, mm, ss, true
			}
		}
	}
	return 0, 0, 0, false
}

// locCache holds loaded time zones: time.LoadLocation reads the zone
// database each time it is called.
var locCache sync.Map // string -> *time.Location

// LoadZone loads an IANA time zone by name, from a cache. The error is an
// EINVALID on field.
func LoadZone(field, name string) (*time.Location, error) {
	if l, ok := locCache.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, Invalid(field, "must be an IANA time zone name such as UTC or Europe/Paris, got %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Invalid(field, "unknown time zone %q: use an IANA name such as UTC, America/New_York or Europe/Paris", name)
	}
	locCache.Store(name, loc)
	return loc, nil
}
