package executor

// Fixtures shared by the executor's tests.

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/storetest"
)

// testScheduledAt is the occurrence test jobs are for, in a zone other
// than UTC so that the UTC conversion shows.
var testScheduledAt = time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.FixedZone("X", 3600))

// newTestJob returns a GET of url with no retries and a 2 s timeout.
func newTestJob(url string) *apicron.Job {
	return &apicron.Job{
		RunID:        70,
		ScheduleID:   30,
		ScheduleName: "nightly",
		TargetID:     50,
		ScheduledAt:  testScheduledAt,
		Method:       "GET",
		URL:          url,
		Timeout:      2 * time.Second,
		MaxRetries:   0,
	}
}

// mustServer starts a loopback server for h, closed with the test.
func mustServer(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// execute runs job and fails the test if it takes longer than bound.
func execute(t *testing.T, e *Executor, job *apicron.Job, bound time.Duration) apicron.RunResult {
	t.Helper()
	start := time.Now()
	res := e.Execute(context.Background(), job)
	if d := time.Since(start); d > bound {
		t.Errorf("Execute took %s, want under %s", d, bound)
	}
	return res
}

// closedPortURL returns a URL on which nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

// fakeSleep is a Sleep that records its waits and steps a fake clock by
// them, so that retries take no time and Now sees the waits.
type fakeSleep struct {
	*storetest.Clock
	mu    sync.Mutex
	waits []time.Duration
}

func newFakeSleep() *fakeSleep {
	return &fakeSleep{Clock: storetest.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))}
}

func (f *fakeSleep) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	f.Add(d)
	return ctx.Err()
}

func (f *fakeSleep) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// mustPolicy returns NewPolicy's policy, failing the test on error.
func mustPolicy(t testing.TB, allow, deny []netip.Prefix, denyPrivate bool) *Policy {
	t.Helper()
	p, err := NewPolicy(allow, deny, denyPrivate)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}
