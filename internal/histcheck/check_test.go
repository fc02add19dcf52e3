package histcheck_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/histcheck"
	"github.com/apicron/apicron/internal/storetest"
)

// requireOnly fails unless rep holds exactly want violations of kind k and
// no other.
func requireOnly(t *testing.T, rep *histcheck.Report, k histcheck.Kind, want int) {
	t.Helper()
	if got := rep.Kinds(); !maps.Equal(got, map[histcheck.Kind]int{k: want}) {
		t.Fatalf("violations %v, want only %d of %s:\n%s", got, want, k, rep)
	}
}

// TestSoundHistory holds a history with every kind of occurrence (runs,
// a retry, an overlap skip, coalesced ones, a run not sent, a timeout, an
// interrupted run, a manual run, a pause, a CRON schedule) to be sound,
// with the facts it is made of.
func TestSoundHistory(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		rep := h.check(h.log.Requests())
		if !rep.OK() {
			t.Fatalf("a sound history is reported broken:\n%s", rep)
		}
		f := rep.Facts
		want := histcheck.Facts{Requests: 12, Runs: 13, NotSent: 1, Uncertain: 1, InterruptedReceived: 1,
			Occurrences: 19, Ran: 12, Missed: 3, Skipped: 1, Paused: 3, OffTimetableManual: 1, SchedulesChecked: 3}
		if f.Requests != want.Requests || f.Runs != want.Runs || f.Running != 0 || f.NotSent != want.NotSent ||
			f.Uncertain != want.Uncertain || f.UncertainReceived != 0 || f.InterruptedReceived != want.InterruptedReceived ||
			f.Occurrences != want.Occurrences || f.Ran != want.Ran || f.Missed != want.Missed || f.Skipped != want.Skipped ||
			f.Paused != want.Paused || f.OffTimetableManual != want.OffTimetableManual || f.SchedulesChecked != want.SchedulesChecked ||
			len(f.SchedulesSkipped) != 0 {
			t.Errorf("facts %+v, want %+v", f, want)
		}
	})
}

// TestRequestTwice: one attempt received twice is the occurrence sent twice.
func TestRequestTwice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		reqs := h.log.Requests()
		for _, r := range reqs {
			if r.RunID == h.ok.RunID {
				reqs = append(reqs, r)
				break
			}
		}
		rep := h.check(reqs)
		requireOnly(t, rep, histcheck.DuplicateSend, 1)
		if v := rep.Violations[0]; v.RunID != h.ok.RunID || v.ScheduleID != h.every.ID || !v.Occurrence.Equal(h.ok.ScheduledAt) {
			t.Errorf("violation %v, want run %d of schedule %d at %v", v, h.ok.RunID, h.every.ID, h.ok.ScheduledAt)
		}
	})
}

// TestOccurrenceFromTwoRuns: a second run's request for an occurrence
// that has its run is a duplicate send, of a run of another occurrence.
func TestOccurrenceFromTwoRuns(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		reqs := h.log.Requests()
		reqs = append(reqs, histcheck.Request{ScheduleID: h.every.ID, ScheduledAt: h.ok.ScheduledAt, Attempt: 1,
			RunID: h.cronMid.RunID, ReceivedAt: h.ok.ScheduledAt})
		rep := h.check(reqs)
		if got := rep.Kinds(); !maps.Equal(got, map[histcheck.Kind]int{histcheck.DuplicateSend: 1, histcheck.RunMismatch: 1}) {
			t.Fatalf("violations %v, want one duplicate_send and one run_mismatch:\n%s", got, rep)
		}
	})
}

// TestRequestWithoutRun: a request whose run id is no row.
func TestRequestWithoutRun(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		at := t0.Add(100 * time.Second)
		reqs := append(h.log.Requests(), histcheck.Request{ScheduleID: h.every.ID, ScheduledAt: at, Attempt: 1, RunID: 9999, ReceivedAt: at})
		rep := h.check(reqs)
		requireOnly(t, rep, histcheck.NoRun, 1)
		if v := rep.Violations[0]; v.RunID != 9999 || !v.Occurrence.Equal(at) {
			t.Errorf("violation %v, want run 9999 at %v", v, at)
		}
	})
}

