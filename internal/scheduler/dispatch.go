package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// inflightOf says how many of schedule id's jobs are dispatched and not yet executed.
func (s *Scheduler) inflightOf(id int64) int {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	return s.busy[id]
}

func (s *Scheduler) setBusy(id int64, delta int) {
	s.busyMu.Lock()
	n := s.busy[id] + delta
	if n > 0 {
		s.busy[id] = n
	} else {
		delete(s.busy, id)
	}
	wake := delta < 0 && s.waiting[id]
	if wake {
		delete(s.waiting, id)
	}
	s.busyMu.Unlock()
	if wake {
		s.Changed(id) // its buffered occurrence may run now
	}
}

// wait notes that schedule id's due occurrence waits for its run in flight.
func (s *Scheduler) wait(id int64) {
	s.busyMu.Lock()
	if s.busy[id] > 0 {
		s.waiting[id] = true
	}
	s.busyMu.Unlock()
}

// cancelRuns stops the requests of the given runs, if this node runs them
// (overlap_policy replace interrupted them).
func (s *Scheduler) cancelRuns(ids []int64) {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	for _, id := range ids {
		if cancel := s.cancels[id]; cancel != nil {
			cancel()
		}
	}
}

// dispatch runs job at its time, under the concurrency bound, without
// blocking the loop.
func (s *Scheduler) dispatch(job *apicron.Job) {
	s.inflight.Add(1)
	s.active.Add(1)
	s.setBusy(job.ScheduleID, 1)
	ctx, done := s.execCtx, context.CancelFunc(func() {})
	if job.Replaceable {
		// Its schedule's next occurrence may interrupt it (replace), while it
		// waits for its time or a slot too: registered before dispatch
		// returns, so no later claim misses it.
		ctx, done = context.WithCancel(ctx)
		s.busyMu.Lock()
		s.cancels[job.RunID] = done
		s.busyMu.Unlock()
	}
	go func() {
		defer s.inflight.Done()
		defer s.active.Add(-1)
		// The schedule is free for its next occurrence once the request is
		// over, though its result may wait a few milliseconds to be written.
		defer s.setBusy(job.ScheduleID, -1)
		if job.Replaceable {
			defer func() {
				s.busyMu.Lock()
				delete(s.cancels, job.RunID)
				s.busyMu.Unlock()
				done()
			}()
		}
		if d := job.FireAt().Sub(s.cfg.Clock.Now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return // shutting down (INTERRUPTED at the next start) or replaced (INTERRUPTED already)
			}
		}
		if s.rerunTooLate(job) {
			s.notRerun(job)
			return
		}
		// waited is how long the run waits for its host: a slot, then its
		// turn under the rate limit (both node-local). The turn comes
		// before a slot of MaxConcurrent, so a run waiting for it holds none.
		var (
			waited time.Duration
			host   string
		)
		if s.cfg.HostMaxConcurrent > 0 || job.RateLimit != nil {
			host = hostKey(job.URL)
		}
		if s.cfg.HostMaxConcurrent > 0 {
			release, w, ok := s.hostSlot(ctx, job, host)
			if !ok {
				return
			}
			defer release()
			waited = w
		}
		if job.RateLimit != nil {
			w, ok := s.paceFirst(ctx, job, host, waited)
			if !ok {
				return
			}
			waited += w
			job.Pace = s.paceRetry(job, host) // each retry takes a token too
		} else if s.rates.declared.Load() > 0 {
			s.rates.undeclare(job, s.cfg.Clock.Now()) // its limit may have been removed
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return // shutting down: the run is marked INTERRUPTED; or replaced
		}
		if ctx.Err() != nil { // both were ready, and select chose the slot
			s.releaseSlot()
			return
		}
		if s.rerunTooLate(job) { // checked again: the waits for its host, its turn and a slot may have passed the deadline
			s.releaseSlot()
			s.notRerun(job)
			return
		}
		if job.Fence != nil {
			if err := job.Fence(ctx); err != nil {
				s.releaseSlot()
				s.unsent(job, err)
				return
			}
		}
		s.running.Add(1)
		res := s.cfg.Executor.Execute(ctx, job)
		s.running.Add(-1)
		s.releaseSlot()
		if s.execCtx.Err() != nil {
			return // cut off by shutdown: INTERRUPTED, not whatever the cut produced
		}
		res.Waited += waited
		s.addResult(job, res)
	}()
}

