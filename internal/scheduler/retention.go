package scheduler

import (
	"context"
	"time"
)

// Pruner deletes old runs; the store implements it.
type Pruner interface {
	// PruneRuns deletes up to limit runs finished before cutoff and returns how many.
	PruneRuns(ctx context.Context, cutoff time.Time, limit int) (int64, error)
}

const (
	pruneEvery = time.Minute
	pruneBatch = 1000
	// prunePause separates batches, so pruning a large backlog never holds
	// the database's writer for long.
	prunePause = 50 * time.Millisecond
)

// pruneLoop deletes runs older than Retention, in small batches, every
// minute, while this node may claim (the leader, or the only node).
func (s *Scheduler) pruneLoop(ctx context.Context) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.isLeader() {
			s.Prune(ctx)
		}
		t.Reset(pruneEvery)
	}
}

// Prune deletes the runs older than Retention, in batches, and returns how
// many it deleted. The prune loop calls it every minute; tests call it directly.
func (s *Scheduler) Prune(ctx context.Context) int64 {
	cutoff := s.cfg.Clock.Now().Add(-s.cfg.Retention)
	var total int64
	for ctx.Err() == nil {
		n, err := s.cfg.Pruner.PruneRuns(ctx, cutoff, pruneBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("prune old runs", "err", err)
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
	if total > 0 {
		s.logger.Info("pruned old runs", "runs", total, "finished_before", cutoff)
	}
	return total
}
