package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// probe is one API operation measured while the schedules fire.
type probe struct {
	name string
	do   func(ctx context.Context) (time.Duration, bool, error) // latency, skipped, error
}

// startProbes runs each API operation in its own loop, one request at a
// time with pause between them, until until; the returned function waits for
// them and returns their latencies and how many schedules the create probe made.
func startProbes(ctx context.Context, api *apiClient, target int64, ids []int64, until time.Time, pause time.Duration) func() ([]OpStats, int) {
	var lastRun atomic.Int64
	var created atomic.Int64
	pick := func() int64 { return ids[rand.IntN(len(ids))] }
	get := func(path string) func(ctx context.Context) (time.Duration, bool, error) {
		return func(ctx context.Context) (time.Duration, bool, error) {
			_, _, lat, err := api.do(ctx, http.MethodGet, path, nil, nil)
			return lat, false, err
		}
	}
	probes := []probe{
		{"POST /schedules (interval 3600 s)", func(ctx context.Context) (time.Duration, bool, error) {
			var s idOnly
			n := created.Add(1)
			_, _, lat, err := api.do(ctx, http.MethodPost, "/schedules",
				scheduleBody(fmt.Sprintf("probe-%d", n), target, time.Hour, false, ""), &s)
			return lat, false, err
		}},
		{"GET /schedules/{id}", func(ctx context.Context) (time.Duration, bool, error) {
			_, _, lat, err := api.do(ctx, http.MethodGet, fmt.Sprintf("/schedules/%d", pick()), nil, nil)
			return lat, false, err
		}},
		{"GET /runs/{id}", func(ctx context.Context) (time.Duration, bool, error) {
			id := lastRun.Load()
			if id == 0 {
				return 0, true, nil
			}
			_, _, lat, err := api.do(ctx, http.MethodGet, fmt.Sprintf("/runs/%d", id), nil, nil)
			return lat, false, err
		}},
		{"GET /runs?limit=100", func(ctx context.Context) (time.Duration, bool, error) {
			var runs []idOnly
			_, _, lat, err := api.do(ctx, http.MethodGet, "/runs?limit=100", nil, &runs)
			if len(runs) > 0 {
				lastRun.Store(runs[len(runs)/2].ID)
			}
			return lat, false, err
		}},
		{"GET /runs?schedule_id={id}&limit=100", func(ctx context.Context) (time.Duration, bool, error) {
			_, _, lat, err := api.do(ctx, http.MethodGet, fmt.Sprintf("/runs?schedule_id=%d&limit=100", pick()), nil, nil)
			return lat, false, err
		}},
		{"GET /schedules?limit=100", get("/schedules?limit=100")},
		{"GET /metrics", get("/metrics")},
		{"GET /metrics/schedules?limit=100", get("/metrics/schedules?limit=100")},
	}
	out := make([]OpStats, len(probes))
	var wg sync.WaitGroup
	for i, pb := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lats []float64
			errs := 0
			for time.Now().Before(until) && ctx.Err() == nil {
				lat, skipped, err := pb.do(ctx)
				switch {
				case skipped:
				case err != nil:
					errs++
				default:
					lats = append(lats, msOf(lat))
				}
				select {
				case <-time.After(pause):
				case <-ctx.Done():
				}
			}
			out[i] = OpStats{Op: pb.name, Latency: summarize(lats), Errors: errs}
		}()
	}
	return func() ([]OpStats, int) {
		wg.Wait()
		return out, int(created.Load())
	}
}
