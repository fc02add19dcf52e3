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
	// Once fires once, at RunAt, and then stops.
	Once ScheduleType = "ONCE"
)

// ScheduleTypes lists the valid schedule types.
var ScheduleTypes = []ScheduleType{Interval, Window, Cron, Once}

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

// StoppedRanOnce is the stopped reason of a ONCE schedule that has fired.
const StoppedRanOnce = "ran_once"

// MaxInterruptedReruns bounds how many times a run of a schedule with
// retry_interrupted is run again after its node stopped mid-request: a
// request that brings its node down each time is not sent for ever.
const MaxInterruptedReruns = 3

// StoppedOnceSkipped is the stopped reason of a ONCE schedule whose
// occurrence found a run of it in flight (a manual one) and was skipped.
const StoppedOnceSkipped = "once_skipped_overlap"

// StoppedOnceMissed is the stopped reason of a ONCE schedule whose run_at
// passed without a run: while it was paused, or later than its grace.
const StoppedOnceMissed = "once_missed"

// StoppedMaxRuns is the stopped reason of a schedule that fired max_runs times.
const StoppedMaxRuns = "max_runs_reached"

// StoppedEndAt is the stopped reason of a schedule with no occurrence left before its end_at.
const StoppedEndAt = "end_at_reached"

// MaxRunsLimit is the largest max_runs.
const MaxRunsLimit = 1_000_000_000

