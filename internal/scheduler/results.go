package scheduler

import (
	"context"
	"time"

	"github.com/apicron/apicron"
)

// addResult counts job's result r and queues it to be written.
func (s *Scheduler) addResult(job *apicron.Job, r apicron.RunResult) {
	r.TakeToken = job.TakeToken
	s.cfg.Metrics.RunFinished(job, r) // by value: a pointer would move r to the heap
	s.resMu.Lock()
	s.results = append(s.results, r)
	full := len(s.results) >= s.cfg.FlushBatch
	s.resMu.Unlock()
	if full {
		select {
		case s.flushC <- struct{}{}:
		default:
		}
	}
}

// flushLoop writes waiting results every FlushInterval (group commit) until
// ctx ends; Run's last writes take what is left.
// After a failed write it waits RetryDelay before the next try, so a
// database that refuses writes is not hammered every few milliseconds.
func (s *Scheduler) flushLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	var retryAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.flushC:
		}
		if !retryAt.IsZero() && time.Now().Before(retryAt) {
			continue
		}
		retryAt = time.Time{}
		if err := s.Flush(ctx); err != nil {
			retryAt = time.Now().Add(s.cfg.RetryDelay)
		}
	}
}

// Flush writes the results waiting in the buffer. When the database refuses
// them they stay in the buffer, in order, for the next flush: a result is
// never dropped because the database was briefly away.
func (s *Scheduler) Flush(ctx context.Context) error {
	s.resMu.Lock()
	batch := s.results
	if len(batch) == 0 {
		s.resMu.Unlock()
		return nil
	}
	s.results, s.spare = s.spare, nil
	s.resMu.Unlock()
	s.writes.start(opFlush)
	err := s.cfg.Store.Finish(ctx, batch)
	s.writes.end(ctx, s.logger, opFlush, err, "write run results; keeping them to retry", "results", len(batch))
	if err != nil {
		s.resMu.Lock()
		s.results = append(batch, s.results...)
		s.resMu.Unlock()
		return err
	}
	s.cfg.Metrics.WriteBatch(opLabels[opFlush], len(batch))
	s.written.Add(int64(len(batch)))
	if cap(batch) <= 4*s.cfg.FlushBatch { // a backlog's batch is not kept
		clear(batch) // what the results point to is not kept either
		s.resMu.Lock()
		s.spare = batch[:0]
		s.resMu.Unlock()
	}
	return nil
}

// Wait blocks until every dispatched job has finished and its result is
// written. Tests use it after Step.
func (s *Scheduler) Wait(ctx context.Context) error {
	s.inflight.Wait()
	return s.Flush(ctx)
}
