package apicron

import "time"

// BackfillStatus is the state of a backfill.
type BackfillStatus string

// Backfill statuses.
const (
	BackfillRunning BackfillStatus = "RUNNING"
	BackfillDone    BackfillStatus = "DONE"
	// BackfillCancelled: its schedule was deleted before it was done.
	BackfillCancelled BackfillStatus = "CANCELLED"
)

// Backfill limits.
const (
	// MaxBackfillOccurrences is the most occurrences one backfill covers.
	MaxBackfillOccurrences = 10_000
	// DefaultBackfillRate is a backfill's rate_per_second when it names none.
	DefaultBackfillRate = 10
	// MaxBackfillRate is the largest rate_per_second.
	MaxBackfillRate = 1000
)

// Backfill runs the occurrences a schedule's timetable has in a past range
// [Since, Until), oldest first, at most RatePerSecond a second, each with
// trigger backfill. An occurrence that already has a run is not run again:
// it is counted in Existing.
type Backfill struct {
	ID            int64
	ScheduleID    int64
	Since, Until  time.Time
	RatePerSecond int
	Status        BackfillStatus
	// Total is how many occurrences the range held when the backfill was made.
	Total int64
	// Inserted counts the runs it made; Existing the occurrences that had one.
	Inserted, Existing int64
	// Next is the next occurrence it will consider; nil once done.
	Next       *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// BackfillRequest is what POST /schedules/{id}/backfill asks for.
type BackfillRequest struct {
	Since, Until  time.Time
	RatePerSecond int // 0: DefaultBackfillRate
}

// Validate checks r at now, for a schedule whose timetable is tt: the range
// is in the past and holds 1 to MaxBackfillOccurrences occurrences, which it
// returns with the first.
func (r *BackfillRequest) Validate(now time.Time, tt Timetable) (total int64, first time.Time, err error) {
	if r.RatePerSecond == 0 {
		r.RatePerSecond = DefaultBackfillRate
	}
	r.Since, r.Until = TruncMillis(r.Since), TruncMillis(r.Until)
	switch {
	case r.RatePerSecond < 1 || r.RatePerSecond > MaxBackfillRate:
		return 0, first, Invalid("rate_per_second", "must be an integer between 1 and %d", MaxBackfillRate)
	case !r.Since.Before(r.Until):
		return 0, first, Invalid("until", "must be after since (%s)", r.Since.Format(time.RFC3339))
	case r.Until.After(now):
		return 0, first, Invalid("until", "is in the future (%s): a backfill runs past occurrences only", r.Until.Format(time.RFC3339))
	}
	total = tt.Count(r.Since, r.Until)
	if total == 0 {
		return 0, first, Invalid("since", "the schedule has no occurrence in [%s, %s)", r.Since.Format(time.RFC3339), r.Until.Format(time.RFC3339))
	}
	if total > MaxBackfillOccurrences {
		return 0, first, Invalid("until", "the range holds %d occurrences, more than %d; split it", total, MaxBackfillOccurrences)
	}
	return total, tt.Next(r.Since.Add(-time.Nanosecond)), nil
}
