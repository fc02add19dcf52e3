package scheduler

import (
	"context"
	"time"
)

// Pruner deletes old runs; the store implements it.
type Pruner interface {
	// PruneRuns deletes up to limit runs finished before cutoff and returns how many.
	PruneRuns(ctx context.Context, cutoff time.Time, limit int) (int64, error)
	// PruneKeptRuns deletes up to limit finished runs of the schedules that
	// keep more than their keep_runs (or keepDefault for a schedule without
	// one; 0 is no cap), the oldest beyond each one's newest, and returns how many.
	PruneKeptRuns(ctx context.Context, keepDefault, limit int) (int64, error)
	// PruneHousekeeping deletes the per-minute counters past their week,
	// expired logouts and, with a run cutoff (not zero), up to limit schedule
	// events and finished notifications from before it; it returns how many.
	PruneHousekeeping(ctx context.Context, runCutoff time.Time, limit int) (int64, error)
}

const (
	pruneEvery = time.Minute
	pruneBatch = 1000
	// prunePause separates batches, so pruning a large backlog never holds
	// the database's writer for long.
	prunePause = 50 * time.Millisecond
)

// pruneLoop deletes runs older than Retention and runs beyond the schedules'
// caps, in small batches, every minute, while this node may claim (the
// leader, or the only node).
func (s *Scheduler) pruneLoop(ctx context.Context) {
	s.leaderLoop(ctx, time.Second, pruneEvery, func() { s.Prune(ctx) })
}

// leaderLoop calls fn after first, then every every, while this node may
// claim, until ctx ends.
func (s *Scheduler) leaderLoop(ctx context.Context, first, every time.Duration, fn func()) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.isLeader() {
			fn()
		}
		t.Reset(every)
	}
}

// Prune deletes the runs older than Retention (when it is not zero), then
// the finished runs of each schedule beyond its newest keep_runs (or
// DefaultKeepRuns), in batches, and returns how many it deleted. The prune
// loop calls it every minute; tests call it directly.
func (s *Scheduler) Prune(ctx context.Context) int64 {
	var total int64
	if s.cfg.Retention > 0 {
		cutoff := s.cfg.Clock.Now().Add(-s.cfg.Retention)
		n := s.pruneBatches(ctx, "prune old runs", func() (int64, error) {
			return s.cfg.Pruner.PruneRuns(ctx, cutoff, pruneBatch)
		})
		if n > 0 {
			s.logger.Info("pruned old runs", "runs", n, "finished_before", cutoff)
		}
		total += n
	}
	n := s.pruneBatches(ctx, "prune runs beyond keep_runs", func() (int64, error) {
		return s.cfg.Pruner.PruneKeptRuns(ctx, s.cfg.DefaultKeepRuns, pruneBatch)
	})
	if n > 0 {
		s.logger.Info("pruned runs beyond their schedule's keep_runs", "runs", n, "default_keep_runs", s.cfg.DefaultKeepRuns)
	}
	// The rest is not counted in runs; it is only logged.
	var cutoff time.Time
	if s.cfg.Retention > 0 {
		cutoff = s.cfg.Clock.Now().Add(-s.cfg.Retention)
	}
	if rows := s.pruneBatches(ctx, "prune housekeeping", func() (int64, error) {
		return s.cfg.Pruner.PruneHousekeeping(ctx, cutoff, pruneBatch)
	}); rows > 0 {
		s.logger.Debug("pruned old minute counters, logouts, events and notifications", "rows", rows)
	}
	return total + n
}

// pruneBatches calls batch until it deletes fewer than pruneBatch runs, an
// error or ctx ends it, pausing between batches, and returns how many it deleted.
func (s *Scheduler) pruneBatches(ctx context.Context, what string, batch func() (int64, error)) int64 {
	var total int64
	for ctx.Err() == nil {
		n, err := batch()
		total += n
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error(what, "err", err)
			}
			break
		}
		if n < pruneBatch {
			break
		}
		pause := time.NewTimer(prunePause)
		select {
		case <-ctx.Done():
			pause.Stop()
		case <-pause.C:
		}
	}
	return total
}
