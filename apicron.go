// Package apicron holds the domain of apicron, cron for API calls: targets,
// schedules, runs and attempts, their rules, the error codes, and the small
// interfaces the internal packages meet at. It depends on the standard
// library only.
package apicron

import (
	"context"
	"time"
)

// Version is the build's version; the APP_VERSION setting overrides what is reported.
var Version = "0.1.0"

// Store is everything the API asks of the database. Implementations return
// *Error values with the codes listed; anything else is EINTERNAL.
type Store interface {
	// CreateTarget validates and inserts t, setting its ID and times. EINVALID.
	CreateTarget(ctx context.Context, t *Target) error
	// FindTargetByID returns one target. ENOTFOUND.
	FindTargetByID(ctx context.Context, id int64) (*Target, error)
	// FindTargets returns a page of targets by id and the total count.
	FindTargets(ctx context.Context, p Page) ([]*Target, int, error)
	// UpdateTarget applies upd and validates the result. ENOTFOUND, EINVALID.
	UpdateTarget(ctx context.Context, id int64, upd TargetUpdate) (*Target, error)
	// DeleteTarget deletes a target that no schedule uses. ENOTFOUND, ECONFLICT.
	DeleteTarget(ctx context.Context, id int64) error

	// CreateSchedule validates s, checks its target exists, and inserts it
	// ACTIVE with its first occurrence now. EINVALID.
	CreateSchedule(ctx context.Context, s *Schedule) error
	// FindScheduleByID returns one schedule. ENOTFOUND.
	FindScheduleByID(ctx context.Context, id int64) (*Schedule, error)
	// FindSchedules returns a page of schedules by id and the total count.
	FindSchedules(ctx context.Context, f ScheduleFilter) ([]*Schedule, int, error)
	// UpdateSchedule applies upd, validates and replans. ENOTFOUND, EINVALID.
	UpdateSchedule(ctx context.Context, id int64, upd ScheduleUpdate) (*Schedule, error)
	// DeleteSchedule deletes a schedule; its runs stay as history. ENOTFOUND.
	DeleteSchedule(ctx context.Context, id int64) error
	// PauseSchedule pauses an ACTIVE schedule, with p's reason and until (a
	// PAUSED one takes p's, when p sets either). No occurrence is claimed
	// once it returns. ENOTFOUND, EINVALID, ECONFLICT (STOPPED).
	PauseSchedule(ctx context.Context, id int64, p PauseRequest) (*Schedule, error)
	// ResumeSchedule activates a PAUSED schedule on its grid (Schedule.Resume:
	// the next occurrence is the first grid point at or after now; an ACTIVE
	// one is left as it is). ENOTFOUND, ECONFLICT (a STOPPED window).
	ResumeSchedule(ctx context.Context, id int64) (*Schedule, error)

	// CreateBackfill records a backfill of schedule id's occurrences in a
	// past range, for the engine to run. ENOTFOUND, EINVALID.
	CreateBackfill(ctx context.Context, id int64, r BackfillRequest) (*Backfill, error)
	// FindBackfills returns up to limit of schedule id's backfills, newest first.
	FindBackfills(ctx context.Context, id int64, limit int) ([]*Backfill, error)

	// FindEvents returns up to limit of schedule id's events, newest first,
	// those before event beforeID when it is not zero.
	FindEvents(ctx context.Context, id int64, beforeID int64, limit int) ([]*ScheduleEvent, error)

	// Ledger lays out what became of each occurrence of schedule id in
	// [since, until) (BuildLedger), and whether there were more. ENOTFOUND.
	Ledger(ctx context.Context, id int64, since, until, now time.Time) (*Schedule, []LedgerEntry, bool, error)

	// CreateNotifier validates and inserts n. EINVALID, ECONFLICT (name taken).
	CreateNotifier(ctx context.Context, n *Notifier) error
	// FindNotifierByID returns one notifier. ENOTFOUND.
	FindNotifierByID(ctx context.Context, id int64) (*Notifier, error)
	// FindNotifiers returns a page of notifiers by id and the total count.
	FindNotifiers(ctx context.Context, p Page) ([]*Notifier, int, error)
	// UpdateNotifier applies upd and validates the result. ENOTFOUND, EINVALID, ECONFLICT.
	UpdateNotifier(ctx context.Context, id int64, upd NotifierUpdate) (*Notifier, error)
	// DeleteNotifier deletes a notifier no alert rule names. ENOTFOUND, ECONFLICT.
	DeleteNotifier(ctx context.Context, id int64) error
	// NoteNotifierTest records a test send's outcome on notifier id.
	NoteNotifierTest(ctx context.Context, id int64, sendErr error) error
	// FailingNotifiers returns the notifiers whose latest delivery failed.
	FailingNotifiers(ctx context.Context) ([]*Notifier, error)
	// FindNotifications returns a page of notifications, newest first, and the total count.
	FindNotifications(ctx context.Context, f NotificationFilter) ([]*Notification, int, error)
	// DefaultAlertRule returns the rule of schedules without one (nil: none).
	DefaultAlertRule(ctx context.Context) (*AlertRule, error)
	// SetDefaultAlertRule sets it (nil removes it). EINVALID.
	SetDefaultAlertRule(ctx context.Context, r *AlertRule) error
	// AlertState returns schedule id's streaks and alert status. ENOTFOUND.
	AlertState(ctx context.Context, id int64) (*AlertState, error)

	// FindRunByID returns one run with its attempts. ENOTFOUND.
	FindRunByID(ctx context.Context, id int64) (*Run, error)
	// FindRuns returns a page of runs, newest first (by id; one schedule's
	// by scheduled_at, see RunFilter), and how many
	// runs the filter selects, whatever f.BeforeID, f.Limit and f.Offset,
	// counted up to f.CountLimit when it is set.
	FindRuns(ctx context.Context, f RunFilter) ([]*Run, int, error)

	// RecentOutcomes returns the statuses of the latest n runs (at most
	// MaxRecentOutcomes) of each of the given schedules, newest first, by
	// scheduled_at: one query, each schedule's read from the end of its
	// index of runs. A schedule without runs is missing.
	RecentOutcomes(ctx context.Context, ids []int64, n int) (map[int64][]RunStatus, error)

	// SystemMetrics reads the service-wide counters as of now.
	SystemMetrics(ctx context.Context, now time.Time) (*SystemMetrics, error)
	// ScheduleMetrics reads a page of per-schedule counters and the total count.
	ScheduleMetrics(ctx context.Context, p Page) ([]*ScheduleMetrics, int, error)
	// RunsPerMinute returns the runs finished in each minute of [since,
	// until), oldest first, from the per-minute counters (never the runs);
	// a minute without runs is left out.
	RunsPerMinute(ctx context.Context, since, until time.Time) ([]MinuteRuns, error)
	// FailingSchedules returns up to limit of the schedules whose latest
	// counted run failed (a streak of failures, AlertState), the most
	// recent streak first, and how many there are.
	FailingSchedules(ctx context.Context, limit int) ([]*FailingSchedule, int, error)

	// Ping checks that the database answers. EUNAVAILABLE.
	Ping(ctx context.Context) error
}

