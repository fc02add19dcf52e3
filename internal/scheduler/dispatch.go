package scheduler

import (
	"context"
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
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return // shutting down: the run is marked INTERRUPTED; or replaced
		}
		if ctx.Err() != nil { // both were ready, and select chose the slot
			<-s.sem
			if s.takeStarved.CompareAndSwap(true, false) {
				s.nudgeTake()
			}
			return
		}
		s.running.Add(1)
		res := s.cfg.Executor.Execute(ctx, job)
		s.running.Add(-1)
		<-s.sem
		if s.takeStarved.CompareAndSwap(true, false) {
			s.nudgeTake()
		}
		if s.execCtx.Err() != nil {
			return // cut off by shutdown: INTERRUPTED, not whatever the cut produced
		}
		s.addResult(res)
	}()
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
