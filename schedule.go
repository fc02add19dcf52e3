package apicron

import (
	"strings"
	"time"
)

// ScheduleType says how a schedule's occurrences are laid out in time.
type ScheduleType string

// Schedule types.
const (
	// Interval fires every IntervalSeconds, indefinitely.
	Interval ScheduleType = "INTERVAL"
	// Window fires every IntervalSeconds for DurationSeconds, then stops.
	Window ScheduleType = "WINDOW"
	// Cron fires when CronExpression matches the wall clock of Timezone
	// (CronTimetable states the DST rules).
	Cron ScheduleType = "CRON"
)

// ScheduleTypes lists the valid schedule types.
var ScheduleTypes = []ScheduleType{Interval, Window, Cron}

// ScheduleStatus is the state of a schedule.
type ScheduleStatus string

// Schedule statuses.
const (
	Active  ScheduleStatus = "ACTIVE"
	Paused  ScheduleStatus = "PAUSED"
	Stopped ScheduleStatus = "STOPPED"
)

// ScheduleStatuses lists the valid schedule statuses.
var ScheduleStatuses = []ScheduleStatus{Active, Paused, Stopped}

// StoppedWindowElapsed is the stopped reason of a WINDOW schedule whose window ended.
const StoppedWindowElapsed = "window_elapsed"

// StoppedNoOccurrences is the stopped reason of a schedule whose timetable
// has no occurrence left within ten years.
const StoppedNoOccurrences = "no_more_occurrences"

// DefaultTimezone is the zone of a schedule that names none, unless
// SCHEDULER_TIMEZONE says otherwise.
const DefaultTimezone = "UTC"

// MaxIntervalSeconds is the longest interval: one year.
const MaxIntervalSeconds = 31_536_000

// MaxDurationSeconds is the longest window: ten years.
const MaxDurationSeconds = 10 * MaxIntervalSeconds

// MaxKeepRuns is the largest cap on the runs a schedule keeps.
const MaxKeepRuns = 1_000_000