// MaxRecentOutcomes bounds RecentOutcomes: how many runs of a schedule a
// list's outcome bar shows.
const MaxRecentOutcomes = 50

// MaxRecentOutcomeSchedules bounds how many schedules one RecentOutcomes
// reads: a page of a list.
const MaxRecentOutcomeSchedules = 100

// ClaimResult is what Claim decided for one schedule.
type ClaimResult struct {
	ScheduleID int64
	// Job is the run to execute now, or nil (not due, not active, overlapping or stopped).
	Job *Job
	// Next is when the schedule is next due (its next occurrence's fire
	// time), or nil when it is no longer ACTIVE.
	Next *time.Time
	// Waiting is true when its due occurrence waits for a run in flight
	// (overlap_policy buffer_one, or a catch_up): the engine looks again
	// when that run ends, or at Next.
	Waiting bool
	// Interrupted lists the runs in flight this claim interrupted
	// (overlap_policy replace), whose requests the engine stops.
	Interrupted []int64
	// Misses are the occurrences this claim skipped or coalesced, as it
	// recorded them for the ledger (the engine counts them in its metrics).
	Misses []Miss
}

// Engine is what the scheduling engine asks of the database.
type Engine interface {
	// Claim takes the given schedules' occurrences due by until (>= now;
	// claiming a little ahead lets requests leave on time), in one
	// transaction: for each, it inserts a RUNNING run and advances
	// next_run_at, or counts an overlap skip, or stops an elapsed window.
	// inflight says how many runs of a schedule are in flight (the engine
	// knows when it executes every run itself); nil asks the database, whose
	// RUNNING rows also cover runs executed by other nodes. Each schedule's
	// overlap policy decides what a due occurrence does with them.
	Claim(ctx context.Context, now, until time.Time, ids []int64, inflight func(id int64) int) ([]ClaimResult, error)
	// Finish records results, their attempts and the counters, in one transaction.
	// A run that is no longer RUNNING (interrupted meanwhile) is left as it is.
	Finish(ctx context.Context, results []RunResult) error
	// InterruptRunning, at shutdown, marks the RUNNING runs INTERRUPTED and
	// returns how many it marked. Those of schedules with retry_interrupted
	// are kept to run again: on a shared database any node takes them, on
	// one of a single process the next start does (ResumeRunning).
	InterruptRunning(ctx context.Context, now time.Time, reason string) (int64, error)
	// ResumeRunning, at start, marks the runs a previous process left
	// RUNNING INTERRUPTED, but those of schedules with retry_interrupted,
	// which go back to the queue; it returns how many it marked, and the
	// jobs this process is to run again (none on a shared database, whose
	// nodes take them).
	ResumeRunning(ctx context.Context, now time.Time, reason string) (int64, []*Job, error)
	// ActiveSchedules calls fn with the id of every ACTIVE schedule and when
	// it is next due: its next occurrence's fire time (Schedule.FireAt), or,
	// for a PAUSED one with a paused_until, when it resumes.
	ActiveSchedules(ctx context.Context, fn func(id int64, next time.Time)) error
	// BackfillStep inserts the runs the RUNNING backfills' rates allow by
	// now, at most limit, and returns those this process executes (none on
	// a shared database) and whether a backfill is still running.
	BackfillStep(ctx context.Context, now time.Time, limit int) ([]*Job, bool, error)
	// NextRunAts returns when each of the given schedules is next due, as
	// ActiveSchedules says; a schedule missing from the map has nothing due
	// (or is gone).
	NextRunAts(ctx context.Context, ids []int64) (map[int64]time.Time, error)
}

// Runner starts runs outside a schedule's timetable, for the API.
type Runner interface {
	// TriggerRun inserts a RUNNING manual run of schedule id, scheduled
	// now, and returns its job, for Dispatcher.Submit. A run of the schedule
	// in flight refuses it unless force. ENOTFOUND, ECONFLICT.
	TriggerRun(ctx context.Context, id int64, force bool) (*Job, error)
	// TargetJob returns the job of one request to target id, with no run
	// behind it (RunID 0) and no retries. ENOTFOUND.
	TargetJob(ctx context.Context, id int64) (*Job, error)
}

// Dispatcher runs a job the API inserted (a manual run): at once when this
// process executes its runs, or by waking the nodes that take them from a
// shared database. It must not block.
type Dispatcher interface {
	Submit(job *Job)
}

// ChangeNotifier hears about schedule changes the API wrote, so the engine can
// replan at once. It must not block; correctness never depends on it.
type ChangeNotifier interface {
	Changed(scheduleID int64)
}

// Executor sends one job's request(s) and reports the result.
type Executor interface {
	Execute(ctx context.Context, job *Job) RunResult
}

// Clock tells the time; tests step a fake one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }
