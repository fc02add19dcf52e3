package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apicron/apicron"
)

// Cluster is what the engine asks of a database shared by several nodes
// (PostgreSQL). Without one, the engine runs what it claims itself.
type Cluster interface {
	// Shared reports whether several nodes may use the database; only then
	// does the engine work as one node of a cluster.
	Shared() bool
	// NodeID names this node.
	NodeID() string
	// Heartbeat marks this node alive and takes or renews the dispatcher
	// lease when free, expired or already held; it returns the holder and epoch.
	Heartbeat(ctx context.Context, ttl time.Duration) (holder string, epoch int64, err error)
	// Resign gives up the lease if this node holds it.
	Resign(ctx context.Context) error
	// TakeRuns assigns up to limit claimed runs that no node has taken to
	// this node, only while its heartbeat is younger than fresh.
	TakeRuns(ctx context.Context, limit int, fresh time.Duration) ([]*apicron.Job, error)
	// ConfirmRun reports whether a run is still RUNNING and this node's
	// (mine; with a token, still carrying that take's), and whether this node's heartbeat is younger than fresh (live).
	ConfirmRun(ctx context.Context, id, token int64, fresh time.Duration) (mine, live bool, err error)
	// ReapDeadNodes marks INTERRUPTED the runs of nodes silent for longer than ttl.
	ReapDeadNodes(ctx context.Context, now time.Time, ttl time.Duration) (int64, error)
	// Listen calls fn for each notification until ctx ends.
	Listen(ctx context.Context, fn func(channel, payload string))
	// LeaseTTLDisagreement names the live nodes whose LEASE_TTL is not
	// this node's, as the last heartbeat found them; empty when all agree.
	LeaseTTLDisagreement() string
	// LiveNodeCount is how many nodes the last heartbeat found alive, this
	// one included (at least 1).
	LiveNodeCount() int
}

// Notification channels the engine listens on.
const (
	channelRuns      = "apicron_runs"
	channelSchedules = "apicron_schedules"
	channelCancel    = "apicron_cancel"
)

// takeBatch is the lowest cap on the runs a node takes at once (never more
// than its free slots). The cap is its share of its slots (MaxConcurrent
// over the live nodes), so that the runs of a large claim spread over the
// nodes instead of all going to the fastest (a claim of fewer runs than a
// share goes to whichever takes first); a node alone takes as many as it
// has slots free. Each take is a transaction: at 5,000 runs/s, takes of 16
// runs for a node alone were 335 commits a second and a quarter of
// PostgreSQL's statement time.
const takeBatch = 16

// takeLimit is the most runs this node takes at once (takeBatch).
func (s *Scheduler) takeLimit() int {
	return max(takeBatch, s.cfg.MaxConcurrent/s.cluster.LiveNodeCount())
}

// isLeader reports whether this node may claim. Without a cluster it always may.
func (s *Scheduler) isLeader() bool {
	if s.cluster == nil {
		return true
	}
	return s.leader.Load()
}

// runCluster runs the node's part in a cluster until ctx ends: the
// heartbeat that holds or seeks the lease, the reaper (while leader), the
// notification listener, and the worker that takes claimed runs.
// It returns when the listener and the worker it started have returned.
func (s *Scheduler) runCluster(ctx context.Context) {
	c := s.cluster
	var listener, worker sync.WaitGroup
	defer listener.Wait()
	listener.Go(func() {
		c.Listen(ctx, func(channel, payload string) {
			switch channel {
			case channelRuns:
				s.nudgeTake()
			case channelSchedules:
				if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
					s.Changed(id)
				}
			case channelCancel:
				var ids []int64
				for _, f := range strings.Split(payload, ",") {
					if id, err := strconv.ParseInt(f, 10, 64); err == nil {
						ids = append(ids, id)
					}
				}
				s.cancelRuns(ids)
			}
		})
	})
	worker.Go(func() { s.takeLoop(ctx) })

	interval := max(s.cfg.LeaseTTL/5, 100*time.Millisecond)
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastRenewed time.Time
	ttlDisagreement := ""
	for {
		s.writes.start(opHeartbeat)
		hbStart := time.Now()
		holder, epoch, err := c.Heartbeat(ctx, s.cfg.LeaseTTL)
		s.writes.end(ctx, s.logger, opHeartbeat, err, "heartbeat")
		if err == nil {
			s.heartbeatOK(hbStart)
			if d := c.LeaseTTLDisagreement(); d != ttlDisagreement {
				if d != "" {
					s.logger.Error("nodes disagree on LEASE_TTL", "nodes", d)
				} else {
					s.logger.Info("every live node runs with this node's LEASE_TTL", "lease_ttl", s.cfg.LeaseTTL)
				}
				ttlDisagreement = d
			}
		}
		now := time.Now()
		switch {
		case err != nil:
			// Without a renewal for a whole TTL the lease may be someone
			// else's: stop claiming (claims stay exactly-once regardless).
			if s.leader.Load() && now.Sub(lastRenewed) > s.cfg.LeaseTTL {
				s.setLeader(ctx, false, 0)
			}
		case holder == c.NodeID():
			lastRenewed = now
			if !s.leader.Load() {
				s.setLeader(ctx, true, epoch)
			}
			if n, err := c.ReapDeadNodes(ctx, s.cfg.Clock.Now(), s.cfg.LeaseTTL); err != nil && ctx.Err() == nil {
				s.logger.Error("reap runs of dead nodes", "err", err)
			} else if n > 0 {
				s.logger.Warn("runs of a dead node marked INTERRUPTED", "runs", n)
			}
		default:
			if s.leader.Load() {
				s.setLeader(ctx, false, 0)
			}
		}
		select {
		case <-ctx.Done():
			worker.Wait()
			// Stopping, this node renews the lease no more: it does not lead,
			// whether or not the resignation reaches the database, and
			// /health, which answers while runs drain, says so.
			led := s.leader.Swap(false)
			s.epoch.Store(0)
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := c.Resign(rctx); err != nil {
				s.logger.Error("resign the dispatcher lease; another node takes it when it expires", "ttl", s.cfg.LeaseTTL, "err", err)
			} else if led {
				s.logger.Info("resigned the dispatcher lease", "node_id", c.NodeID())
			}
			cancel()
			return
		case <-t.C:
		}
	}
}

