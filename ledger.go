package apicron

import (
	"slices"
	"time"
)

// Miss reasons: why occurrences of a schedule got no run of their own.
const (
	// MissOverlap: a run of the schedule was in flight (overlap_policy skip or allow at max_parallel).
	MissOverlap = "skipped_overlap"
	// MissCoalesced: claimed late, together with a later occurrence whose run covers them (RunID).
	MissCoalesced = "coalesced"
	// MissMisfire: claimed later than the misfire policy allows; none ran.
	MissMisfire = "misfire"
	// MissWindowEnded: the WINDOW had ended when they were claimed.
	MissWindowEnded = "window_ended"
)

// Miss records occurrences of a schedule, [From, Until), that got no run
// of their own, and why: the claim writes one whenever it skips or
// coalesces, so the ledger can say what became of every occurrence.
type Miss struct {
	ScheduleID  int64
	From, Until time.Time
	Count       int64
	Reason      string
	// RunID is the run they were coalesced into (MissCoalesced), or 0.
	RunID int64
	// Lateness is how late the claim that decided it was.
	Lateness time.Duration
	// Cause says why it was late, for MissCoalesced and MissMisfire:
	// CauseDown or CauseOverloaded.
	Cause string
	At    time.Time // when it was decided
}

// Causes of a late claim.
const (
	// CauseDown: the occurrence came due before the claiming process started.
	CauseDown = "down"
	// CauseOverloaded: the process was running but claimed it late (it was
	// overloaded, or the dispatcher lease was changing hands).
	CauseOverloaded = "overloaded"
)

// Ledger statuses: what became of an occurrence.
const (
	LedgerRan           = "ran"
	LedgerPaused        = "paused"
	LedgerBeforeCreated = "before_created"
	LedgerOutside       = "outside_bounds"
	LedgerStopped       = "stopped"
	LedgerPlanned       = "planned"
	// LedgerUnaccounted: past, with no run and no record; the timetable
	// may have been another one then (an update changed it).
	LedgerUnaccounted = "unaccounted"
)

// LedgerEntry is one occurrence in the ledger, and what became of it.
type LedgerEntry struct {
	At     time.Time
	FireAt time.Time
	// Status is a Ledger* status or a Miss* reason.
	Status string
	// Run is the occurrence's run, or for a coalesced one the run that covered it.
	Run *Run
	// Reason says why, in words: the pause's reason, the stop's, how late the claim was.
	Reason string
	// OnTimetable is false for a run at an instant the timetable (as it is
	// now) has no occurrence at: a manual run, or one of an earlier timetable.
	OnTimetable bool
	Lateness    time.Duration // of a Miss's claim
	Cause       string        // of a Miss's lateness
}

// MaxLedger is the most occurrences one ledger lists.
const MaxLedger = 1000

