package scheduler

import (
	"time"

	"github.com/apicron/apicron"
)

func (s *Scheduler) isBusy(id int64) bool {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	return s.busy[id] > 0
}

func (s *Scheduler) setBusy(id int64, delta int) {
	s.busyMu.Lock()
	if n := s.busy[id] + delta; n > 0 {
		s.busy[id] = n
	} else {
		delete(s.busy, id)
	}
	s.busyMu.Unlock()
}

// dispatch runs job at its time, under the concurrency bound, without
// blocking the loop.
func (s *Scheduler) dispatch(job *apicron.Job) {
	s.inflight.Add(1)
	s.active.Add(1)
	s.setBusy(job.ScheduleID, 1)
	go func() {
		defer s.inflight.Done()
		defer s.active.Add(-1)
		// The schedule is free for its next occurrence once the request is
		// over, though its result may wait a few milliseconds to be written.
		defer s.setBusy(job.ScheduleID, -1)
		if d := job.FireAt().Sub(s.cfg.Clock.Now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.execCtx.Done():
				t.Stop()
				return
			}
		}
		select {
		case s.sem <- struct{}{}:
		case <-s.execCtx.Done():
			return // shutting down: the run is marked INTERRUPTED
		}
		s.running.Add(1)
		res := s.cfg.Executor.Execute(s.execCtx, job)
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
	if s.cluster != nil {
		s.nudgeTake()
		return
	}
	s.dispatch(job)
}
