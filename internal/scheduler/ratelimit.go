package scheduler

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/apicron/apicron"
)

// rateMemory is how long a target's rate limit keeps counting for its host
// after its last request on this node: a target deleted, or whose
// schedules stopped, no longer holds its peers to its limit after a day.
const rateMemory = 24 * time.Hour

// rates holds, per host, the token bucket of the targets that set a
// rate_limit, on this node. Targets without one never touch it: their runs
// cost one atomic load (declared) while no target sets a limit.
type rates struct {
	mu    sync.RWMutex
	hosts map[string]*hostRate
	// targets maps each target whose limit counts to the host it declared it for.
	targets  map[int64]string
	declared atomic.Int64 // len(targets)
}

// hostRate is one host's bucket and the limits its targets declared.
type hostRate struct {
	lim *rate.Limiter
	// limit is the one in force: the strictest declared.
	limit apicron.RateLimit
	decl  map[int64]declaration
	// pruned is when declarations older than rateMemory were last dropped.
	pruned time.Time
}

type declaration struct {
	limit apicron.RateLimit
	seen  time.Time
}

func newRates() *rates {
	return &rates{hosts: map[string]*hostRate{}, targets: map[int64]string{}}
}

// limiter declares job's rate limit for host at now and returns the host's
// limiter and the limit in force.
func (r *rates) limiter(host string, job *apicron.Job, now time.Time) (*rate.Limiter, apicron.RateLimit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.targets[job.TargetID]; ok && old != host {
		r.forget(old, job.TargetID, now) // its URL moved to another host
	}
	h := r.hosts[host]
	if h == nil {
		l := *job.RateLimit
		h = &hostRate{lim: rate.NewLimiter(rate.Limit(l.PerSecond), l.Burst), limit: l, decl: map[int64]declaration{}, pruned: now}
		r.hosts[host] = h
	}
	prev, had := h.decl[job.TargetID]
	h.decl[job.TargetID] = declaration{limit: *job.RateLimit, seen: now}
	r.targets[job.TargetID] = host
	r.declared.Store(int64(len(r.targets)))
	if !had || prev.limit != *job.RateLimit || now.Sub(h.pruned) > time.Minute {
		r.settle(host, h, now)
	}
	return h.lim, h.limit
}

// undeclare drops the limit of a target whose job has none: it was removed.
func (r *rates) undeclare(job *apicron.Job, now time.Time) {
	r.mu.RLock()
	_, ok := r.targets[job.TargetID]
	r.mu.RUnlock()
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if host, ok := r.targets[job.TargetID]; ok {
		r.forget(host, job.TargetID, now)
	}
}

// forget drops target id's declaration on host. r.mu is held.
func (r *rates) forget(host string, id int64, now time.Time) {
	delete(r.targets, id)
	r.declared.Store(int64(len(r.targets)))
	if h := r.hosts[host]; h != nil {
		delete(h.decl, id)
		r.settle(host, h, now)
	}
}

// settle drops the declarations older than rateMemory and sets the host's
// limiter to the strictest of the others; a host left with none is
// forgotten. r.mu is held.
func (r *rates) settle(host string, h *hostRate, now time.Time) {
	h.pruned = now
	var (
		strictest apicron.RateLimit
		found     bool
	)
	for id, d := range h.decl {
		if now.Sub(d.seen) > rateMemory {
			delete(h.decl, id)
			delete(r.targets, id)
			continue
		}
		if !found {
			strictest, found = d.limit, true
		} else {
			strictest = strictest.Stricter(d.limit)
		}
	}
	r.declared.Store(int64(len(r.targets)))
	if !found {
		delete(r.hosts, host)
		return
	}
	if strictest != h.limit {
		h.limit = strictest
		h.lim.SetLimitAt(now, rate.Limit(strictest.PerSecond))
		h.lim.SetBurstAt(now, strictest.Burst)
	}
}

// paceFirst waits for the first attempt's turn under the job's host rate
// limit and returns how long it waited. A run whose turn would come at or
// after its schedule's next occurrence is not sent: it is recorded FAILED,
// rate_limit, at once (waiting could not help), its token given back, with
// waited the time it had already waited for a host slot. One cut off by
// shutdown or a replace returns false with nothing recorded, as hostSlot.
func (s *Scheduler) paceFirst(ctx context.Context, job *apicron.Job, host string, waited time.Duration) (time.Duration, bool) {
	now := s.cfg.Clock.Now()
	lim, limit := s.rates.limiter(host, job, now)
	w, turn, ok := s.turn(ctx, lim, now, job.RetryDeadline)
	if ok || ctx.Err() != nil {
		return w, ok
	}
	waited += w
	s.addResult(job, apicron.RunResult{RunID: job.RunID, ScheduleID: job.ScheduleID, StartedAt: now.Add(-waited), FinishedAt: now,
		Waited: waited, Outcome: apicron.Outcome{Status: apicron.Failed, ErrorType: apicron.ErrRateLimit,
			ErrorMessage: fmt.Sprintf("not sent: %s allows %s (rate_limit, this node); its turn was %s away, at or after the schedule's next occurrence (waited %s)",
				host, limit, turn.Round(time.Millisecond), waited.Round(time.Millisecond))}})
	return 0, false
}

// paceRetry is Job.Pace: the turn of a retry under the job's host limit.
func (s *Scheduler) paceRetry(job *apicron.Job, host string) func(context.Context) (time.Duration, bool) {
	return func(ctx context.Context) (time.Duration, bool) {
		now := s.cfg.Clock.Now()
		lim, _ := s.rates.limiter(host, job, now)
		w, _, ok := s.turn(ctx, lim, now, job.RetryDeadline)
		return w, ok
	}
}

// turn takes a token of lim at now and waits until it may be used. It
// returns how long it waited, how far away the turn was, and whether the
// request may go: not when ctx ends first, nor when the turn comes at or
// after deadline (when set); then the token is given back, so a request
// that is not sent leaves its turn to the next. The wait is exactly the
// limiter's (its times are the engine's clock), counted as a wait for the
// host (hostWaiting).
func (s *Scheduler) turn(ctx context.Context, lim *rate.Limiter, now, deadline time.Time) (waited, turn time.Duration, ok bool) {
	res := lim.ReserveN(now, 1) // never refused: every burst is at least 1
	d := res.DelayFrom(now)
	if d == 0 {
		return 0, 0, true
	}
	if !deadline.IsZero() && !now.Add(d).Before(deadline) {
		res.CancelAt(now)
		return 0, d, false
	}
	s.hostWaiting.Add(1)
	defer s.hostWaiting.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return d, d, true
	case <-ctx.Done():
		res.CancelAt(s.cfg.Clock.Now())
		return 0, d, false
	}
}