// BuildLedger lays out every occurrence the schedule's timetable (as it is
// now, without its start_at and end_at) has in [since, until), at most
// MaxLedger, with what became of it, from the schedule's runs and misses in
// the range and its events; runs at other instants are listed too. It
// reports whether the range held more occurrences.
func BuildLedger(s *Schedule, runs []*Run, misses []Miss, events []*ScheduleEvent, since, until, now time.Time) ([]LedgerEntry, bool) {
	tt := s.baseTimetable()
	var occ []time.Time
	at := tt.Next(since.Add(-time.Nanosecond))
	for !at.IsZero() && at.Before(until) && len(occ) < MaxLedger {
		occ = append(occ, at)
		at = tt.Next(at)
	}
	truncated := !at.IsZero() && at.Before(until)

	byAt := make(map[int64]*Run, len(runs))
	byID := make(map[int64]*Run, len(runs))
	for _, r := range runs {
		byAt[r.ScheduledAt.UnixMilli()] = r
		byID[r.ID] = r
	}
	type span struct {
		from, to time.Time
		reason   string
	}
	var (
		pauses    []span
		stoppedAt time.Time
		stopWhy   string
		updatedAt []time.Time
	)
	evs := slices.Clone(events)
	slices.SortFunc(evs, func(a, b *ScheduleEvent) int { return int(a.ID - b.ID) })
	for _, e := range evs {
		switch e.Kind {
		case EventPaused:
			if n := len(pauses); n > 0 && pauses[n-1].to.IsZero() {
				pauses[n-1].reason = detailString(e.Detail, "reason") // a paused schedule paused again
				continue
			}
			pauses = append(pauses, span{from: e.At, reason: detailString(e.Detail, "reason")})
		case EventResumed:
			if n := len(pauses); n > 0 && pauses[n-1].to.IsZero() {
				pauses[n-1].to = e.At
			}
		case EventStopped:
			stoppedAt, stopWhy = e.At, detailString(e.Detail, "reason")
		case EventUpdated:
			updatedAt = append(updatedAt, e.At)
		}
	}
	var out []LedgerEntry
	seen := map[int64]bool{}
	for _, at := range occ {
		e := LedgerEntry{At: at, FireAt: s.FireAt(at), OnTimetable: true}
		if r := byAt[at.UnixMilli()]; r != nil {
			e.Status, e.Run, e.FireAt = LedgerRan, r, r.ScheduledAt.Add(r.Jitter)
			seen[r.ID] = true
			out = append(out, e)
			continue
		}
		if m := missAt(misses, at); m != nil {
			e.Status, e.Lateness, e.Cause = m.Reason, m.Lateness, m.Cause
			e.Reason = missReason(m)
			if m.RunID != 0 {
				e.Run = byID[m.RunID]
			}
			out = append(out, e)
			continue
		}
		switch {
		case at.Before(s.CreatedAt):
			e.Status = LedgerBeforeCreated
		case s.StartAt != nil && at.Before(*s.StartAt), s.EndAt != nil && !at.Before(*s.EndAt):
			e.Status = LedgerOutside
		case !stoppedAt.IsZero() && !at.Before(stoppedAt):
			e.Status, e.Reason = LedgerStopped, stopWhy
		default:
			for _, p := range pauses {
				if !at.Before(p.from) && (p.to.IsZero() || at.Before(p.to)) {
					e.Status, e.Reason = LedgerPaused, p.reason
					break
				}
			}
		}
		if e.Status == "" {
			if !s.FireAt(at).Before(now) || (s.NextRunAt != nil && !at.Before(*s.NextRunAt)) {
				e.Status = LedgerPlanned
			} else {
				e.Status = LedgerUnaccounted
				for _, u := range updatedAt {
					if u.After(at) {
						e.Reason = "the schedule was updated at " + u.UTC().Format(TimeFormat) + "; its timetable may have differed then"
						break
					}
				}
			}
		}
		out = append(out, e)
	}
	for _, r := range runs {
		if !seen[r.ID] && !r.ScheduledAt.Before(since) && r.ScheduledAt.Before(until) {
			out = append(out, LedgerEntry{At: r.ScheduledAt, FireAt: r.ScheduledAt.Add(r.Jitter), Status: LedgerRan, Run: r})
		}
	}
	slices.SortStableFunc(out, func(a, b LedgerEntry) int { return a.At.Compare(b.At) })
	return out, truncated
}

func missAt(misses []Miss, at time.Time) *Miss {
	for i := range misses {
		m := &misses[i]
		if !at.Before(m.From) && at.Before(m.Until) {
			return m
		}
	}
	return nil
}

func missReason(m *Miss) string {
	late := "claimed " + m.Lateness.Round(time.Millisecond).String() + " after its time"
	switch m.Cause {
	case CauseDown:
		late += " (apicron was not running when it came due)"
	case CauseOverloaded:
		late += " (apicron was running but late: overloaded, or the dispatcher lease changing hands)"
	}
	switch m.Reason {
	case MissOverlap:
		return "a run of the schedule was in flight (overlap_policy)"
	case MissCoalesced:
		return late + " and coalesced into a later occurrence's run"
	case MissMisfire:
		return late + ", later than the misfire policy allows"
	case MissWindowEnded:
		return "the window had ended when it was claimed"
	}
	return m.Reason
}

func detailString(d map[string]any, key string) string {
	s, _ := d[key].(string)
	return s
}