func (s *Scheduler) setLeader(ctx context.Context, leader bool, epoch int64) {
	s.leader.Store(leader)
	s.epoch.Store(epoch)
	if leader {
		s.logger.Info("took the dispatcher lease", "node_id", s.cluster.NodeID(), "epoch", epoch)
		if err := s.resync(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("load schedules after taking the lease", "err", err)
		}
	} else {
		s.logger.Warn("lost the dispatcher lease", "node_id", s.cluster.NodeID())
	}
	s.nudge()
}

// stepDown stops leading after a claim found the lease another node's
// (apicron.ErrLeaseLost): the heartbeat may not have noticed yet, as after a
// pause of the whole process.
func (s *Scheduler) stepDown() {
	if s.leader.CompareAndSwap(true, false) {
		s.epoch.Store(0)
		s.logger.Warn("a claim found the dispatcher lease another node's: stepped down", "node_id", s.cluster.NodeID())
		s.nudge()
	}
}

// Errors of a fence (Job.Fence) that refused a send.
var (
	errRunGone   = errors.New("the run is no longer this node's: the reaper marked it INTERRUPTED, or it ended, while this node was paused or cut off")
	errNodeStale = errors.New("this node's heartbeat stayed older than LEASE_TTL/2")
)

// sendWindow is how long after a take, or a ConfirmRun, a node may send the
// run without asking again. The take and ConfirmRun find the node's
// heartbeat younger than LEASE_TTL/2, and the reaper waits until it is older
// than LEASE_TTL: so for LEASE_TTL/2 after either, by the database's clock,
// no other node can declare this one dead. A tenth of the lease is left for
// the two clocks' rates and the statement's own time.
func (s *Scheduler) sendWindow() time.Duration { return s.cfg.LeaseTTL/2 - s.cfg.LeaseTTL/10 }

// liveWindow is how long after the start of its last successful heartbeat
// a node knows the reaper cannot have declared it dead: the reaper waits for
// a heartbeat LEASE_TTL old, and a tenth of the lease is left for the
// clocks' rates.
func (s *Scheduler) liveWindow() time.Duration { return s.cfg.LeaseTTL - s.cfg.LeaseTTL/10 }

// heartbeatOK notes a successful heartbeat that began at start (the
// monotonic clock). When it ended liveWindow or more after the start of the
// one before, the reaper may have taken this node's runs in between: the
// liveness generation moves on, and runs taken before it are confirmed one
// by one before they are sent (fence).
func (s *Scheduler) heartbeatOK(start time.Time) {
	if ago, ok := s.sinceHeartbeat(); ok && ago >= s.liveWindow() {
		s.liveGen.Add(1)
	}
	s.hbWall.Store(start.UnixNano())
	s.hbStart.Store(max(int64(start.Sub(s.mono0)), 1))
}

// sinceHeartbeat is how long ago the last successful heartbeat began, by
// whichever of the monotonic and the wall clock says longer (since), if
// there was one.
func (s *Scheduler) sinceHeartbeat() (time.Duration, bool) {
	mono := s.hbStart.Load()
	if mono == 0 {
		return 0, false
	}
	wall := s.hbWall.Load()
	return max(time.Since(s.mono0)-time.Duration(mono), time.Duration(time.Now().UnixNano()-wall)), true
}