// MaxPauseReason is the longest pause reason, in characters.
const MaxPauseReason = 500

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
	IntervalSeconds int  // INTERVAL and WINDOW; 0 for CRON and ONCE
	DurationSeconds *int // WINDOW only
	// CronExpression is a CRON schedule's expression (ParseCron); "" otherwise.
	CronExpression string
	// Timezone is the IANA zone whose wall clock a CRON expression reads.
	// Every schedule has one; intervals are elapsed time and ignore it.
	Timezone string
	// KeepRuns caps the finished runs the schedule keeps: retention deletes
	// the older ones beyond its newest KeepRuns. Nil applies the service's
	// default (RUN_KEEP_PER_SCHEDULE), itself possibly no cap.
	KeepRuns *int
	// RunAt is a ONCE schedule's one occurrence.
	RunAt *time.Time
	// StartAt and EndAt bound every kind: no occurrence before StartAt, nor
	// at or after EndAt. An INTERVAL or WINDOW grid starts at StartAt when
	// that is after the schedule's creation.
	StartAt, EndAt *time.Time
	// MaxRuns stops the schedule once its timetable has fired that many runs
	// (RunCount); manual runs and backfills do not count.
	MaxRuns  *int
	RunCount int64
	// JitterSeconds delays each occurrence by Jitter, in [0, JitterSeconds).
	JitterSeconds int
	// MisfireGraceSeconds is how late an occurrence may still start: a ONCE
	// schedule's run_at may be that far in the past when it is created.
	MisfireGraceSeconds *int
	// OverlapPolicy (empty: skip) and MaxParallel (allow only) say what an
	// occurrence does that finds a run in flight; MisfirePolicy (empty:
	// coalesce) and CatchUpMax (catch_up only) what missed occurrences do.
	OverlapPolicy OverlapPolicy
	MaxParallel   *int
	// Assertions, when set, replace the target's success checks for this
	// schedule's runs (an empty list: none, 2xx succeeds).
	Assertions    *[]Assertion
	MisfirePolicy MisfirePolicy
	CatchUpMax    *int
	// Alert is the schedule's alert rule; nil follows the default rule.
	Alert *AlertRule
	// AutoPauseAfter pauses the schedule after that many consecutive
	// failures (nil: never).
	AutoPauseAfter *int
	// RetryInterrupted runs an occurrence again, with the same
	// Idempotency-Key, when its node stopped mid-request (killed, cut off
	// from the database, or shut down past its grace), at most
	// MaxInterruptedReruns times and before the next occurrence is due:
	// at-least-once. False (the default): such a run is recorded
	// INTERRUPTED and never sent again (at-most-once).
	RetryInterrupted bool
	// PauseReason and PausedUntil are a PAUSED schedule's: why, and when it
	// resumes by itself (nil: when told to).
	PauseReason   string
	PausedUntil   *time.Time
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
	RunAt           *time.Time
	// StartAt, EndAt, MaxRuns and MisfireGraceSeconds: set to a nil pointer to clear.
	StartAt             **time.Time
	EndAt               **time.Time
	MaxRuns             **int
	JitterSeconds       *int
	MisfireGraceSeconds **int
	OverlapPolicy       *OverlapPolicy
	MaxParallel         **int
	MisfirePolicy       *MisfirePolicy
	CatchUpMax          **int
	// Assertions: set to a nil pointer to return to the target's.
	Assertions **[]Assertion
	// Alert: set to a nil pointer to follow the default rule.
	Alert            **AlertRule
	AutoPauseAfter   **int
	RetryInterrupted *bool
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
	case Once:
		return s.validateOnce()
	default:
		return Invalid("schedule_type", "must be INTERVAL, WINDOW, CRON or ONCE, got %q", s.Type)
	}
	if s.CronExpression != "" {
		return Invalid("cron_expression", "is only allowed on CRON schedules")
	}
	if s.RunAt != nil {
		return Invalid("run_at", "is only allowed on ONCE schedules")
	}
	if s.IntervalSeconds < 1 || s.IntervalSeconds > MaxIntervalSeconds {
		return Invalid("interval_seconds", "must be an integer between 1 and %d", MaxIntervalSeconds)
	}
	if err := s.validateCommon(); err != nil {
		return err
	}
	if s.JitterSeconds > s.IntervalSeconds {
		return Invalid("jitter_seconds", "must be at most interval_seconds (%d), got %d: a longer jitter would reorder occurrences",
			s.IntervalSeconds, s.JitterSeconds)
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
	if s.JitterSeconds < 0 || s.JitterSeconds > MaxJitterSeconds {
		return Invalid("jitter_seconds", "must be an integer between 0 and %d", MaxJitterSeconds)
	}
	if s.MaxRuns != nil && (*s.MaxRuns < 1 || *s.MaxRuns > MaxRunsLimit) {
		return Invalid("max_runs", "must be an integer between 1 and %d, or null for no limit", MaxRunsLimit)
	}
	if s.MisfireGraceSeconds != nil && (*s.MisfireGraceSeconds < 0 || *s.MisfireGraceSeconds > MaxIntervalSeconds) {
		return Invalid("misfire_grace_seconds", "must be an integer between 0 and %d, or null", MaxIntervalSeconds)
	}
	if err := s.validatePolicies(); err != nil {
		return err
	}
	if s.Assertions != nil {
		if err := ValidateAssertions("assertions", *s.Assertions); err != nil {
			return err
		}
	}
	if s.Alert != nil {
		if err := s.Alert.Validate("alert"); err != nil {
			return err
		}
	}
	if s.AutoPauseAfter != nil && (*s.AutoPauseAfter < 1 || *s.AutoPauseAfter > MaxAutoPauseAfter) {
		return Invalid("auto_pause_after", "must be between 1 and %d consecutive failures, or null for never", MaxAutoPauseAfter)
	}
	if s.StartAt != nil && s.EndAt != nil && !s.StartAt.Before(*s.EndAt) {
		return Invalid("end_at", "must be after start_at (%s), got %s", s.StartAt.UTC().Format(time.RFC3339), s.EndAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func (s *Schedule) validateOnce() error {
	switch {
	case s.IntervalSeconds != 0:
		return Invalid("interval_seconds", "is not allowed on ONCE schedules: run_at says when it fires")
	case s.DurationSeconds != nil:
		return Invalid("duration_seconds", "is only allowed on WINDOW schedules")
	case s.CronExpression != "":
		return Invalid("cron_expression", "is only allowed on CRON schedules")
	case s.RunAt == nil:
		return Invalid("run_at", "is required for ONCE schedules (RFC 3339, e.g. \"2026-12-24T09:00:00Z\")")
	case s.StartAt != nil:
		return Invalid("start_at", "is not allowed on ONCE schedules: run_at says when it fires")
	case s.EndAt != nil:
		return Invalid("end_at", "is not allowed on ONCE schedules: run_at says when it fires")
	case s.MaxRuns != nil:
		return Invalid("max_runs", "is not allowed on ONCE schedules: they run once")
	}
	return s.validateCommon()
}

// ValidateAt checks what depends on the time, at now, when a schedule is
// created or its times change: end_at is in the future, and a ONCE
// schedule's run_at is not further in the past than misfire_grace_seconds.
func (s *Schedule) ValidateAt(now time.Time) error {
	if s.EndAt != nil && !s.EndAt.After(now) {
		return Invalid("end_at", "is in the past (%s); it must be after now", s.EndAt.UTC().Format(time.RFC3339))
	}
	if s.Type == Once && s.RunAt != nil {
		if late := now.Sub(*s.RunAt); late > s.grace() {
			return Invalid("run_at", "is %s in the past; it must be in the future, or misfire_grace_seconds must cover it (%d s now)",
				late.Round(time.Second), int(s.grace()/time.Second))
		}
	}
	return nil
}

// grace is the schedule's misfire grace; zero when it has none.
func (s *Schedule) grace() time.Duration {
	if s.MisfireGraceSeconds == nil {
		return 0
	}
	return time.Duration(*s.MisfireGraceSeconds) * time.Second
}

func (s *Schedule) validateCron() error {
	if s.IntervalSeconds != 0 {
		return Invalid("interval_seconds", "is not allowed on CRON schedules: cron_expression says when they fire")
	}
	if s.DurationSeconds != nil {
		return Invalid("duration_seconds", "is only allowed on WINDOW schedules")
	}
	if s.RunAt != nil {
		return Invalid("run_at", "is only allowed on ONCE schedules")
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

// Timetable returns the schedule's occurrences as they stand now, within
// its start_at and end_at.
func (s *Schedule) Timetable() Timetable {
	tt := s.baseTimetable()
	if s.StartAt == nil && s.EndAt == nil {
		return tt
	}
	b := bounded{Timetable: tt}
	if s.StartAt != nil {
		b.Start = *s.StartAt
	}
	if s.EndAt != nil {
		b.End = *s.EndAt
	}
	return b
}

func (s *Schedule) baseTimetable() Timetable {
	switch s.Type {
	case Cron:
		c, err := cachedCron(s.CronExpression)
		if err != nil {
			return never{}
		}
		return CronTimetable{Expr: c, Loc: s.location()}
	case Once:
		if s.RunAt == nil {
			return never{}
		}
		return onceAt{At: TruncMillis(*s.RunAt)}
	}
	g := IntervalGrid{Anchor: s.AnchorAt, Every: s.Interval()}
	if s.Type == Window && s.EndsAt != nil {
		g.Until = *s.EndsAt
	}
	return g
}

// planned reports whether the schedule's occurrences come from a timetable
// of their own (CRON, ONCE) rather than a grid anchored when it became active.
func (s *Schedule) planned() bool { return s.Type == Cron || s.Type == Once }

// Activate makes s ACTIVE at now: the grid is anchored at now, so the first
// occurrence is now. A WINDOW gets remaining (or, when it has none, its full
// duration) from now. It is used on creation; Resume continues a paused grid.
func (s *Schedule) Activate(now time.Time) {
	now = TruncMillis(now)
	s.Status = Active
	s.StoppedReason = ""
	s.PauseReason, s.PausedUntil = "", nil
	s.EndsAt = nil
	if s.planned() {
		s.AnchorAt = now
		s.RemainingMs = nil
		s.planFrom(now)
		return
	}
	if s.StartAt != nil && s.StartAt.After(now) {
		now = TruncMillis(*s.StartAt) // the grid starts at start_at
	}
	s.AnchorAt = now
	next := now
	s.NextRunAt = &next
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
	s.PauseReason, s.PausedUntil = "", nil
	if s.MaxRuns != nil && s.RunCount >= int64(*s.MaxRuns) {
		s.Stop(StoppedMaxRuns) // lowered while paused
		return
	}
	if s.planned() {
		s.RemainingMs = nil
		s.planFrom(now)
		return
	}
	grid := IntervalGrid{Anchor: s.AnchorAt, Every: s.Interval()}
	next := grid.NextAtOrAfter(now)
	if s.StartAt != nil && next.Before(*s.StartAt) {
		next = grid.NextAtOrAfter(*s.StartAt)
	}
	if s.EndAt != nil && !next.Before(*s.EndAt) {
		s.Stop(StoppedEndAt)
		return
	}
	s.EndsAt = nil
	if s.Type == Window {
		rem := int64(*s.DurationSeconds) * 1000
		if s.RemainingMs != nil {
			rem = *s.RemainingMs
		}
		// A window that has not opened yet (start_at ahead) opens at its anchor.
		end := maxTime(now, s.AnchorAt).Add(time.Duration(rem) * time.Millisecond)
		s.EndsAt = &end
		if !next.Before(end) {
			next = end
		}
	}
	s.NextRunAt = &next
	s.RemainingMs = nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// planFrom sets an ACTIVE timetable schedule's next occurrence to its first
// at or after now (for ONCE, within its misfire grace before now); with
// none left it stops.
func (s *Schedule) planFrom(now time.Time) {
	from := now
	if s.Type == Once {
		from = now.Add(-s.grace())
	}
	next := s.Timetable().Next(from.Add(-time.Millisecond))
	if next.IsZero() {
		s.Stop(s.exhaustedReason())
		return
	}
	s.NextRunAt = &next
}

// exhaustedReason is why a schedule whose timetable has no occurrence left stops.
func (s *Schedule) exhaustedReason() string {
	switch {
	case s.Type == Once && s.RunCount == 0:
		return StoppedOnceMissed
	case s.Type == Once:
		return StoppedRanOnce
	case s.EndAt != nil:
		return StoppedEndAt
	}
	return StoppedNoOccurrences
}

// PauseUntil makes s PAUSED at now for reason, until the given time (nil:
// until resumed), as Pause does.
func (s *Schedule) PauseUntil(now time.Time, reason string, until *time.Time) {
	s.Pause(now)
	s.PauseReason = reason
	s.PausedUntil = TruncMillisPtr(until)
}

// PauseRequest is what a pause may say: why, and until when.
type PauseRequest struct {
	Reason string
	Until  *time.Time // nil: until resumed
}

// Validate checks p at now: the reason is short and until is in the future.
func (p PauseRequest) Validate(now time.Time) error {
	if n := len([]rune(p.Reason)); n > MaxPauseReason {
		return Invalid("reason", "must be at most %d characters, got %d", MaxPauseReason, n)
	}
	if p.Until != nil && !p.Until.After(now) {
		return Invalid("until", "must be in the future, got %s", p.Until.UTC().Format(time.RFC3339))
	}
	return nil
}

// Pause makes s PAUSED at now; a WINDOW keeps the time it had left, and
// every schedule its anchor, which Resume continues from.
func (s *Schedule) Pause(now time.Time) {
	now = TruncMillis(now)
	if s.Type == Window && s.EndsAt != nil {
		// Paused before it opened (start_at ahead), it keeps its whole duration.
		rem := min(s.EndsAt.Sub(now).Milliseconds(), int64(*s.DurationSeconds)*1000)
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
	s.PauseReason, s.PausedUntil = "", nil
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
	u.applyBounds(s, now)
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

// applyBounds copies run_at, start_at, end_at, max_runs, jitter_seconds and
// misfire_grace_seconds, and replans an ACTIVE schedule whose occurrences
// they move: its next occurrence becomes the first its new timetable has at
// or after the one planned (a ONCE schedule's, at or after now less its
// grace), and with none left it stops. A max_runs already reached stops it.
func (u ScheduleUpdate) applyBounds(s *Schedule, now time.Time) {
	if u.JitterSeconds != nil {
		s.JitterSeconds = *u.JitterSeconds
	}
	if u.MisfireGraceSeconds != nil {
		s.MisfireGraceSeconds = *u.MisfireGraceSeconds
	}
	if u.MaxRuns != nil {
		s.MaxRuns = *u.MaxRuns
	}
	if u.OverlapPolicy != nil {
		s.OverlapPolicy = *u.OverlapPolicy
		if s.OverlapPolicy != OverlapAllow && u.MaxParallel == nil {
			s.MaxParallel = nil // belongs to allow
		}
	}
	if u.MaxParallel != nil {
		s.MaxParallel = *u.MaxParallel
	}
	if u.MisfirePolicy != nil {
		s.MisfirePolicy = *u.MisfirePolicy
		if s.MisfirePolicy != MisfireCatchUp && u.CatchUpMax == nil {
			s.CatchUpMax = nil // belongs to catch_up
		}
	}
	if u.CatchUpMax != nil {
		s.CatchUpMax = *u.CatchUpMax
	}
	if u.Alert != nil {
		s.Alert = *u.Alert
	}
	if u.AutoPauseAfter != nil {
		s.AutoPauseAfter = *u.AutoPauseAfter
	}
	if u.RetryInterrupted != nil {
		s.RetryInterrupted = *u.RetryInterrupted
	}
	if u.Assertions != nil {
		s.Assertions = *u.Assertions
	}
	moved := false
	if u.RunAt != nil && (s.RunAt == nil || !s.RunAt.Equal(*u.RunAt)) {
		at := TruncMillis(*u.RunAt)
		s.RunAt, moved = &at, true
	}
	if u.StartAt != nil {
		s.StartAt, moved = TruncMillisPtr(*u.StartAt), true
	}
	if u.EndAt != nil {
		s.EndAt, moved = TruncMillisPtr(*u.EndAt), true
	}
	if s.Status != Active {
		return
	}
	if s.MaxRuns != nil && s.RunCount >= int64(*s.MaxRuns) {
		s.Stop(StoppedMaxRuns)
		return
	}
	if !moved || s.NextRunAt == nil {
		return
	}
	if s.Type == Once {
		s.planFrom(TruncMillis(now))
		return
	}
	if !s.planned() && u.StartAt != nil && s.AnchorAt.After(TruncMillis(now)) {
		// A grid (a window) that has not begun begins again at the new
		// start_at, or now: the window keeps its whole duration.
		s.Activate(now)
		return
	}
	next := s.Timetable().Next(s.NextRunAt.Add(-time.Nanosecond))
	if next.IsZero() {
		if s.EndsAt != nil && s.EndAt == nil && s.NextRunAt.Equal(*s.EndsAt) {
			return // a window parked at its end stays there
		}
		s.Stop(s.exhaustedReason())
		return
	}
	s.NextRunAt = &next
}

// TruncMillisPtr is TruncMillis of *t, nil for nil.
func TruncMillisPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := TruncMillis(*t)
	return &u
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
	// Skip is true when, without firing, the schedule advances to Next:
	// every due occurrence misfired (misfire policy), counted in Missed.
	Skip bool
	// Trigger is TriggerCatchUp for a missed occurrence run late under the
	// catch_up misfire policy; empty otherwise (TriggerSchedule).
	Trigger Trigger
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
	if s.Status != Active || s.NextRunAt == nil || s.FireAt(*s.NextRunAt).After(until) {
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
	policy, grace, catchUp := s.misfire()
	var c Claim
	if policy == MisfireCatchUp {
		c = s.planCatchUp(tt, due, now, until, grace, catchUp)
	} else {
		last := due
		if due.Before(now) {
			if l := tt.Last(now); l.After(due) {
				last = l
			}
		}
		c = Claim{Fire: true, ScheduledAt: last, Missed: tt.Count(due, last)}
		if grace >= 0 && now.Sub(s.FireAt(last)) > grace {
			// Even the latest is later than its grace: none runs.
			c.Fire, c.Skip, c.Missed = false, true, c.Missed+1
		}
	}
	if !c.Fire && !c.Skip {
		return c // nothing due yet after all
	}
	next := tt.Next(c.ScheduledAt)
	if c.Skip {
		next = tt.Next(now) // the next occurrence not yet due
		if c.Next != nil {
			next = *c.Next // catch_up: the next owed one
		}
	}
	if next.IsZero() {
		if c.Skip {
			return Claim{Stop: true, StopReason: s.exhaustedReason(), Missed: c.Missed}
		}
		if s.EndsAt == nil || s.EndAt != nil && !s.EndAt.After(*s.EndsAt) {
			// nothing left at all: fire this one, then stop
			c.Stop, c.StopReason = true, s.exhaustedReason()
			if s.Type == Once {
				c.StopReason = StoppedRanOnce // RunCount counts this run once it is made
			}
			return c
		}
		next = *s.EndsAt // no occurrence left in the window: park at its end
	}
	c.Next = &next
	if c.Fire && s.MaxRuns != nil && s.RunCount+1 >= int64(*s.MaxRuns) {
		// Its last run: it stops after it. Next stays set, for a claim
		// that skips this occurrence (one in flight) and carries on.
		c.Stop, c.StopReason = true, StoppedMaxRuns
	}
	return c
}

// planCatchUp plans a misfire_policy catch_up schedule due at due: its
// oldest occurrence still owed fires (with trigger catch_up when a later one
// is due too), the schedule advancing only to the next occurrence, so the
// missed ones run one after another. Owed are those within the grace (a
// negative grace: all), at most the newest catchUp of them; the others are
// counted as missed.
func (s *Schedule) planCatchUp(tt Timetable, due, now, until time.Time, grace time.Duration, catchUp int) Claim {
	first := due
	var missed int64
	if cutoff := now.Add(-grace); grace >= 0 && s.FireAt(first).Before(cutoff) {
		// Late are those sent (jitter included) before the cutoff: every
		// one whose time is more than the jitter before it, then, one by
		// one, those its jitter does not carry past it.
		first = tt.Next(cutoff.Add(-time.Duration(s.JitterSeconds)*time.Second - time.Nanosecond))
		if first.Before(due) {
			first = due
		}
		for !first.IsZero() && s.FireAt(first).Before(cutoff) {
			first = tt.Next(first)
		}
		if first.IsZero() {
			missed = tt.Count(due, cutoff.Add(time.Nanosecond))
			return Claim{Skip: true, Missed: missed}
		}
		missed = tt.Count(due, first)
		if s.FireAt(first).After(until) {
			// Every one due was too late; the next owed one waits for its time.
			return Claim{Skip: true, Missed: missed, Next: &first}
		}
	}
	latest := tt.Last(now)
	if latest.Before(first) {
		latest = first
	}
	if owed := tt.Count(first, latest.Add(time.Nanosecond)); owed > int64(catchUp) {
		// Only the newest catchUp are owed: step back from the latest.
		from := latest
		for range catchUp - 1 {
			from = tt.Last(from.Add(-time.Nanosecond))
		}
		missed += owed - int64(catchUp)
		first = from
	}
	c := Claim{Fire: true, ScheduledAt: first, Missed: missed}
	if first.Before(latest) {
		c.Trigger = TriggerCatchUp
	}
	return c
}

// TruncMillis drops what is below a millisecond, the precision apicron stores, and converts to UTC.
func TruncMillis(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}

// MaxPreview is the most occurrences a preview lists.
const MaxPreview = 100

// PreviewNew returns the next n occurrences of s as if it were created at
// now, after validating it there (Validate, ValidateAt): what POST
// /schedules/preview and the dashboard's schedule form show. It does not
// change s.
func (s *Schedule) PreviewNew(now time.Time, n int) ([]Occurrence, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := s.ValidateAt(TruncMillis(now)); err != nil {
		return nil, err
	}
	c := *s
	c.Activate(now)
	return c.Upcoming(now, n), nil
}

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
