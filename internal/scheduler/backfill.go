package scheduler

import (
	"context"
	"time"
)

// backfillTick is how often the loop serves running backfills; their rates
// are per second, so each tick inserts up to a second's worth.
const backfillTick = time.Second

// backfill serves the running backfills, if it is time, and returns when to
// look again: a tick away while one runs, else idleWait (a change, which
// creating a backfill is, looks again at once).
func (s *Scheduler) backfill(ctx context.Context, now time.Time) time.Time {
	if now.Before(s.backfillAt) {
		return s.backfillAt
	}
	s.writes.start(opBackfill)
	jobs, active, err := s.cfg.Store.BackfillStep(ctx, now, s.cfg.MaxConcurrent)
	s.writes.end(ctx, s.logger, opBackfill, err, "run backfills; retrying")
	switch {
	case err != nil:
		s.backfillAt = now.Add(s.cfg.RetryDelay)
	case active:
		s.backfillAt = now.Add(backfillTick)
	default:
		s.backfillAt = now.Add(idleWait)
	}
	if s.cluster == nil {
		for _, j := range jobs {
			s.dispatch(j)
		}
	}
	return s.backfillAt
}
