package httpapi

import (
	"context"
	"time"

	"github.com/apicron/apicron"
)

type ledgerInput struct {
	ID    int64     `path:"id" doc:"Resource id"`
	Since time.Time `query:"since" doc:"The range's start (inclusive, RFC 3339); default an hour ago"`
	Until time.Time `query:"until" doc:"The range's end (exclusive, RFC 3339); default an hour from now"`
}

// Ledger is GET /schedules/{id}/occurrences: every occurrence of a
// schedule in a range, and what became of it.
type Ledger struct {
	ScheduleID  int64         `json:"schedule_id"`
	Since       string        `json:"since" format:"date-time"`
	Until       string        `json:"until" format:"date-time"`
	Truncated   bool          `json:"truncated" doc:"The range holds more than 1000 occurrences: these are its first 1000; ask again from the last one's at"`
	Occurrences []LedgerEntry `json:"occurrences" nullable:"false"`
}

// LedgerEntry is one occurrence and what became of it.
type LedgerEntry struct {
	At          string     `json:"at" format:"date-time" doc:"The occurrence, as the timetable places it"`
	FireAt      string     `json:"fire_at" format:"date-time" doc:"When it was (or will be) sent: at plus its jitter"`
	Status      string     `json:"status" enum:"ran,skipped_overlap,coalesced,misfire,window_ended,paused,before_created,outside_bounds,stopped,planned,unaccounted" doc:"ran (run has it), skipped_overlap (a run was in flight), coalesced (claimed late with a later one, whose run covered it), misfire (too late for the misfire policy; none ran), window_ended, paused, before_created, outside_bounds (before start_at or at or after end_at), stopped, planned (to come), unaccounted (past, no run and no record: the timetable was another one then)"`
	Reason      *string    `json:"reason" doc:"Why, in words: the pause's or stop's reason, how late the claim was"`
	LatenessMs  *int64     `json:"lateness_ms" doc:"For coalesced and misfire: how late the claim that decided it was"`
	Cause       *string    `json:"cause" enum:"down,overloaded" doc:"For coalesced and misfire: down (it came due before the apicron process that claimed it started) or overloaded (apicron was running but claimed it late, or the dispatcher lease was changing hands)"`
	OnTimetable bool       `json:"on_timetable" doc:"False for a run at an instant the timetable as it is now has no occurrence at: a manual run, or one of an earlier timetable"`
	Run         *LedgerRun `json:"run" doc:"The occurrence's run, or the run a coalesced occurrence was covered by"`
}

// LedgerRun is the run an occurrence got.
type LedgerRun struct {
	ID         int64   `json:"id"`
	Status     string  `json:"status"`
	Trigger    string  `json:"trigger"`
	StartedAt  string  `json:"started_at" format:"date-time"`
	StatusCode *int    `json:"status_code"`
	ErrorType  *string `json:"error_type"`
}

type ledgerOutput struct {
	Body Ledger
}

// maxLedgerRange is the longest range a ledger covers.
const maxLedgerRange = 366 * 24 * time.Hour

func (s *Server) ledger(ctx context.Context, in *ledgerInput) (*ledgerOutput, error) {
	now := apicron.TruncMillis(s.clock.Now())
	since, until := now.Add(-time.Hour), now.Add(time.Hour)
	if !in.Since.IsZero() {
		since = apicron.TruncMillis(in.Since)
	}
	if !in.Until.IsZero() {
		until = apicron.TruncMillis(in.Until)
	}
	switch {
	case !since.Before(until):
		return nil, invalidParam("query.until", "must be after since")
	case until.Sub(since) > maxLedgerRange:
		return nil, invalidParam("query.until", "the range may be at most 366 days")
	}
	sc, entries, more, err := s.store.Ledger(ctx, in.ID, since, until, now)
	if err != nil {
		return nil, s.apiError(ctx, "schedule occurrences", err)
	}
	out := Ledger{ScheduleID: sc.ID, Since: formatTime(since), Until: formatTime(until), Truncated: more,
		Occurrences: make([]LedgerEntry, 0, len(entries))}
	for _, e := range entries {
		le := LedgerEntry{At: formatTime(e.At), FireAt: formatTime(e.FireAt), Status: e.Status, Reason: nullString(e.Reason),
			OnTimetable: e.OnTimetable}
		if e.Status == apicron.MissCoalesced || e.Status == apicron.MissMisfire {
			l := e.Lateness.Milliseconds()
			le.LatenessMs, le.Cause = &l, nullString(e.Cause)
		}
		if r := e.Run; r != nil {
			le.Run = &LedgerRun{ID: r.ID, Status: string(r.Status), Trigger: string(r.Trigger), StartedAt: formatTime(r.StartedAt),
				StatusCode: r.StatusCode, ErrorType: nullString(r.ErrorType)}
		}
		out.Occurrences = append(out.Occurrences, le)
	}
	return &ledgerOutput{Body: out}, nil
}
