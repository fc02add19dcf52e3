package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apicron/apicron"
)

// Health reports the engine's state for /health, and EUNAVAILABLE while a
// database write it needs fails or waits too long.
func (s *Scheduler) Health(context.Context) (apicron.EngineHealth, error) {
	h := apicron.EngineHealth{Role: apicron.RoleSingle, InFlight: s.active.Load()}
	s.mu.Lock()
	h.Scheduled = s.q.Len()
	s.mu.Unlock()
	s.resMu.Lock()
	h.PendingResults = len(s.results)
	s.resMu.Unlock()
	if s.cluster != nil {
		h.Role = apicron.RoleFollower
		if s.leader.Load() {
			h.Role, h.LeaseEpoch = apicron.RoleLeader, s.epoch.Load()
		}
		h.LeaseTTLDisagreement = s.cluster.LeaseTTLDisagreement()
	}
	h.WriteFaults = s.writes.report(time.Now())
	if len(h.WriteFaults) == 0 {
		return h, nil
	}
	return h, apicron.Errorf(apicron.EUNAVAILABLE, "database writes failing: %s", strings.Join(h.WriteFaults, "; "))
}

// Database writes the engine cannot do without; /health reports those failing.
const (
	opClaim     = "claim"
	opFlush     = "write results"
	opHeartbeat = "heartbeat"
	opTake      = "take runs"
	opBackfill  = "run backfills"
)

// stuckWrite is how long a write may wait on the database (a lock held
// elsewhere, a server that does not answer) before /health reports it.
const stuckWrite = 5 * time.Second

// writeHealth remembers, per operation, the writes that failed and have not
// succeeded since, and the writes under way, so /health can say the database
// refuses writes even while it still answers reads. It costs a lock per write.
type writeHealth struct {
	mu      sync.Mutex
	faults  map[string]*writeFault
	started map[string]time.Time
	metrics Recorder // observes each write's duration and failure
}

// opLabels name the writes in metrics.
var opLabels = map[string]string{opClaim: "claim", opFlush: "write_results", opHeartbeat: "heartbeat",
	opTake: "take_runs", opBackfill: "run_backfills"}

// writeFault is an operation failing since a time.
type writeFault struct {
	since time.Time
	tries int
	last  error
}

func (w *writeHealth) start(op string) {
	w.mu.Lock()
	w.started[op] = time.Now()
	w.mu.Unlock()
}

// end records how a write of op ended. A failure is logged as an Error once,
// when op starts failing, then at Debug; the recovery is logged once.
// Failures caused by ctx ending (shutdown) are not faults of the database.
func (w *writeHealth) end(ctx context.Context, logger *slog.Logger, op string, err error, msg string, args ...any) {
	w.mu.Lock()
	took := time.Since(w.started[op])
	delete(w.started, op)
	f := w.faults[op]
	switch {
	case err == nil:
		delete(w.faults, op)
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		w.mu.Unlock()
		return
	default:
		if f == nil {
			f = &writeFault{since: time.Now()}
			w.faults[op] = f
		}
		f.tries++
		f.last = err
	}
	var tries int
	var since time.Time
	if f != nil {
		tries, since = f.tries, f.since
	}
	w.mu.Unlock()
	w.metrics.DatabaseWrite(opLabels[op], took, err)
	switch {
	case err == nil && f != nil:
		logger.Info("database writes work again", "op", op, "failed_for", time.Since(since).Round(time.Millisecond), "tries", tries)
	case err != nil && tries == 1:
		logger.Error(msg, append(args, "err", err)...)
	case err != nil:
		logger.Debug(msg, append(args, "err", err, "tries", tries)...)
	}
}

// forget drops op's fault without a success: nothing is left to retry.
func (w *writeHealth) forget(op string) {
	w.mu.Lock()
	delete(w.faults, op)
	w.mu.Unlock()
}

// report describes the failing and stuck writes as of now, sorted; none when all is well.
func (w *writeHealth) report(now time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for op, f := range w.faults {
		out = append(out, fmt.Sprintf("%s failing since %s (%d tries): %s",
			op, f.since.UTC().Format(apicron.TimeFormat), f.tries, apicron.ErrorMessage(f.last)))
	}
	for op, t := range w.started {
		if d := now.Sub(t); d > stuckWrite {
			out = append(out, fmt.Sprintf("%s waiting on the database for %s", op, d.Round(time.Second)))
		}
	}
	slices.Sort(out)
	return out
}
