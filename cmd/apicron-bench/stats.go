package main

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// F is a float that JSON writes as null when it is not a number (an empty
// sample, a ratio to zero), where encoding/json would fail.
type F float64

// MarshalJSON implements json.Marshaler.
func (f F) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, math.Round(v*1000)/1000, 'f', -1, 64), nil
}

// Dist summarises a sample of durations, in milliseconds.
type Dist struct {
	N    int `json:"n"`
	Mean F   `json:"mean_ms"`
	P50  F   `json:"p50_ms"`
	P90  F   `json:"p90_ms"`
	P99  F   `json:"p99_ms"`
	P999 F   `json:"p999_ms"`
	Max  F   `json:"max_ms"`
	Min  F   `json:"min_ms"`
}

// percentile returns the q-quantile (0..1) of sorted by the nearest-rank
// method: the smallest value with at least q of the sample at or below it.
// Nearest rank never invents a value that was not observed.
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	if q <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// summarize sorts xs in place and describes it. An empty sample gives N=0
// and NaN figures (written as null in JSON and "-" in tables).
func summarize(xs []float64) Dist {
	d := Dist{N: len(xs)}
	if len(xs) == 0 {
		nan := F(math.NaN())
		d.Mean, d.P50, d.P90, d.P99, d.P999, d.Max, d.Min = nan, nan, nan, nan, nan, nan, nan
		return d
	}
	slices.Sort(xs)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	d.Mean = F(sum / float64(len(xs)))
	d.P50 = F(percentile(xs, 0.50))
	d.P90 = F(percentile(xs, 0.90))
	d.P99 = F(percentile(xs, 0.99))
	d.P999 = F(percentile(xs, 0.999))
	d.Max = F(xs[len(xs)-1])
	d.Min = F(xs[0])
	return d
}

// msOf converts a duration to float milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratio returns a/b, NaN when either is not a number or b is zero.
func ratio[T ~float64](a, b T) F {
	if math.IsNaN(float64(a)) || math.IsNaN(float64(b)) || b == 0 {
		return F(math.NaN())
	}
	return F(a / b)
}

// occKey names one occurrence: a schedule and its scheduled instant (unix ms).
type occKey struct {
	sched int64
	at    int64
}

// grid is one schedule's occurrences: anchor + k*every, k >= 0.
type grid struct {
	id     int64
	anchor int64 // unix ms
	every  int64 // ms
}

// count returns how many occurrences with k >= minK lie in [from, to) (unix ms).
func (g grid) count(from, to int64, minK int64) int64 {
	from = max(from, g.anchor+minK*g.every)
	if to <= from {
		return 0
	}
	// first occurrence at or after from
	k0 := (from - g.anchor + g.every - 1) / g.every
	first := g.anchor + k0*g.every
	if first >= to {
		return 0
	}
	return (to-1-first)/g.every + 1
}

// index returns k when at is on the grid, or -1.
func (g grid) index(at int64) int64 {
	if at < g.anchor || (at-g.anchor)%g.every != 0 {
		return -1
	}
	return (at - g.anchor) / g.every
}

// arrival is one request the sink received.
type arrival struct {
	at      int64 // unix ns, when the handler began
	sched   int64
	schedAt int64 // unix ms, from X-Apicron-Scheduled-At
}

// runRow is one runs row, as read back from the database.
type runRow struct {
	sched     int64
	schedAt   int64 // unix ms
	startedAt int64 // unix ms
	status    string
	missed    int64
	node      string // node_id: the node that took it
}

// window selects the occurrences a figure is computed over.
type window struct {
	Name string `json:"name"`
	From int64  `json:"from_unix_ms"` // inclusive
	To   int64  `json:"to_unix_ms"`   // exclusive
	MinK int64  `json:"min_k"`        // 1 excludes each schedule's first occurrence
	// OnlyFirst keeps each schedule's first occurrence (k = 0) only.
	OnlyFirst bool   `json:"only_first,omitempty"`
	Note      string `json:"note"`
}

func (w window) seconds() float64 { return float64(w.To-w.From) / 1000 }

