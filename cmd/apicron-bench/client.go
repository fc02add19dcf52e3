package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// apiClient talks to apicron's REST API.
type apiClient struct {
	base string
	c    *http.Client
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, c: newLoopbackClient(60 * time.Second)}
}

// do sends one request and decodes a JSON answer into out (when not nil).
// It returns the status, the X-Total-Count header and the latency.
func (a *apiClient) do(ctx context.Context, method, path string, body, out any) (int, string, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, "", 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	lat := time.Since(start)
	if err != nil {
		return resp.StatusCode, "", lat, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, "", lat, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, truncate(string(b), 300))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, "", lat, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, resp.Header.Get("X-Total-Count"), lat, nil
}

// page GETs a dashboard page and returns its size and how long it took.
func (a *apiClient) page(ctx context.Context, path string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	lat := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, truncate(string(b), 300))
	}
	return len(b), lat, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

type idOnly struct {
	ID int64 `json:"id"`
}

// createTarget makes the sink's target, with extra fields (assertions,
// signing secrets) added to the plain GET.
func (a *apiClient) createTarget(ctx context.Context, url string, extra map[string]any) (int64, error) {
	var t idOnly
	body := map[string]any{"name": "bench-sink", "url": url, "method": "GET", "timeout_seconds": 10}
	maps.Copy(body, extra)
	_, _, _, err := a.do(ctx, http.MethodPost, "/targets", body, &t)
	return t.ID, err
}

// scheduleBody is an INTERVAL schedule, or with cron a CRON one with the
// same period: "*/N * * * * *" (N seconds dividing a minute), read in
// timezone when it is not empty.
func scheduleBody(name string, target int64, interval time.Duration, cron bool, timezone string) map[string]any {
	if cron {
		b := map[string]any{"name": name, "target_id": target, "schedule_type": "CRON", "cron_expression": cronFor(interval)}
		if timezone != "" {
			b["timezone"] = timezone
		}
		return b
	}
	return map[string]any{
		"name": name, "target_id": target, "schedule_type": "INTERVAL", "interval_seconds": int(interval / time.Second),
	}
}

// cronFor is the 6-field expression firing every interval (a divisor of 60 s).
func cronFor(interval time.Duration) string {
	if interval == time.Second {
		return "* * * * * *"
	}
	return fmt.Sprintf("*/%d * * * * *", int(interval/time.Second))
}

// createSchedules creates n schedules (see scheduleBody) through POST
// /schedules with the given number of workers, and returns their ids and
// statistics.
func (a *apiClient) createSchedules(ctx context.Context, n, workers int, target int64, interval time.Duration, cron bool,
	timezone string) ([]int64, CreateStats, error) {
	ids := make([]int64, n)
	lats := make([]float64, n)
	var (
		next  atomic.Int64
		errs  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				var s idOnly
				_, _, lat, err := a.do(ctx, http.MethodPost, "/schedules", scheduleBody(fmt.Sprintf("bench-%d", i), target, interval, cron, timezone), &s)
				lats[i] = msOf(lat)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				ids[i] = s.ID
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	st := CreateStats{
		Count: n, Method: "HTTP POST /schedules", Workers: workers, Seconds: F(el.Seconds()),
		PerSec: F(float64(n) / el.Seconds()), Latency: summarize(lats), Errors: int(errs.Load()),
	}
	if first != nil && errs.Load() > int64(n/100) {
		return ids, st, fmt.Errorf("%d of %d schedules not created; first error: %w", errs.Load(), n, first)
	}
	return ids, st, ctx.Err()
}
