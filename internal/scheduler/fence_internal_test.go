package scheduler

import (
	"testing"
	"time"
)

// heartbeatAt makes s's last successful heartbeat begin mono ago by the
// monotonic clock and wall ago by the wall clock.
func heartbeatAt(s *Scheduler, mono, wall time.Duration) {
	s.hbStart.Store(int64(time.Since(s.mono0) - mono))
	s.hbWall.Store(time.Now().Add(-wall).UnixNano())
}

// The liveness a fence relies on: a run taken in a generation may be sent
// while the heartbeats go on without a break of liveWindow; a break moves
// the generation on (the reaper may have taken the node's runs), and a
// heartbeat older than liveWindow, by either clock, stops every send until
// one succeeds.
func TestAliveAcrossHeartbeats(t *testing.T) {
	s := &Scheduler{cfg: Config{LeaseTTL: time.Second}, mono0: time.Now().Add(-time.Minute)}
	if s.alive(0) {
		t.Fatal("alive before any heartbeat")
	}
	s.heartbeatOK(time.Now())
	if !s.alive(0) || s.liveGen.Load() != 0 {
		t.Fatalf("not alive, or generation %d, just after the first heartbeat", s.liveGen.Load())
	}
	heartbeatAt(s, 950*time.Millisecond, 950*time.Millisecond)
	if s.alive(0) {
		t.Fatal("alive 950 ms after the last heartbeat began (liveWindow: 900 ms)")
	}
	// The monotonic clock stood still (a suspended machine, a paused VM)
	// while the wall clock moved on: the wall clock's word counts.
	heartbeatAt(s, 100*time.Millisecond, 2*time.Second)
	if s.alive(0) {
		t.Fatal("alive by the monotonic clock while the wall clock says the heartbeat is 2 s old")
	}
	// The next heartbeat ends well within the window of the one before.
	heartbeatAt(s, 200*time.Millisecond, 200*time.Millisecond)
	s.heartbeatOK(time.Now())
	if s.liveGen.Load() != 0 || !s.alive(0) {
		t.Fatalf("generation %d after heartbeats without a break, want 0", s.liveGen.Load())
	}
	// The one before began 2 s ago (a pause): the generation moves on.
	heartbeatAt(s, 2*time.Second, 2*time.Second)
	s.heartbeatOK(time.Now())
	if s.liveGen.Load() != 1 || s.alive(0) || !s.alive(1) {
		t.Fatalf("after a break: generation %d, alive(0) %v, alive(1) %v; want 1, false, true", s.liveGen.Load(), s.alive(0), s.alive(1))
	}
}