// since is how long ago t was by whichever of the monotonic and the wall
// clock says longer. The monotonic clock does not run while the machine is
// suspended, nor, on some hypervisors, while the virtual machine is paused;
// the wall clock, once corrected after such a pause, does. A fence that
// trusted the monotonic clock alone would wake up still within its window.
func since(t time.Time) time.Duration {
	return max(time.Since(t), time.Now().Round(0).Sub(t.Round(0)))
}

// alive reports whether this node has been alive to the reaper without a
// break since liveness generation gen: no gap of liveWindow between
// heartbeats since, and its last one begun less than liveWindow ago.
func (s *Scheduler) alive(gen int64) bool {
	ago, ok := s.sinceHeartbeat() // before the generation: heartbeatOK moves it first
	return ok && s.liveGen.Load() == gen && ago < s.liveWindow()
}

// fence is Job.Fence for a run this node took at takenAt (the monotonic
// clock), in liveness generation gen. The request goes at once within
// sendWindow of the take, or while the node's heartbeats have gone on
// without a break since (alive): the reaper cannot have taken the run, and
// that costs no statement however long the run waited for a slot, its host
// or its rate limit. Otherwise (the node was paused or cut off from the
// database) it goes only once ConfirmRun has found the run still this
// node's and the node alive, which opens a new window. A node whose
// heartbeat is stale asks a few more times, for half a lease, while its
// heartbeat catches up after a pause.
func (s *Scheduler) fence(job *apicron.Job, takenAt time.Time, gen int64) func(context.Context) error {
	checked := takenAt
	return func(ctx context.Context) error {
		if since(checked) < s.sendWindow() || s.alive(gen) {
			return nil
		}
		err := s.confirm(ctx, job, &checked, &gen)
		if err != nil && s.execCtx.Err() == nil {
			s.logger.Warn("request not sent: this node may no longer send the run", "run_id", job.RunID, "schedule_id", job.ScheduleID,
				"taken", time.Since(takenAt).Round(time.Millisecond), "reason", err.Error())
		}
		return err
	}
}

// confirm asks the database whether this node may still send job's run, as
// fence does once its window has passed, and on success opens a new window
// (checked) and takes the run into the current liveness generation (gen).
func (s *Scheduler) confirm(ctx context.Context, job *apicron.Job, checked *time.Time, gen *int64) error {
	for deadline := time.Now().Add(s.cfg.LeaseTTL / 2); ; {
		asked, current := time.Now(), s.liveGen.Load()
		mine, live, err := s.cluster.ConfirmRun(ctx, job.RunID, job.TakeToken, s.cfg.LeaseTTL/2)
		switch {
		case err != nil:
			return fmt.Errorf("confirm the run is still this node's: %w", err)
		case !mine:
			return errRunGone
		case live:
			*checked, *gen = asked, current
			return nil
		case !time.Now().Before(deadline):
			return errNodeStale
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.cfg.LeaseTTL / 10):
		}
	}
}

func (s *Scheduler) nudgeTake() {
	select {
	case s.takeC <- struct{}{}:
	default:
	}
}

// takeLoop takes claimed runs, as free slots allow, whenever notified and
// at least every second (in case a notification was missed). When ctx ends
// it waits until this node has stopped claiming and, if it led, takes what
// it claimed last, so that a cluster stopping whole leaves no run untaken.
func (s *Scheduler) takeLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.take(ctx)
		select {
		case <-ctx.Done():
			<-s.claimsDone
			if s.leader.Load() {
				fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				s.take(fctx)
				cancel()
			}
			return
		case <-t.C:
		case <-s.takeC:
		}
	}
}

// take takes and dispatches claimed runs until none wait or no slot is free.
func (s *Scheduler) take(ctx context.Context) {
	for {
		// Slots are counted by requests under way, not by runs taken: a
		// run taken ahead of its time holds no slot while it waits, and
		// counting it would leave runs due sooner waiting in the database.
		// Runs waiting for a slot or a rate limit turn of their host count
		// as taken: a node with a saturated host leaves that host's runs to
		// the other nodes.
		free := min(s.cfg.MaxConcurrent-int(s.running.Load())-int(s.hostWaiting.Load()), s.takeLimit())
		if free <= 0 {
			s.takeStarved.Store(true)
			return
		}
		s.writes.start(opTake)
		takenAt, gen := time.Now(), s.liveGen.Load() // the monotonic clock, which a pause does not stop
		jobs, err := s.cluster.TakeRuns(ctx, free, s.cfg.LeaseTTL/2)
		s.writes.end(ctx, s.logger, opTake, err, "take claimed runs")
		if err != nil {
			return
		}
		if len(jobs) > 0 {
			s.cfg.Metrics.WriteBatch(opLabels[opTake], len(jobs))
		}
		for _, j := range jobs {
			j.Fence = s.fence(j, takenAt, gen)
			s.dispatch(j)
		}
		if len(jobs) < free {
			return
		}
	}
}
