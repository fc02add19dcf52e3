package main

import (
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

// seconds builds one point per p99 (NaN: nothing arrived), T counted from t0.
func seconds(t0 int, p99s ...float64) []SecondPoint {
	pts := make([]SecondPoint, len(p99s))
	for i, v := range p99s {
		pts[i] = SecondPoint{T: t0 + i, N: 10, P99: F(v), Max: F(v)}
		if math.IsNaN(v) {
			pts[i] = SecondPoint{T: t0 + i, P99: F(v), Max: F(v)}
		}
	}
	return pts
}

func TestRecoveredAt(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name   string
		pts    []SecondPoint
		from   int
		want   int
		wantOK bool
	}{
		{"good from the start", seconds(10, 1, 1, 1, 1, 1, 1), 10, 10, true},
		{"points before from are ignored", seconds(10, 1, 1, 500, 2, 2, 2, 2, 2), 11, 13, true},
		{"late seconds after the stall", seconds(0, 900, 300, 20, 5, 5, 5, 5, 5), 0, 3, true},
		{"a late second breaks a row", seconds(0, 5, 5, 5, 5, 50, 5, 5, 5, 5, 5), 0, 5, true},
		{"the limit itself is late", seconds(0, 10, 9.99, 9.99, 9.99, 9.99, 9.99), 0, 1, true},
		{"an empty second breaks a row", seconds(0, 1, 1, nan, 1, 1, 1, 1, 1), 0, 3, true},
		{"four good seconds are not enough", seconds(0, 100, 1, 1, 1, 1), 0, 0, false},
		{"never good", seconds(0, 100, 200, 300, 400, 500, 600), 0, 0, false},
		{"nothing after from", seconds(0, 1, 1, 1, 1, 1), 5, 0, false},
		{"no points", nil, 0, 0, false},
	} {
		got, ok := recoveredAt(c.pts, c.from, recoveryLimitMs, recoveryHold)
		if ok != c.wantOK || (ok && got != c.want) {
			t.Errorf("%s: recoveredAt = %d, %v; want %d, %v", c.name, got, ok, c.want, c.wantOK)
		}
	}
	// Seconds in which nothing was due are left out by the caller, so a
	// row runs over the gaps in T (a CRON */2 fires on even seconds only).
	var even []SecondPoint
	for i, v := range []float64{400, 1, 1, 1, 1, 1} {
		even = append(even, SecondPoint{T: 2 * i, N: 10, P99: F(v), Max: F(v)})
	}
	if got, ok := recoveredAt(even, 0, recoveryLimitMs, recoveryHold); !ok || got != 2 {
		t.Errorf("every other second: recoveredAt = %d, %v; want 2, true", got, ok)
	}
}

func TestStallReport(t *testing.T) {
	ms := int64(time.Millisecond)
	steady := time.UnixMilli(10_000)
	rep := &Report{Scenario: "many", DB: "sqlite", Stall: &StallRun{Kind: stallSIGSTOP, PlannedAtS: 2, PlannedForS: 2},
		Apicron: &ApicronRun{SteadyFrom: steady, WindowEnd: steady.Add(20 * time.Second)}}
	// One schedule every second from 0; the steady window runs 10 s .. 30 s.
	grids := map[int64]grid{1: {id: 1, anchor: 0, every: 1000}}
	var arrivals []arrival
	for k := int64(0); k < 30; k++ {
		late := int64(1)
		switch {
		case k >= 12 && k < 14: // during the stall, 12.0 .. 14.0 s
			late = 14_000 - k*1000 + 5
		case k == 14 || k == 15, k == 11:
			late = 40
		}
		arrivals = append(arrivals, arrival{sched: 1, schedAt: k * 1000, at: (k*1000 + late) * ms})
	}
	rep.Chart = perSecond(arrivals, 0, 30_000)
	s := &staller{run: rep.Stall, steadyFrom: steady, done: make(chan struct{}), cancel: func() {}}
	close(s.done)
	s.run.Start, s.run.End = steady.Add(2*time.Second), steady.Add(4*time.Second)
	s.report(rep, grids, arrivals, 0)
	st := rep.Stall
	if !st.Recovered || st.RecoveredAtS != 6 || st.RecoveryS != 2 || st.StartS != 2 || st.EndS != 4 {
		t.Errorf("recovery = %v at %v after %v s; stall %v .. %v", st.Recovered, st.RecoveredAtS, st.RecoveryS, st.StartS, st.EndS)
	}
	if st.ArrivalsDuring != 2 || st.LateDuring != 2 || st.ArrivalsAfter != 16 || st.LateAfter != 2 {
		t.Errorf("during %d/%d, after %d/%d", st.LateDuring, st.ArrivalsDuring, st.LateAfter, st.ArrivalsAfter)
	}
	if st.GoodBefore != 1 || st.SecondsBefore != 2 {
		t.Errorf("before the stall %d of %d seconds good, want 1 of 2 (10 s good, 11 s late; the creation phase left out)",
			st.GoodBefore, st.SecondsBefore)
	}
	if st.WorstMax.Max != 2005 || st.WorstMax.AtS != 2 {
		t.Errorf("worst = %+v", st.WorstMax)
	}
	md := renderMarkdown(rep)
	for _, want := range []string{"stall sigstop for 2s at 2s", "| time to recovery | **2.00 s**", "| late arrivals (> 10 ms)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if svg := renderSVG(rep); !strings.Contains(svg, "stall (sigstop)") || !strings.Contains(svg, "recovered") {
		t.Errorf("the chart does not mark the stall:\n%s", svg)
	}
}

func TestParseFlagsStall(t *testing.T) {
	o, err := parseFlags([]string{"--stall", "sigstop", "--duration", "20s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.stallAt != 10*time.Second || o.stallFor != 2*time.Second {
		t.Errorf("stall defaults: at %s for %s", o.stallAt, o.stallFor)
	}
	for _, args := range [][]string{
		{"--stall", "sigkill"},
		{"--stall", "dblock", "--duration", "10s", "--stall-at", "9s"},
		{"--stall-for", "1s"},
		{"--scenario", "api", "--stall", "sigstop"},
		{"--timezone", "Europe/Paris"},
		{"--scenario", "huge", "--signing"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags([]string{"--kind", "cron", "--timezone", "Europe/Paris", "--assertions", "--signing"}, io.Discard); err != nil {
		t.Errorf("features: %v", err)
	}
}
