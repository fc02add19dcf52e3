package scheduler

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/apicron/apicron"
)

// Changed implements apicron.ChangeNotifier: the schedule is re-read from the
// store before the next step. It never blocks.
func (s *Scheduler) Changed(id int64) {
	s.mu.Lock()
	s.changed[id] = struct{}{}
	s.mu.Unlock()
	s.nudge()
}

func (s *Scheduler) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// resync replaces the queue with the store's ACTIVE schedules.
func (s *Scheduler) resync(ctx context.Context) error {
	q := newQueue()
	if err := s.cfg.Store.ActiveSchedules(ctx, func(id int64, next time.Time) { q.set(id, next) }); err != nil {
		return err
	}
	s.mu.Lock()
	s.q = q
	s.mu.Unlock()
	s.nudge()
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var resync <-chan time.Time
	if s.cfg.ResyncInterval > 0 {
		t := time.NewTicker(s.cfg.ResyncInterval)
		defer t.Stop()
		resync = t.C
	}
	for {
		wait := s.Step(ctx, s.cfg.Clock.Now())
		due := time.Now().Add(wait)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			s.cfg.Metrics.LoopLag(time.Since(due))
		case <-s.wake:
		case <-resync:
			if err := s.resync(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("resync schedules", "err", err)
			}
		}
	}
}

// idleWait is how long the loop sleeps with nothing queued; a change wakes it sooner.
const idleWait = time.Minute

// Step applies pending changes, claims every schedule due at now, dispatches
// the jobs, and returns how long until the next is due. It is the loop's
// deterministic step: tests call it with a fake clock.
func (s *Scheduler) Step(ctx context.Context, now time.Time) time.Duration {
	if !s.lastStep.IsZero() && now.Before(s.lastStep.Add(-time.Second)) {
		// Occurrences are instants of the wall clock: each schedule waits
		// for its next one, and those already run are not run again.
		s.logger.Warn("the clock went back: schedules wait for their next occurrence; none fires twice",
			"by", s.lastStep.Sub(now).Round(time.Millisecond), "from", s.lastStep, "to", now)
	}
	s.lastStep = now
	if s.applyChanges(ctx) {
		s.backfillAt = time.Time{} // a change may be a new backfill
	}
	if !s.isLeader() {
		s.writes.forget(opClaim) // claiming is another node's job now
		s.writes.forget(opBackfill)
		return idleWait
	}
	until := now.Add(s.cfg.ClaimLead)
	for ctx.Err() == nil { // stopping: no claim begins, the one under way ends (see claim)
		s.mu.Lock()
		ids := s.q.popDue(until, s.cfg.ClaimBatch)
		s.mu.Unlock()
		if len(ids) == 0 {
			break
		}
		s.claim(ctx, now, until, ids)
		if len(ids) < s.cfg.ClaimBatch {
			break
		}
	}
	backfillAt := idleWait
	if ctx.Err() == nil {
		backfillAt = s.backfill(ctx, now).Sub(s.cfg.Clock.Now())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, ok := s.q.peek()
	if !ok {
		// Nothing left to claim (the schedules whose claim failed were
		// paused or deleted since): no claim is failing any more.
		s.writes.forget(opClaim)
		return max(min(idleWait, backfillAt), 0)
	}
	// At most idleWait: the timer runs on the monotonic clock, so a step of
	// the wall clock (NTP, a VM restored) is noticed within it, and a
	// schedule due in hours does not fire late by as much as the clock was
	// stepped forward.
	return max(min(next.Sub(s.cfg.Clock.Now())-s.cfg.ClaimLead/2, backfillAt, idleWait), 0)
}

// applyChanges re-reads the changed schedules, and reports whether there were any.
func (s *Scheduler) applyChanges(ctx context.Context) bool {
	s.mu.Lock()
	if len(s.changed) == 0 {
		s.mu.Unlock()
		return false
	}
	ids := slices.Collect(maps.Keys(s.changed))
	clear(s.changed)
	s.mu.Unlock()
	next, err := s.cfg.Store.NextRunAts(ctx, ids)
	if err != nil {
		s.logger.Error("read changed schedules", "schedules", len(ids), "err", err)
		s.mu.Lock()
		for _, id := range ids {
			s.changed[id] = struct{}{} // try again on the next step
		}
		s.mu.Unlock()
		return true
	}
	s.mu.Lock()
	for _, id := range ids {
		if t, ok := next[id]; ok {
			s.q.set(id, t)
		} else {
			s.q.remove(id)
		}
	}
	s.mu.Unlock()
	return true
}

func (s *Scheduler) claim(ctx context.Context, now, until time.Time, ids []int64) {
	// Alone on its database this process executes every run it claims, so
	// it knows which schedules have one in flight, at once and without a
	// query; the runs table would still show a run as RUNNING until its
	// result is written. Sharing the database, other nodes' runs count too.
	inflight := s.inflightOf
	if s.cluster != nil {
		inflight = nil
	}
	// A claim under way when the engine stops is finished, not cut off: a
	// transaction cancelled while its commit is on its way may still be
	// applied by the database after the client gave up on it, leaving runs
	// that no take, already done by then, will see. It is bounded by
	// FinalWriteTimeout once ctx ends.
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.FinalWriteTimeout, cancel) })
	defer stop()
	s.writes.start(opClaim)
	claimedAt, gen := time.Now(), s.liveGen.Load() // as a take's (take): the monotonic clock, which a pause does not stop
	results, err := s.cfg.Store.Claim(cctx, now, until, ids, inflight)
	if errors.Is(err, apicron.ErrLeaseLost) {
		// The database answered: this node just does not lead any more.
		s.writes.end(ctx, s.logger, opClaim, nil, "")
		s.stepDown()
	} else {
		s.writes.end(ctx, s.logger, opClaim, err, "claim due schedules; retrying", "schedules", len(ids))
	}
	if err != nil {
		// Nothing was claimed: the transaction rolled back. Try again later.
		s.mu.Lock()
		for _, id := range ids {
			s.q.set(id, now.Add(s.cfg.RetryDelay))
		}
		s.mu.Unlock()
		return
	}
	s.cfg.Metrics.WriteBatch(opLabels[opClaim], len(ids))
	s.mu.Lock()
	for _, r := range results {
		if r.Next != nil {
			s.q.set(r.ScheduleID, *r.Next)
		}
	}
	s.mu.Unlock()
	for _, r := range results {
		if r.Job != nil {
			s.cfg.Metrics.OccurrenceClaimed(r.Job.Trigger)
		}
		for _, m := range r.Misses {
			s.cfg.Metrics.OccurrencesMissed(m.Reason, m.Count)
		}
		if r.Waiting && s.cluster == nil {
			s.wait(r.ScheduleID)
		}
		if len(r.Interrupted) > 0 {
			s.cancelRuns(r.Interrupted) // on a shared database, every node hears ChannelCancel too
		}
	}
	if s.cluster != nil {
		// The runs wait in the database for whichever node takes them; the
		// claim's NOTIFY wakes every node, this one included, so they race
		// fairly. A node alone among the live ones took its runs in the
		// claim itself (their TakeToken set): it sends them as taken ones.
		for _, r := range results {
			if r.Job != nil && r.Job.TakeToken != 0 {
				r.Job.Fence = s.fence(r.Job, claimedAt, gen)
				s.dispatch(r.Job)
			}
		}
		return
	}
	for _, r := range results {
		if r.Job != nil {
			s.dispatch(r.Job)
		}
	}
}
