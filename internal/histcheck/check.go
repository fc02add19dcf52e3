// Package histcheck proves a run history exactly-once: it holds the log of
// every request a test target (a sink) received against apicron's database
// and reports what breaks one of these invariants.
//
//  1. No occurrence is sent twice: all requests of one occurrence (schedule
//     and scheduled time) carry one run id, and each attempt arrives once.
//  2. Every request has its run: the run id is a row of runs of the same
//     occurrence, and a finished run recorded the attempt that arrived.
//  3. Every attempt a finished run recorded as answered (a status code came
//     back) was received. Attempts that were never sent (host_limit,
//     rate_limit, template, blocked, dns, oauth2, a secret not decrypted)
//     are not owed; timeouts and connection errors may or may not have
//     arrived and are counted as facts; INTERRUPTED runs are facts only.
//  4. Every occurrence of a schedule's timetable between the first and the
//     last its history decided is a run, or counted in a misses row
//     (overlap skip, coalesced, misfire, window ended), or fell in a pause.
//  5. The counters equal the rows: run_stats of each schedule (and scope 0,
//     the whole service) count its finished runs, and its missed and
//     skipped_overlap equal its misses rows.
//
// A fault test puts Record in front of its sink and calls Check once
// apicron has stopped (or at any instant: the database is read in one
// snapshot, and runs still RUNNING are in flight, not violations).
package histcheck

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// Kind names the invariant a violation breaks.
type Kind string

// Violation kinds.
const (
	// DuplicateSend (1): an occurrence arrived from two runs, or one
	// attempt of a run arrived twice.
	DuplicateSend Kind = "duplicate_send"
	// NoRun (2): a request names a run that is not in runs.
	NoRun Kind = "no_run"
	// RunMismatch (2): a request's run is another occurrence's.
	RunMismatch Kind = "run_mismatch"
	// UnrecordedAttempt (2): a finished run's attempt arrived that the run
	// does not record as sent.
	UnrecordedAttempt Kind = "unrecorded_attempt"
	// NotReceived (3): a run recorded an answer to an attempt the sink
	// never received.
	NotReceived Kind = "not_received"
	// Unaccounted (4): an occurrence is neither a run nor counted.
	Unaccounted Kind = "unaccounted"
	// OffTimetable (4): a run the timetable made is at an instant its
	// timetable has no occurrence at.
	OffTimetable Kind = "off_timetable"
	// CountedTwice (4): an occurrence is a run of the timetable and counted
	// as missed or skipped too, or counted by two misses rows.
	CountedTwice Kind = "counted_twice"
	// MissCount (4): a misses row counts other than the occurrences its range holds.
	MissCount Kind = "miss_count"
	// Counters (5): run_stats differs from the rows.
	Counters Kind = "counters"
)

// Options tune Check.
type Options struct {
	// Targets limits invariant 3 to the runs of these targets: those the
	// sink serves. Empty: every run's target.
	Targets []int64
	// Show is how many violations String lists; zero: 20.
	Show int
	// MaxOccurrences bounds the occurrences walked per schedule by the grid
	// check; a schedule with more is skipped (and counted). Zero: 1,000,000.
	MaxOccurrences int64
}

// Violation is one broken invariant.
type Violation struct {
	Kind       Kind      `json:"kind"`
	ScheduleID int64     `json:"schedule_id,omitzero"`
	Occurrence time.Time `json:"occurrence,omitzero"`
	RunID      int64     `json:"run_id,omitzero"`
	Message    string    `json:"message"`
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(string(v.Kind))
	if v.ScheduleID != 0 {
		fmt.Fprintf(&b, " schedule %d", v.ScheduleID)
	}
	if !v.Occurrence.IsZero() {
		fmt.Fprintf(&b, " at %s", v.Occurrence.UTC().Format(apicron.TimeFormat))
	}
	if v.RunID != 0 {
		fmt.Fprintf(&b, " run %d", v.RunID)
	}
	return b.String() + ": " + v.Message
}

// SkippedSchedule is a schedule the grid check did not walk, and why.
type SkippedSchedule struct {
	ScheduleID int64  `json:"schedule_id"`
	Reason     string `json:"reason"`
}

