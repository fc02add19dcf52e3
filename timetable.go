package apicron

import "time"

// Timetable yields a schedule's occurrences. INTERVAL and WINDOW schedules use
// IntervalGrid; cron expressions and one-shot times can implement it too
// without touching the engine.
type Timetable interface {
	// Next returns the first occurrence strictly after t, or the zero time if there is none.
	Next(t time.Time) time.Time
	// Last returns the latest occurrence at or before t, or the zero time if there is none.
	Last(t time.Time) time.Time
	// Count returns how many occurrences lie in [from, to).
	Count(from, to time.Time) int64
}

// IntervalGrid has an occurrence at Anchor + k*Every for every k >= 0, before
// Until when Until is set. The grid never drifts: a late or slow run does not
// move the occurrences after it.
type IntervalGrid struct {
	Anchor time.Time
	Every  time.Duration
	Until  time.Time // zero: no end
}

var _ Timetable = IntervalGrid{}

func (g IntervalGrid) inRange(t time.Time) bool {
	return g.Until.IsZero() || t.Before(g.Until)
}

// Next implements Timetable.
func (g IntervalGrid) Next(t time.Time) time.Time {
	var at time.Time
	if t.Before(g.Anchor) {
		at = g.Anchor
	} else {
		k := t.Sub(g.Anchor)/g.Every + 1
		at = g.Anchor.Add(k * g.Every)
	}
	if !g.inRange(at) {
		return time.Time{}
	}
	return at
}

// NextAtOrAfter returns the first occurrence at or after t, ignoring Until.
func (g IntervalGrid) NextAtOrAfter(t time.Time) time.Time {
	if !t.After(g.Anchor) {
		return g.Anchor
	}
	k := (t.Sub(g.Anchor) + g.Every - 1) / g.Every
	return g.Anchor.Add(k * g.Every)
}

// Last implements Timetable.
func (g IntervalGrid) Last(t time.Time) time.Time {
	if t.Before(g.Anchor) {
		return time.Time{}
	}
	if !g.inRange(t) {
		t = g.Until.Add(-1)
		if t.Before(g.Anchor) {
			return time.Time{}
		}
	}
	k := t.Sub(g.Anchor) / g.Every
	return g.Anchor.Add(k * g.Every)
}

// Count implements Timetable.
func (g IntervalGrid) Count(from, to time.Time) int64 {
	if !g.Until.IsZero() && to.After(g.Until) {
		to = g.Until
	}
	if !to.After(from) {
		return 0
	}
	first := g.NextAtOrAfter(from)
	if !first.Before(to) {
		return 0
	}
	return int64((to.Sub(first)-1)/g.Every) + 1
}

// never is the timetable of a schedule that cannot fire (its expression no
// longer parses): it has no occurrence.
type never struct{}

func (never) Next(time.Time) time.Time         { return time.Time{} }
func (never) Last(time.Time) time.Time         { return time.Time{} }
func (never) Count(time.Time, time.Time) int64 { return 0 }
