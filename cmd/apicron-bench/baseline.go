package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// baselineResult is what the bare firer did.
type baselineResult struct {
	Origin   time.Time // the instant offsets are counted from
	End      time.Time // occurrences at or after End are not fired
	Errors   int64
	arrivals []arrival
}

// newLoopbackClient returns a client tuned like apicron's executor transport
// (keep-alive, deep idle pool, no compression, no proxy).
func newLoopbackClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// runBaseline fires the same grids as apicron did, without a database: one
// goroutine per "schedule", each with one time.Timer reset to its next grid
// point (a time.Ticker started at the first fire would carry that fire's
// wake-up delay into every later tick), under the same global bound on
// requests in flight as apicron's MAX_CONCURRENT_JOBS. Occurrence k of
// schedule i is at origin + offsets[i] + k*every[i]; nothing at or after
// end fires. It returns when every goroutine has stopped.
func runBaseline(ctx context.Context, s *sink, origin, end time.Time, offsets, every []time.Duration, maxInFlight int) *baselineResult {
	client := newLoopbackClient(30 * time.Second)
	defer client.CloseIdleConnections()
	sem := make(chan struct{}, maxInFlight)
	var (
		wg     sync.WaitGroup
		errMu  sync.Mutex
		errors int64
	)
	for i := range offsets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			anchor := origin.Add(offsets[i])
			id := strconv.Itoa(i + 1)
			t := time.NewTimer(time.Until(anchor))
			defer t.Stop()
			for k := int64(0); ; k++ {
				at := anchor.Add(time.Duration(k) * every[i])
				if !at.Before(end) {
					return
				}
				t.Reset(time.Until(at))
				select {
				case <-t.C:
				case <-ctx.Done():
					return
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				err := fireOnce(ctx, client, s.url, id, at, k)
				<-sem
				if err != nil {
					errMu.Lock()
					errors++
					errMu.Unlock()
				}
				// Like apicron's overlap rule: an occurrence that came due
				// while this one was in flight is skipped, not queued.
				if now := time.Now(); now.Sub(anchor) > time.Duration(k+1)*every[i] {
					k = int64(now.Sub(anchor)/every[i]) - 1 // the loop's k++ lands on the next one due
				}
			}
		}()
	}
	wg.Wait()
	return &baselineResult{Origin: origin, End: end, Errors: errors, arrivals: s.take()}
}

func fireOnce(ctx context.Context, c *http.Client, url, id string, at time.Time, k int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header["X-Apicron-Schedule-Id"] = []string{id}
	req.Header["X-Apicron-Scheduled-At"] = []string{at.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	req.Header["X-Apicron-Attempt"] = []string{"1"}
	req.Header["X-Apicron-Run-Id"] = []string{strconv.FormatInt(k, 10)}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}
