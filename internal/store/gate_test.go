package store

import (
	"sync"
	"testing"
	"time"
)

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// When the writer frees, a waiting client write goes before the engine's
// writes that were waiting longer; after urgentRun client writes in a row,
// a waiting engine write goes.
func TestWriteGate_ClientsFirstEngineNotStarved(t *testing.T) {
	g := newWriteGate()
	g.lock(true) // the writer is busy
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	take := func(name string, urgent bool) {
		defer wg.Done()
		g.lock(urgent)
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
		g.unlock()
	}
	counts := func() (int, int) { g.mu.Lock(); defer g.mu.Unlock(); return g.urgent, g.waiting }
	wg.Add(1)
	go take("engine", false)
	waitFor(t, "the engine write to wait", func() bool { _, w := counts(); return w == 1 })
	for i := range urgentRun + 2 {
		wg.Add(1)
		go take("client", true)
		waitFor(t, "client writes to wait", func() bool { u, _ := counts(); return u == i+1 })
	}
	g.unlock()
	wg.Wait()
	want := make([]string, 0, urgentRun+3)
	for range urgentRun {
		want = append(want, "client")
	}
	want = append(want, "engine", "client", "client")
	if len(order) != len(want) {
		t.Fatalf("order %v", order)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
}