// TestSentNeverReceived: a run answered (HTTP 200) whose request is not
// in the log.
func TestSentNeverReceived(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		rep := h.check(h.without(h.ok.RunID))
		requireOnly(t, rep, histcheck.NotReceived, 1)
		if v := rep.Violations[0]; v.RunID != h.ok.RunID {
			t.Errorf("violation %v, want run %d", v, h.ok.RunID)
		}
	})
}

// TestRetryNotReceived: the answered retry of a run whose first attempt
// arrived is owed too.
func TestRetryNotReceived(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		var reqs []histcheck.Request
		for _, r := range h.log.Requests() {
			if r.Attempt != 2 {
				reqs = append(reqs, r)
			}
		}
		requireOnly(t, h.check(reqs), histcheck.NotReceived, 1)
	})
}

// TestInterruptedNotReceived: an INTERRUPTED run may not have been sent;
// missing from the log it is a fact, not a violation.
func TestInterruptedNotReceived(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		var id int64
		for _, r := range h.log.Requests() {
			if r.ScheduleID == h.every.ID && r.ScheduledAt.Equal(t0.Add(70*time.Second)) {
				id = r.RunID
			}
		}
		rep := h.check(h.without(id))
		if !rep.OK() || rep.Facts.InterruptedReceived != 0 || rep.Facts.InterruptedUnreceived != 1 {
			t.Fatalf("interrupted run %d not received: want sound, one interrupted unreceived:\n%s", id, rep)
		}
	})
}

// TestRunDeleted: a run taken off the grid (its row, its count and its
// requests gone) leaves its occurrence unaccounted, on an INTERVAL and on
// a CRON schedule.
func TestRunDeleted(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		for _, name := range []string{"interval", "cron"} {
			t.Run(name, func(t *testing.T) {
				h := newHistory(t, driver)
				job := h.ok
				if name == "cron" {
					job = h.cronMid
				}
				h.tamper("DELETE FROM attempts WHERE run_id = ?", job.RunID)
				h.tamper("DELETE FROM runs WHERE id = ?", job.RunID)
				h.tamper("UPDATE run_stats SET runs_success = runs_success - 1 WHERE scope IN (0, ?)", job.ScheduleID)
				rep := h.check(h.without(job.RunID))
				requireOnly(t, rep, histcheck.Unaccounted, 1)
				if v := rep.Violations[0]; v.ScheduleID != job.ScheduleID || !v.Occurrence.Equal(job.ScheduledAt) {
					t.Errorf("violation %v, want schedule %d at %v", v, job.ScheduleID, job.ScheduledAt)
				}
			})
		}
	})
}

// TestRunOffTimetable: a run of the timetable moved off it.
func TestRunOffTimetable(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		h.tamper("UPDATE runs SET scheduled_at = scheduled_at + 500 WHERE id = ?", h.ok.RunID)
		var reqs []histcheck.Request
		for _, r := range h.log.Requests() {
			if r.RunID == h.ok.RunID {
				r.ScheduledAt = r.ScheduledAt.Add(500 * time.Millisecond)
			}
			reqs = append(reqs, r)
		}
		rep := h.check(reqs)
		if got := rep.Kinds(); !maps.Equal(got, map[histcheck.Kind]int{histcheck.OffTimetable: 1, histcheck.Unaccounted: 1}) {
			t.Fatalf("violations %v, want one off_timetable and the occurrence it left unaccounted:\n%s", got, rep)
		}
	})
}