// Schedule fires a target on a grid of occurrences. The row carries its own
// future (NextRunAt, EndsAt, RemainingMs), so nothing about it lives only in memory.
type Schedule struct {
	ID              int64
	Name            string
	TargetID        int64
	Type            ScheduleType
	IntervalSeconds int  // INTERVAL and WINDOW; 0 for CRON
	DurationSeconds *int // WINDOW only
	// CronExpression is a CRON schedule's expression (ParseCron); "" otherwise.
	CronExpression string
	// Timezone is the IANA zone whose wall clock a CRON expression reads.
	// Every schedule has one; intervals are elapsed time and ignore it.
	Timezone string
	// KeepRuns caps the finished runs the schedule keeps: retention deletes
	// the older ones beyond its newest KeepRuns. Nil applies the service's
	// default (RUN_KEEP_PER_SCHEDULE), itself possibly no cap.
	KeepRuns      *int
	Status        ScheduleStatus
	StoppedReason string
	// AnchorAt is the instant the grid is laid from: occurrences are at
	// AnchorAt + k*IntervalSeconds. It is set when the schedule becomes active.
	AnchorAt time.Time
	// NextRunAt is the next occurrence to claim; for an ACTIVE WINDOW schedule
	// past its last occurrence it equals EndsAt, the moment it stops. Nil unless ACTIVE.
	NextRunAt *time.Time
	// EndsAt is when an ACTIVE WINDOW schedule's window closes (exclusive).
	EndsAt *time.Time
	// RemainingMs is the window time left while a WINDOW schedule is paused.
	RemainingMs *int64
	Version     int64 // bumped on every change
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ScheduleUpdate holds the fields of a partial update; nil leaves a field as it is.
type ScheduleUpdate struct {
	Name            *string
	TargetID        *int64
	Type            *ScheduleType
	IntervalSeconds *int
	DurationSeconds *int
	CronExpression  *string
	Timezone        *string
	KeepRuns        **int // set to a nil *int to return to the service's default
}

// Validate checks the fields a client sets. Whether the target exists is the store's to check.
func (s *Schedule) Validate() error {
	if err := ValidateName("name", s.Name); err != nil {
		return err
	}
	if s.TargetID <= 0 {
		return Invalid("target_id", "must be a positive target id")
	}
	switch s.Type {
	case Interval, Window:
	case Cron:
		return s.validateCron()
	default:
		return Invalid("schedule_type", "must be INTERVAL, WINDOW or CRON, got %q", s.Type)
	}
	if s.CronExpression != "" {
		return Invalid("cron_expression", "is only allowed on CRON schedules")
	}
	if err := s.validateCommon(); err != nil {
		return err
	}
	if s.IntervalSeconds < 1 || s.IntervalSeconds > MaxIntervalSeconds {
		return Invalid("interval_seconds", "must be an integer between 1 and %d", MaxIntervalSeconds)
	}
	if s.Type == Interval && s.DurationSeconds != nil {
		return Invalid("duration_seconds", "is only allowed on WINDOW schedules")
	}
	if s.Type == Window {
		if s.DurationSeconds == nil {
			return Invalid("duration_seconds", "is required for WINDOW schedules")
		}
		d := *s.DurationSeconds
		if d < s.IntervalSeconds {
			return Invalid("duration_seconds", "must be at least interval_seconds (%d), got %d", s.IntervalSeconds, d)
		}
		if d > MaxDurationSeconds {
			return Invalid("duration_seconds", "must be at most %d", MaxDurationSeconds)
		}
	}
	return nil
}

// validateCommon checks the fields every kind has.
func (s *Schedule) validateCommon() error {
	if s.KeepRuns != nil && (*s.KeepRuns < 1 || *s.KeepRuns > MaxKeepRuns) {
		return Invalid("keep_runs", "must be an integer between 1 and %d, or null for the service's default", MaxKeepRuns)
	}
	if s.Timezone != "" {
		if _, err := LoadZone("timezone", s.Timezone); err != nil {
			return err
		}
	}
	return nil
}

func (s *Schedule) validateCron() error {
	if s.IntervalSeconds != 0 {
		return Invalid("interval_seconds", "is not allowed on CRON schedules: cron_expression says when they fire")
	}
	if s.DurationSeconds != nil {
		return Invalid("duration_seconds", "is only allowed on WINDOW schedules")
	}
	if strings.TrimSpace(s.CronExpression) == "" {
		return Invalid("cron_expression", "is required for CRON schedules, e.g. \"0 9 * * MON-FRI\" or \"*/10 * * * * *\"")
	}
	if _, err := ParseCron(s.CronExpression); err != nil {
		return err
	}
	return s.validateCommon()
}

// location is the schedule's zone; UTC when it names none or one that fails to load.
func (s *Schedule) location() *time.Location {
	if s.Timezone == "" {
		return time.UTC
	}
	loc, err := LoadZone("timezone", s.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Interval returns the schedule's interval as a duration.
func (s *Schedule) Interval() time.Duration {
	return time.Duration(s.IntervalSeconds) * time.Second
}

// Timetable returns the schedule's occurrences as they stand now.
func (s *Schedule) Timetable() Timetable {
	if s.Type == Cron {
		c, err := cachedCron(s.CronExpression)
		if err != nil {
			return never{}
		}
		return CronTimetable{Expr: c, Loc: s.location()}
	}
	g := IntervalGrid{Anchor: s.AnchorAt, Every: s.Interval()}
	if s.Type == Window && s.EndsAt != nil {
		g.Until = *s.EndsAt
	}
	return g
}

// Activate makes s ACTIVE at now: the grid is anchored at now, so the first
// occurrence is now. A WINDOW gets remaining (or, when it has none, its full
// duration) from now. It is used on creation; Resume continues a paused grid.
func (s *Schedule) Activate(now time.Time) {
	now = TruncMillis(now)
	s.Status = Active
	s.StoppedReason = ""
	s.AnchorAt = now
	next := now
	s.NextRunAt = &next
	s.EndsAt = nil
	if s.Type == Cron {
		s.RemainingMs = nil
		s.planFrom(now)
		return
	}
	if s.Type == Window {
		rem := int64(*s.DurationSeconds) * 1000
		if s.RemainingMs != nil {
			rem = *s.RemainingMs
		}
		end := now.Add(time.Duration(rem) * time.Millisecond)
		s.EndsAt = &end
	}
	s.RemainingMs = nil
}

// Resume makes a PAUSED s ACTIVE again at now, on the grid it had: the
// anchor is kept and the next occurrence is the first grid point at or
// after now. Resuming fires at once only when now is on the grid, and an
// occurrence that fell while the schedule was paused is not owed (as
// APScheduler resumes a job), so pausing and resuming between two
// occurrences adds no run. A schedule paused before it ever fired resumes
// the same way: its first occurrence, missed while paused, is not owed
// either. A WINDOW gets back the time it had left, from now (EndsAt = now +
// RemainingMs); when its grid has no point before that end, the schedule
// waits at its end and stops there.
func (s *Schedule) Resume(now time.Time) {
	now = TruncMillis(now)
	s.Status = Active
	s.StoppedReason = ""
	if s.Type == Cron {
		s.RemainingMs = nil
		s.planFrom(now)
		return
	}
	next := IntervalGrid{Anchor: s.AnchorAt, Every: s.Interval()}.NextAtOrAfter(now)
	s.EndsAt = nil
	if s.Type == Window {
		rem := int64(*s.DurationSeconds) * 1000
		if s.RemainingMs != nil {
			rem = *s.RemainingMs
		}
		end := now.Add(time.Duration(rem) * time.Millisecond)
		s.EndsAt = &end
		if !next.Before(end) {
			next = end
		}
	}
	s.NextRunAt = &next
	s.RemainingMs = nil
}

// planFrom sets an ACTIVE timetable schedule's next occurrence to its first
// at or after now; with none left it stops.
func (s *Schedule) planFrom(now time.Time) {
	next := s.Timetable().Next(now.Add(-time.Millisecond))
	if next.IsZero() {
		s.Stop(StoppedNoOccurrences)
		return
	}
	s.NextRunAt = &next
}

// Pause makes s PAUSED at now; a WINDOW keeps the time it had left, and
// every schedule its anchor, which Resume continues from.
func (s *Schedule) Pause(now time.Time) {
	now = TruncMillis(now)
	if s.Type == Window && s.EndsAt != nil {
		rem := s.EndsAt.Sub(now).Milliseconds()
		if rem < 0 {
			rem = 0
		}
		s.RemainingMs = &rem
	}
	s.Status = Paused
	s.NextRunAt = nil
	s.EndsAt = nil
}

// Stop makes s STOPPED for reason. A window keeps EndsAt, so it still says
// when it ended.
func (s *Schedule) Stop(reason string) {
	s.Status = Stopped
	s.StoppedReason = reason
	s.NextRunAt = nil
	s.RemainingMs = nil
}

// Apply copies the set fields of u onto s and keeps the schedule's future
// consistent with them, at now: a new interval continues the grid from the
// next occurrence already planned (for a PAUSED schedule, the next one its
// grid would have had after now, from which Resume continues); a new window
// duration moves the end, or the time left, by the difference.
func (u ScheduleUpdate) Apply(s *Schedule, now time.Time) {
	if u.Name != nil {
		s.Name = *u.Name
	}
	if u.TargetID != nil {
		s.TargetID = *u.TargetID
	}
	if u.Type != nil {
		s.Type = *u.Type
	}
	if u.KeepRuns != nil {
		s.KeepRuns = *u.KeepRuns
	}
	if u.CronExpression != nil || u.Timezone != nil {
		changed := false
		if u.CronExpression != nil && *u.CronExpression != s.CronExpression {
			s.CronExpression, changed = *u.CronExpression, true
		}
		if u.Timezone != nil && *u.Timezone != s.Timezone {
			s.Timezone, changed = *u.Timezone, true
		}
		// A CRON schedule's next occurrence is the new timetable's first
		// from now on; a bad expression is refused by Validate afterwards.
		if changed && s.Type == Cron && s.Status == Active {
			if _, err := ParseCron(s.CronExpression); err == nil {
				s.planFrom(TruncMillis(now))
			}
		}
	}
	if u.IntervalSeconds != nil && *u.IntervalSeconds != s.IntervalSeconds {
		old := IntervalGrid{Anchor: s.AnchorAt, Every: s.Interval()}
		s.IntervalSeconds = *u.IntervalSeconds
		switch {
		case s.Status == Active && s.NextRunAt != nil:
			next := *s.NextRunAt
			if s.EndsAt != nil && !next.Before(*s.EndsAt) {
				next = TruncMillis(now) // past its last occurrence: restart the grid now
			}
			s.AnchorAt = next
			s.NextRunAt = &next
		case s.Status == Paused:
			s.AnchorAt = old.NextAtOrAfter(TruncMillis(now))
		}
	}
	if u.DurationSeconds != nil {
		old := 0
		if s.DurationSeconds != nil {
			old = *s.DurationSeconds
		}
		d := *u.DurationSeconds
		s.DurationSeconds = &d
		delta := time.Duration(d-old) * time.Second
		switch {
		case s.Status == Active && s.EndsAt != nil:
			end := s.EndsAt.Add(delta)
			s.EndsAt = &end
			s.replanWindow(now)
		case s.Status == Paused && s.RemainingMs != nil:
			rem := *s.RemainingMs + delta.Milliseconds()
			if rem < 0 {
				rem = 0
			}
			s.RemainingMs = &rem
		}
	}
}

// replanWindow puts NextRunAt back on the grid after EndsAt moved.
func (s *Schedule) replanWindow(now time.Time) {
	if s.NextRunAt == nil || s.EndsAt == nil {
		return
	}
	g := IntervalGrid{Anchor: s.AnchorAt, Every: s.Interval()}
	next := *s.NextRunAt
	if !next.Before(*s.EndsAt) || next.Equal(*s.EndsAt) {
		// It was parked at the old end: find the grid point again.
		next = g.NextAtOrAfter(TruncMillis(now))
	}
	if !next.Before(*s.EndsAt) {
		next = *s.EndsAt
	}
	s.NextRunAt = &next
}

// Claim is the decision taken for one due schedule at one instant.
type Claim struct {
	// Fire is true when an occurrence is to run now.
	Fire bool
	// ScheduledAt is the occurrence that fires (the latest one due).
	ScheduledAt time.Time
	// Missed counts the earlier due occurrences coalesced into this one.
	Missed int64
	// Stop is true when the schedule is to stop: its window has ended, or
	// (with Fire) this is its last occurrence.
	Stop bool
	// StopReason is why, when it is not StoppedWindowElapsed.
	StopReason string
	// Next is the schedule's next occurrence (or, for a window past its
	// last occurrence, its end); nil after Stop.
	Next *time.Time
}

// Plan decides what an ACTIVE schedule does when it is looked at, at now,
// taking occurrences due up to until (until >= now: the engine claims a
// little ahead so requests leave on time). An occurrence already past is
// coalesced with the others missed since NextRunAt into one run of the
// latest; a window whose last occurrence is taken (or whose end has passed)
// stops. It does not change s.
func (s *Schedule) Plan(now, until time.Time) Claim {
	if until.Before(now) {
		until = now
	}
	if s.Status != Active || s.NextRunAt == nil || s.NextRunAt.After(until) {
		return Claim{Next: s.NextRunAt}
	}
	tt := s.Timetable()
	due := *s.NextRunAt
	if s.EndsAt != nil {
		if !now.Before(*s.EndsAt) {
			// The window is wall-clock: once it has ended nothing more fires, and
			// the occurrences it still had are counted as missed.
			return Claim{Stop: true, Missed: tt.Count(due, *s.EndsAt)}
		}
		if !due.Before(*s.EndsAt) {
			return Claim{Stop: true} // parked at its end: nothing left to fire
		}
	}
	last := due
	if due.Before(now) {
		if l := tt.Last(now); l.After(due) {
			last = l
		}
	}
	c := Claim{Fire: true, ScheduledAt: last, Missed: tt.Count(due, last)}
	next := tt.Next(last)
	if next.IsZero() {
		if s.EndsAt == nil { // nothing left at all: fire this one, then stop
			c.Stop, c.StopReason = true, StoppedNoOccurrences
			return c
		}
		next = *s.EndsAt // no occurrence left in the window: park at its end
	}
	c.Next = &next
	return c
}

// TruncMillis drops what is below a millisecond, the precision apicron stores, and converts to UTC.
func TruncMillis(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}

// MaxPreview is the most occurrences a preview lists.
const MaxPreview = 100

// Upcoming returns the next n occurrences of s as it stands at now, each
// with the DST rule that placed it (CRON only). A PAUSED schedule is
// previewed as if resumed at now; a STOPPED one has none. It does not change s.
func (s *Schedule) Upcoming(now time.Time, n int) []Occurrence {
	c := *s
	switch c.Status {
	case Stopped:
		return nil
	case Paused:
		c.Resume(now)
	}
	if c.Status != Active || c.NextRunAt == nil || n < 1 {
		return nil
	}
	tt := c.Timetable()
	ct, isCron := tt.(CronTimetable)
	next := *c.NextRunAt
	var out []Occurrence
	for len(out) < n && !next.IsZero() {
		if c.EndsAt != nil && !next.Before(*c.EndsAt) {
			break
		}
		o := Occurrence{At: next}
		if isCron {
			o = ct.NextOccurrence(next.Add(-time.Second))
			if !o.At.Equal(next) { // not on the timetable: shown as planned
				o = Occurrence{At: next}
			}
		}
		out = append(out, o)
		next = tt.Next(next)
	}
	return out
}