// unsent records a run whose fence refused its request (Job.Fence, which
// logged why). One the reaper took is INTERRUPTED already, and left as it
// is; one still this node's, whose ownership the database could not
// confirm, is recorded INTERRUPTED, not sent (Finish leaves it alone if the
// reaper was first); at shutdown it is INTERRUPTED at the next start.
func (s *Scheduler) unsent(job *apicron.Job, why error) {
	if s.execCtx.Err() != nil || errors.Is(why, errRunGone) {
		return
	}
	now := s.cfg.Clock.Now()
	s.addResult(job, apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now, FinishedAt: now,
		Outcome: apicron.Outcome{Status: apicron.Interrupted, ErrorType: apicron.ErrInterrupted,
			ErrorMessage: "not sent: this node could not confirm the run was still its own (" + why.Error() + ")"}})
}

// releaseSlot gives back a slot of MaxConcurrent, and wakes the take loop
// if it found none free.
func (s *Scheduler) releaseSlot() {
	<-s.sem
	if s.takeStarved.CompareAndSwap(true, false) {
		s.nudgeTake()
	}
}

// rerunTooLate reports whether job runs again (retry_interrupted) and its
// schedule's next occurrence is due: it must not be sent (notRerun).
func (s *Scheduler) rerunTooLate(job *apicron.Job) bool {
	return job.Reruns > 0 && !job.RetryDeadline.IsZero() && !s.cfg.Clock.Now().Before(job.RetryDeadline)
}

// notRerun records a run given back to run again (retry_interrupted) that
// came to be taken only once its schedule's next occurrence was due: that
// occurrence does the work, and the run is INTERRUPTED as it would have been
// without retry_interrupted, saying why it did not run again.
func (s *Scheduler) notRerun(job *apicron.Job) {
	now := s.cfg.Clock.Now()
	s.logger.Warn("run not run again: its schedule's next occurrence is due", "run_id", job.RunID, "schedule_id", job.ScheduleID,
		"next", job.RetryDeadline)
	s.addResult(job, apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now, FinishedAt: now,
		Outcome: apicron.Outcome{Status: apicron.Interrupted, ErrorType: apicron.ErrInterrupted,
			ErrorMessage: job.RerunReason + "; not run again: the next occurrence was due at " + job.RetryDeadline.UTC().Format(time.RFC3339Nano)}})
}

// Submit implements apicron.Dispatcher: a run inserted outside a claim (a
// manual one) is dispatched as a claimed one is; on a shared database it
// waits in the runs table, and this node is woken to take it (as is every
// other, by the insert's NOTIFY).
func (s *Scheduler) Submit(job *apicron.Job) {
	if s.execCtx.Err() != nil {
		return // stopped: the run is INTERRUPTED at the next start
	}
	if len(job.Replaced) > 0 {
		s.cancelRuns(job.Replaced)
	}
	if s.cluster != nil {
		s.nudgeTake()
		return
	}
	s.dispatch(job)
}

// hostSlot waits for a slot of host, the job's (HostMaxConcurrent), and
// returns its release and how long it waited. A run still waiting when its
// schedule's next occurrence comes is recorded FAILED, host_limit, unsent;
// one cut off by shutdown or a replace returns false with nothing recorded.
func (s *Scheduler) hostSlot(ctx context.Context, job *apicron.Job, host string) (func(), time.Duration, bool) {
	s.busyMu.Lock()
	slots := s.hosts[host]
	if slots == nil {
		slots = make(chan struct{}, s.cfg.HostMaxConcurrent)
		s.hosts[host] = slots
	}
	s.busyMu.Unlock()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, 0, true
	default:
	}
	var deadline <-chan time.Time
	if !job.RetryDeadline.IsZero() {
		t := time.NewTimer(job.RetryDeadline.Sub(s.cfg.Clock.Now()))
		defer t.Stop()
		deadline = t.C
	}
	start := s.cfg.Clock.Now()
	s.hostWaiting.Add(1)
	defer s.hostWaiting.Add(-1)
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, s.cfg.Clock.Now().Sub(start), true
	case <-ctx.Done():
		return nil, 0, false
	case <-deadline:
		now := s.cfg.Clock.Now()
		s.addResult(job, apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: start, FinishedAt: now, Waited: now.Sub(start),
			Outcome: apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrHostLimit,
				ErrorMessage: fmt.Sprintf("not sent: %s had %d calls in flight (HOST_MAX_CONCURRENCY) for %s, until the schedule's next occurrence",
					host, s.cfg.HostMaxConcurrent, now.Sub(start).Round(time.Millisecond))}})
		return nil, 0, false
	}
}

// hostKey is the host a target URL (a template) calls: what lies between
// its scheme and its path, in lower case.
func hostKey(rawURL string) string {
	rest := rawURL
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.ToLower(rest)
}