// TestCounterOffByOne: run_stats one run over the rows, or one miss over
// the misses rows.
func TestCounterOffByOne(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		for _, column := range []string{"runs_success", "runs_interrupted", "missed", "skipped_overlap"} {
			t.Run(column, func(t *testing.T) {
				h := newHistory(t, driver)
				h.tamper("UPDATE run_stats SET "+column+" = "+column+" + 1 WHERE scope = ?", h.every.ID)
				rep := h.check(h.log.Requests())
				requireOnly(t, rep, histcheck.Counters, 1)
				if v := rep.Violations[0]; v.ScheduleID != h.every.ID {
					t.Errorf("violation %v, want schedule %d", v, h.every.ID)
				}
			})
		}
	})
}

// TestMissCountedTwice: a misses row that counts an occurrence which has
// a run of the timetable, its counter raised to match.
func TestMissCountedTwice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		at := h.ok.ScheduledAt.UnixMilli()
		h.tamper(`INSERT INTO misses (schedule_id, from_at, until_at, count, reason, lateness_ms, at) VALUES (?, ?, ?, 1, 'coalesced', 0, ?)`,
			h.every.ID, at, at+1, at)
		h.tamper("UPDATE run_stats SET missed = missed + 1 WHERE scope IN (0, ?)", h.every.ID)
		requireOnly(t, h.check(h.log.Requests()), histcheck.CountedTwice, 1)
	})
}

// TestOptionsTargets: invariant 3 holds only the targets named.
func TestOptionsTargets(t *testing.T) {
	h := newHistory(t, "sqlite")
	db := h.open(false)
	defer db.Close()
	rep, err := histcheck.Check(t.Context(), db, "sqlite", h.without(h.ok.RunID), histcheck.Options{Targets: []int64{h.target.ID + 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("a run of a target the sink does not serve is held to the sink:\n%s", rep)
	}
}

// TestRerunSound: a run of a schedule with retry_interrupted, sent, cut
// off by a stop and sent again at the next start (X-Apicron-Rerun 1), is
// one occurrence sent as it must be; the same attempt of one sending
// arriving twice is a duplicate, and a rerun the run does not record is an
// unrecorded attempt.
func TestRerunSound(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, driver string) {
		h := newHistory(t, driver)
		again := h.schedule(&apicron.Schedule{Name: "again", Type: apicron.Interval, IntervalSeconds: 3600, RetryInterrupted: true})
		job := h.claim(200*time.Second, again)
		h.exec.Execute(t.Context(), job) // sent, then the process stops before its result is written
		_, jobs, err := h.db.ResumeRunning(t.Context(), h.clock.Now(), "stopped")
		if err != nil || len(jobs) != 1 || jobs[0].Reruns != 1 {
			t.Fatalf("resume: %+v %v", jobs, err)
		}
		h.send(jobs[0])
		reqs := h.log.Requests()
		var mine []histcheck.Request
		for _, r := range reqs {
			if r.RunID == job.RunID {
				mine = append(mine, r)
			}
		}
		if len(mine) != 2 || mine[0].Rerun != 0 || mine[1].Rerun != 1 || mine[1].Attempt != 1 {
			t.Fatalf("requests of the run: %+v", mine)
		}
		if rep := h.check(reqs); !rep.OK() {
			t.Fatalf("a run sent again is reported broken:\n%s", rep)
		}
		requireOnly(t, h.check(append(slices.Clone(reqs), mine[0])), histcheck.DuplicateSend, 1)
		requireOnly(t, h.check(append(slices.Clone(reqs), mine[1])), histcheck.DuplicateSend, 1)
		later := mine[1]
		later.Rerun = 2
		requireOnly(t, h.check(append(slices.Clone(reqs), later)), histcheck.UnrecordedAttempt, 1)
		// A run recorded as sent again beyond the bound, and its request.
		h.tamper("UPDATE runs SET reruns = ? WHERE id = ?", apicron.MaxInterruptedReruns+1, job.RunID)
		beyond := mine[1]
		beyond.Rerun = apicron.MaxInterruptedReruns + 1
		requireOnly(t, h.check(append(h.without(job.RunID), mine[0], beyond)), histcheck.DuplicateSend, 1)
	})
}