// Facts are what Check found that breaks nothing.
type Facts struct {
	// Requests is the log's requests of runs; Unlabelled those without
	// apicron's headers or of a target test (run id 0), not checked.
	Requests   int `json:"requests"`
	Unlabelled int `json:"unlabelled"`
	// Runs counts the run rows, Running those still in flight.
	Runs    int `json:"runs"`
	Running int `json:"running"`
	// NotSent counts the finished runs whose request was never sent
	// (host_limit, rate_limit, template, blocked, ...), of the targets checked.
	NotSent int `json:"not_sent"`
	// Uncertain counts the attempts that may or may not have reached the
	// target (timeouts, connection errors), UncertainReceived those that did.
	Uncertain         int `json:"uncertain_attempts"`
	UncertainReceived int `json:"uncertain_received"`
	// InterruptedReceived counts the INTERRUPTED runs whose request
	// arrived; InterruptedUnreceived the others. Either is sound.
	InterruptedReceived   int `json:"interrupted_received"`
	InterruptedUnreceived int `json:"interrupted_unreceived"`
	// Occurrences are the timetable's occurrences the grid check walked:
	// each Ran, Missed (coalesced, misfire, window ended), Skipped
	// (overlap), Paused, or a violation.
	Occurrences int64 `json:"occurrences"`
	Ran         int64 `json:"ran"`
	Missed      int64 `json:"missed"`
	Skipped     int64 `json:"skipped_overlap"`
	Paused      int64 `json:"paused"`
	// Rerun counts the occurrences counted missed or skipped that a backfill
	// or manual run ran later.
	Rerun int64 `json:"rerun"`
	// OffTimetableManual counts the manual runs at an instant of their own,
	// off the timetable (they are not occurrences of it).
	OffTimetableManual int `json:"off_timetable_manual"`
	// BeforeChange counts the runs before their schedule's last timetable
	// change (interval, cron expression, zone, bounds): not held to it.
	BeforeChange int `json:"before_change"`
	// SchedulesChecked counts the schedules whose grid was walked.
	SchedulesChecked int               `json:"schedules_checked"`
	SchedulesSkipped []SkippedSchedule `json:"schedules_skipped,omitempty"`
}

// Report is what Check found.
type Report struct {
	Violations []Violation `json:"violations"`
	Facts      Facts       `json:"facts"`
	show       int
}

// OK reports whether the history breaks no invariant.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// Count returns how many violations are of kind k.
func (r *Report) Count(k Kind) int {
	n := 0
	for _, v := range r.Violations {
		if v.Kind == k {
			n++
		}
	}
	return n
}

// Kinds returns how many violations there are of each kind.
func (r *Report) Kinds() map[Kind]int {
	m := map[Kind]int{}
	for _, v := range r.Violations {
		m[v.Kind]++
	}
	return m
}

// String is a summary line, the facts, and the first violations, for a test log.
func (r *Report) String() string {
	var b strings.Builder
	f := &r.Facts
	if r.OK() {
		b.WriteString("history sound")
	} else {
		kinds := r.Kinds()
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, kinds[k]))
		}
		fmt.Fprintf(&b, "history broken: %d violations (%s)", len(r.Violations), strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "; %d requests (%d unlabelled), %d runs (%d RUNNING, %d not sent, %d interrupted received, %d interrupted not received), %d uncertain attempts (%d received)",
		f.Requests, f.Unlabelled, f.Runs, f.Running, f.NotSent, f.InterruptedReceived, f.InterruptedUnreceived, f.Uncertain, f.UncertainReceived)
	fmt.Fprintf(&b, "; grid: %d occurrences in %d schedules (%d ran, %d missed, %d skipped, %d paused, %d rerun), %d schedules skipped",
		f.Occurrences, f.SchedulesChecked, f.Ran, f.Missed, f.Skipped, f.Paused, f.Rerun, len(f.SchedulesSkipped))
	for _, s := range f.SchedulesSkipped {
		fmt.Fprintf(&b, "\n  grid check skipped schedule %d: %s", s.ScheduleID, s.Reason)
	}
	show := r.show
	if show <= 0 {
		show = 20
	}
	for i, v := range r.Violations {
		if i == show {
			fmt.Fprintf(&b, "\n  ... and %d more", len(r.Violations)-show)
			break
		}
		b.WriteString("\n  " + v.String())
	}
	return b.String()
}

// checker is one Check: the snapshot, the log and the report it fills.
type checker struct {
	snap    *snapshot
	reqs    []Request
	opts    Options
	targets map[int64]bool // nil: all
	rep     *Report
}

func (c *checker) violate(k Kind, schedule int64, at int64, run int64, format string, args ...any) {
	v := Violation{Kind: k, ScheduleID: schedule, RunID: run, Message: fmt.Sprintf(format, args...)}
	if at != 0 {
		v.Occurrence = fromMs(at)
	}
	c.rep.Violations = append(c.rep.Violations, v)
}

// Check reads db (driver "sqlite", or "pgx"/"postgres") in one read
// transaction and holds reqs, the sink's log, against it. The error is
// for a database that cannot be read; what the history breaks is in the
// report.
func Check(ctx context.Context, db *sql.DB, driver string, reqs []Request, opts Options) (*Report, error) {
	snap, err := readSnapshot(ctx, db, driver)
	if err != nil {
		return nil, fmt.Errorf("read the history: %w", err)
	}
	c := &checker{snap: snap, reqs: reqs, opts: opts, rep: &Report{Violations: []Violation{}, show: opts.Show}}
	if len(opts.Targets) > 0 {
		c.targets = map[int64]bool{}
		for _, id := range opts.Targets {
			c.targets[id] = true
		}
	}
	if c.opts.MaxOccurrences <= 0 {
		c.opts.MaxOccurrences = 1_000_000
	}
	c.checkRequests()
	c.checkGrid()
	c.checkCounters()
	return c.rep, nil
}
