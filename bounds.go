package apicron

import "time"

// onceAt is a ONCE schedule's timetable: one occurrence, at At.
type onceAt struct{ At time.Time }

func (o onceAt) Next(t time.Time) time.Time {
	if t.Before(o.At) {
		return o.At
	}
	return time.Time{}
}

func (o onceAt) Last(t time.Time) time.Time {
	if t.Before(o.At) {
		return time.Time{}
	}
	return o.At
}

func (o onceAt) Count(from, to time.Time) int64 {
	if !o.At.Before(from) && o.At.Before(to) {
		return 1
	}
	return 0
}

// bounded keeps the occurrences of a timetable in [Start, End): start_at
// and end_at. A zero bound does not bound.
type bounded struct {
	Timetable
	Start, End time.Time
}

func (b bounded) Next(t time.Time) time.Time {
	if !b.Start.IsZero() && t.Before(b.Start) {
		t = b.Start.Add(-time.Nanosecond) // first occurrence at or after Start
	}
	at := b.Timetable.Next(t)
	if at.IsZero() || (!b.End.IsZero() && !at.Before(b.End)) {
		return time.Time{}
	}
	return at
}

func (b bounded) Last(t time.Time) time.Time {
	if !b.End.IsZero() && !t.Before(b.End) {
		t = b.End.Add(-time.Nanosecond)
	}
	at := b.Timetable.Last(t)
	if at.IsZero() || (!b.Start.IsZero() && at.Before(b.Start)) {
		return time.Time{}
	}
	return at
}

func (b bounded) Count(from, to time.Time) int64 {
	if !b.Start.IsZero() && from.Before(b.Start) {
		from = b.Start
	}
	if !b.End.IsZero() && to.After(b.End) {
		to = b.End
	}
	if !to.After(from) {
		return 0
	}
	return b.Timetable.Count(from, to)
}

// MaxJitterSeconds is the largest jitter_seconds.
const MaxJitterSeconds = 3600

// Jitter is the delay of schedule id's occurrence at: a pseudo-random
// duration in [0, seconds) at millisecond steps, derived from the pair alone
// (a SplitMix64 hash), so every node and every restart computes the same one.
func Jitter(id int64, at time.Time, seconds int) time.Duration {
	if seconds <= 0 {
		return 0
	}
	x := uint64(id)*0x9E3779B97F4A7C15 ^ uint64(at.UnixMilli())
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return time.Duration(x%uint64(seconds*1000)) * time.Millisecond
}

// FireAt is when s's occurrence at is sent: at, delayed by its jitter.
func (s *Schedule) FireAt(at time.Time) time.Time {
	return at.Add(Jitter(s.ID, at, s.JitterSeconds))
}
