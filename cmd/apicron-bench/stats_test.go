package main

import (
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0, 1}, {0.1, 1}, {0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}} {
		if got := percentile(xs, c.q); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("percentile of nothing = %v, want NaN", got)
	}
}

func TestSummarize(t *testing.T) {
	d := summarize([]float64{5, 1, 3})
	if d.N != 3 || d.P50 != 3 || d.Max != 5 || d.Min != 1 || d.Mean != 3 {
		t.Errorf("summarize = %+v", d)
	}
	empty := summarize(nil)
	b, err := json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"p99_ms":null`) {
		t.Errorf("an empty sample's JSON = %s, want nulls", b)
	}
}

func TestGridCount(t *testing.T) {
	g := grid{anchor: 1000, every: 1000} // 1000, 2000, 3000, ...
	for _, c := range []struct {
		from, to, minK, want int64
	}{
		{0, 1000, 0, 0},
		{0, 1001, 0, 1},
		{1000, 4000, 0, 3},
		{1000, 4000, 1, 2},
		{1500, 4000, 0, 2},
		{1500, 4001, 0, 3},
		{5000, 4000, 0, 0},
	} {
		if got := g.count(c.from, c.to, c.minK); got != c.want {
			t.Errorf("count(%d, %d, k>=%d) = %d, want %d", c.from, c.to, c.minK, got, c.want)
		}
	}
	if g.index(3000) != 2 || g.index(3001) != -1 || g.index(0) != -1 {
		t.Errorf("index is wrong")
	}
}

func TestCompute(t *testing.T) {
	grids := map[int64]grid{1: {id: 1, anchor: 0, every: 1000}, 2: {id: 2, anchor: 500, every: 1000}}
	ms := int64(time.Millisecond)
	arrivals := []arrival{
		{sched: 1, schedAt: 0, at: 10 * ms},      // first run, 10 ms late
		{sched: 1, schedAt: 1000, at: 1002 * ms}, // 2 ms
		{sched: 1, schedAt: 1000, at: 1003 * ms}, // duplicate
		{sched: 2, schedAt: 500, at: 504 * ms},   // first run
		{sched: 2, schedAt: 1500, at: 1501 * ms},
		{sched: 2, schedAt: 1600, at: 1601 * ms}, // off the grid
		{sched: 3, schedAt: 1000, at: 1000 * ms}, // not a bench schedule
	}
	runs := []runRow{{sched: 1, schedAt: 0, startedAt: 9, status: "SUCCESS"}, {sched: 1, schedAt: 1000, startedAt: 1001, status: "SUCCESS"}}
	// occurrences in [0, 2000): 0, 1000, 500, 1500 (schedule 2's 2500 is after)
	all := compute(window{From: 0, To: 2000}, grids, arrivals, runs, true)
	if all.Planned != 4 || all.Fired != 4 || all.DupSink != 1 || all.OffGrid != 1 || all.Missed != 0 {
		t.Errorf("all = %+v", all)
	}
	if all.Recorded != 2 || all.NotRecorded != 2 || all.DupDB != 0 {
		t.Errorf("all recorded = %d, not recorded %d, dup %d", all.Recorded, all.NotRecorded, all.DupDB)
	}
	if all.LatenessSink.Max != 10 || all.LatenessDB.Max != 9 {
		t.Errorf("lateness = %+v / %+v", all.LatenessSink, all.LatenessDB)
	}
	steady := compute(window{From: 0, To: 2000, MinK: 1}, grids, arrivals, runs, true)
	if steady.Planned != 2 || steady.Fired != 2 || steady.LatenessSink.Max != 3 {
		t.Errorf("steady = %+v", steady)
	}
	first := compute(window{From: 0, To: 2000, OnlyFirst: true}, grids, arrivals, runs, false)
	if first.Planned != 2 || first.Fired != 2 || first.LatenessSink.P50 != 4 || first.Recorded != -1 {
		t.Errorf("first = %+v", first)
	}
	pts := perSecond(arrivals, 0, 2000)
	if len(pts) != 2 || pts[0].N != 2 || pts[1].N != 5 {
		t.Errorf("perSecond = %+v", pts)
	}
}

func TestRender(t *testing.T) {
	r := &Report{Scenario: "many", DB: "sqlite", N: 2, IntervalS: 1, DurationS: 2,
		Apicron:  &ApicronRun{},
		Baseline: &BaselineRun{},
		Ratios:   &Ratios{FiresPerSec: F(math.NaN())},
		Chart:    []SecondPoint{{T: 0, N: 1, P50: 1, P99: 2, Max: 3}, {T: 1}, {T: 2, N: 1, P50: 0, P99: 0.01, Max: 4000}, {T: 3, N: 1, P50: 1, P99: 1, Max: 1}},
		API:      []OpStats{{Op: "GET /metrics", Latency: summarize([]float64{1, 2})}},
	}
	md := renderMarkdown(r)
	for _, want := range []string{"| planned |", "| lateness at sink p50 / p99 / max (ms) |", "GET /metrics"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	svg := renderSVG(r)
	if !strings.HasPrefix(svg, "<svg") || strings.Contains(svg, "NaN") || !strings.Contains(svg, "<polyline") {
		t.Errorf("svg:\n%s", svg)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("report JSON: %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"--scenario", "huge"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 1_000_000 || o.interval != time.Hour || !strings.HasSuffix(o.svg, ".svg") {
		t.Errorf("huge defaults: %+v", o)
	}
	for _, args := range [][]string{
		{"--scenario", "nope"},
		{"--db", "postgres", "--postgres-url", "postgres://u@db.example.com/x"},
		{"--interval", "1500ms"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