// Figures are the delivery figures of one firer over one window.
type Figures struct {
	Window   window `json:"window"`
	Planned  int64  `json:"planned"`
	Fired    int64  `json:"fired"`    // distinct occurrences that reached the sink
	Recorded int64  `json:"recorded"` // distinct occurrences with a runs row (-1: no database)
	// Arrivals and RunRows count everything, duplicates included.
	Arrivals      int64            `json:"sink_requests"`
	RunRows       int64            `json:"run_rows"`
	DupSink       int64            `json:"duplicates_sink"`
	DupDB         int64            `json:"duplicates_db"`
	Missed        int64            `json:"missed"` // planned but never reached the sink
	NotRecorded   int64            `json:"fired_not_recorded"`
	OffGrid       int64            `json:"off_grid"`         // arrivals whose scheduled_at is not on the schedule's grid
	Coalesced     int64            `json:"coalesced_missed"` // sum of runs.missed: occurrences the engine itself reported as coalesced
	Statuses      map[string]int64 `json:"run_statuses,omitempty"`
	FiresPerSec   F                `json:"fires_per_sec"`
	PlannedPerSec F                `json:"planned_per_sec"`
	LatenessSink  Dist             `json:"lateness_sink"` // arrival - X-Apicron-Scheduled-At
	LatenessDB    Dist             `json:"lateness_db"`   // started_at - scheduled_at
}

// compute derives the figures of window w from the grids, the sink's
// arrivals and (when db) the runs rows.
func compute(w window, grids map[int64]grid, arrivals []arrival, runs []runRow, db bool) Figures {
	f := Figures{Window: w, Statuses: map[string]int64{}}
	for _, g := range grids {
		if w.OnlyFirst {
			if g.anchor >= w.From && g.anchor < w.To {
				f.Planned++
			}
			continue
		}
		f.Planned += g.count(w.From, w.To, w.MinK)
	}
	in := func(sched, at int64) (grid, bool) {
		g, ok := grids[sched]
		if !ok || at < w.From || at >= w.To {
			return g, false
		}
		k := g.index(at)
		if k >= 0 && (k < w.MinK || (w.OnlyFirst && k != 0)) {
			return g, false
		}
		return g, true
	}
	fired := map[occKey]struct{}{}
	var lateSink []float64
	for _, a := range arrivals {
		g, ok := in(a.sched, a.schedAt)
		if !ok {
			continue
		}
		f.Arrivals++
		if g.index(a.schedAt) < 0 {
			f.OffGrid++
			continue
		}
		k := occKey{a.sched, a.schedAt}
		if _, dup := fired[k]; dup {
			f.DupSink++
		} else {
			fired[k] = struct{}{}
		}
		lateSink = append(lateSink, float64(a.at-a.schedAt*int64(time.Millisecond))/float64(time.Millisecond))
	}
	f.Fired = int64(len(fired))
	f.Missed = f.Planned - f.Fired
	f.LatenessSink = summarize(lateSink)
	f.FiresPerSec = F(float64(f.Fired) / w.seconds())
	f.PlannedPerSec = F(float64(f.Planned) / w.seconds())
	f.Recorded = -1
	if db {
		recorded := map[occKey]struct{}{}
		var lateDB []float64
		for _, r := range runs {
			if _, ok := in(r.sched, r.schedAt); !ok {
				continue
			}
			f.RunRows++
			k := occKey{r.sched, r.schedAt}
			if _, dup := recorded[k]; dup {
				f.DupDB++
			} else {
				recorded[k] = struct{}{}
			}
			f.Statuses[r.status]++
			f.Coalesced += r.missed
			lateDB = append(lateDB, float64(r.startedAt-r.schedAt))
		}
		f.Recorded = int64(len(recorded))
		for k := range fired {
			if _, ok := recorded[k]; !ok {
				f.NotRecorded++
			}
		}
		f.LatenessDB = summarize(lateDB)
	}
	return f
}

// SecondPoint is one second of the lateness chart.
type SecondPoint struct {
	T   int `json:"t_s"` // seconds since the series' origin
	N   int `json:"n"`
	P50 F   `json:"p50_ms"`
	P99 F   `json:"p99_ms"`
	Max F   `json:"max_ms"`
}

// perSecond buckets the sink lateness of arrivals by the second of their
// scheduled instant, counted from origin (unix ms), up to end.
func perSecond(arrivals []arrival, origin, end int64) []SecondPoint {
	if end <= origin {
		return nil
	}
	nb := int((end - origin + 999) / 1000)
	buckets := make([][]float64, nb)
	for _, a := range arrivals {
		if a.schedAt < origin || a.schedAt >= end {
			continue
		}
		i := int((a.schedAt - origin) / 1000)
		buckets[i] = append(buckets[i], float64(a.at-a.schedAt*int64(time.Millisecond))/float64(time.Millisecond))
	}
	out := make([]SecondPoint, 0, nb)
	for i, b := range buckets {
		d := summarize(b)
		out = append(out, SecondPoint{T: i, N: d.N, P50: d.P50, P99: d.P99, Max: d.Max})
	}
	return out
}
