package main

import (
	"io"
	"math"
	"testing"
)

func TestNodeShares(t *testing.T) {
	x := &extraNodes{procs: []*apicronProc{{pid: 12}, {pid: 13}}, cpu0: []procSample{{CPUSec: 1}, {CPUSec: 2}}}
	byNode := map[string]int64{"bench": 500, "bench-2": 300, "bench-3": 200, "stray": 0}
	got := x.shares(11, procSample{CPUSec: 10}, procSample{CPUSec: 15}, []procSample{{CPUSec: 4}, {CPUSec: 3}}, byNode)
	want := []NodeShare{
		{NodeID: "bench", PID: 11, Runs: 500, Share: 0.5, CPUWindowSec: 5, CPUPer1000: 10},
		{NodeID: "bench-2", PID: 12, Runs: 300, Share: 0.3, CPUWindowSec: 3, CPUPer1000: 10},
		{NodeID: "bench-3", PID: 13, Runs: 200, Share: 0.2, CPUWindowSec: 1, CPUPer1000: 5},
	}
	if len(got) != 4 {
		t.Fatalf("%d shares, want 3 nodes and the stray node_id: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.NodeID != w.NodeID || g.PID != w.PID || g.Runs != w.Runs || math.Abs(float64(g.Share-w.Share)) > 1e-9 ||
			math.Abs(float64(g.CPUWindowSec-w.CPUWindowSec)) > 1e-9 || math.Abs(float64(g.CPUPer1000-w.CPUPer1000)) > 1e-9 {
			t.Errorf("share %d: %+v, want %+v", i, g, w)
		}
	}
	if got[3].NodeID != "stray" || got[3].Runs != 0 || got[3].Share != 0 {
		t.Errorf("a node_id of no process: %+v", got[3])
	}
	if nodeID(0) != "bench" || nodeID(2) != "bench-3" {
		t.Errorf("node ids %q, %q", nodeID(0), nodeID(2))
	}
}

func TestNodesFlag(t *testing.T) {
	o, err := parseFlags([]string{"--db", "postgres", "--nodes", "3"}, io.Discard)
	if err != nil || o.nodes != 3 {
		t.Fatalf("--db postgres --nodes 3: %+v, %v", o.nodes, err)
	}
	for _, args := range [][]string{
		{"--nodes", "3"}, // SQLite: one process per database file
		{"--db", "postgres", "--nodes", "0"},
		{"--db", "postgres", "--nodes", "9"},
		{"--db", "postgres", "--nodes", "2", "--scenario", "huge"},
		{"--db", "postgres", "--nodes", "2", "--stall", "sigstop"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
