package scheduler

import (
	"testing"
	"time"
)

// The liveness a fence relies on: a run taken in a generation may be sent
// while the heartbeats go on without a break of liveWindow; a break moves
// the generation on (the reaper may have taken the node's runs), and a
// heartbeat older than liveWindow stops every send until one succeeds.
func TestAliveAcrossHeartbeats(t *testing.T) {
	s := &Scheduler{cfg: Config{LeaseTTL: time.Second}, mono0: time.Now().Add(-time.Minute)}
	now := time.Now()
	if s.alive(0, now) {
		t.Fatal("alive before any heartbeat")
	}
	s.heartbeatOK(now)
	if !s.alive(0, now) || !s.alive(0, now.Add(800*time.Millisecond)) {
		t.Fatal("not alive within the window of a heartbeat")
	}
	if s.alive(0, now.Add(900*time.Millisecond)) {
		t.Fatal("alive liveWindow (900 ms) after the last heartbeat began")
	}
	// The next heartbeat begins and ends well within the window: no break.
	s.heartbeatOK(time.Now())
	if s.liveGen.Load() != 0 || !s.alive(0, time.Now()) {
		t.Fatalf("generation %d after heartbeats without a break, want 0", s.liveGen.Load())
	}
	// The one before began 2 s ago (a pause): the generation moves on.
	s.hbStart.Store(int64(time.Since(s.mono0) - 2*time.Second))
	s.heartbeatOK(time.Now())
	if s.liveGen.Load() != 1 || s.alive(0, time.Now()) || !s.alive(1, time.Now()) {
		t.Fatalf("after a break: generation %d, alive(0) %v, alive(1) %v; want 1, false, true",
			s.liveGen.Load(), s.alive(0, time.Now()), s.alive(1, time.Now()))
	}
}
